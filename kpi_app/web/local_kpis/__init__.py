"""Local KPIs: definitions, values and verification, exports, the city page block."""
