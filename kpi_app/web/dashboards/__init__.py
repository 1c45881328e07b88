"""Dashboards: maps, city profiles, comparisons, Member State and SDG views, downloads."""
