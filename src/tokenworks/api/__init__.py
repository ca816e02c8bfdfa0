"""tokenworks.api layer."""
