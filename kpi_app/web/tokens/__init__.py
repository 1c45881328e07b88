"""Personal API token management (/account/tokens)."""
