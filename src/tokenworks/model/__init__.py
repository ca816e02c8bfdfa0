"""tokenworks.model layer."""
