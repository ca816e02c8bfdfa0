"""tokenworks.cli layer."""
