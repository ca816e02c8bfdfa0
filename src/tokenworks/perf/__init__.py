"""tokenworks.perf layer."""
