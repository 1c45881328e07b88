"""City data entry (issue 3): blueprint `assessments` in views.py, forms in forms.py."""
