"""Local venue simulators speaking each venue's real wire protocol (tests and demos)."""
