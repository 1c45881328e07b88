"""Verification workspace: review, queries, workflow steps, value history and to-do list."""
