"""tokenworks.planner layer."""
