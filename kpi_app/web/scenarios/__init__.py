"""Scenario workspace: what-if copies of assessments, projections, KPI relationships, sensors."""
