"""Pure rules of the notify service: no I/O, no framework imports."""
