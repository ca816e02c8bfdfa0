"""tokenworks.serving layer."""
