"""Long-running roles (worker, sink, replay) and the plumbing they share."""
