"""Administration: accounts (admin), cities, assessment cycles, verifier assignment, benchmarks."""
