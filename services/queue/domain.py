"""Pure rules of the queue service: no I/O, no framework imports."""
