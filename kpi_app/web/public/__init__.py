"""Public pages: home, the KPI catalogue, accessibility statement."""
