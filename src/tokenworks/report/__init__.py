"""tokenworks.report layer."""
