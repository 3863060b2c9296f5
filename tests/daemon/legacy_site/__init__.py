"""A tiny Django site that runs the original akita-django 0.1.1 middleware."""
