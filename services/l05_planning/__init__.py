"""L05: planning and the goal run."""
