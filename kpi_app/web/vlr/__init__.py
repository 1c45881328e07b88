"""The Voluntary Local Review annex of a city and year: page, CSV and PDF."""
