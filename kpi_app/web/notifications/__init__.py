"""In-app notifications: the list page and the header count."""
