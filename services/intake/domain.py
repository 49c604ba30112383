"""Pure rules of the intake service: no I/O, no framework imports."""
