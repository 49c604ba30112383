"""Pure rules of the deadlines service: no I/O, no framework imports."""
