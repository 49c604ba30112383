"""Reference data of the intake service: the procedure catalog and the status list."""
