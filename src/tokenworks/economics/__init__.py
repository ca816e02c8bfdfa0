"""tokenworks.economics layer."""
