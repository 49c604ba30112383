"""Reference data of the queue service: centers, service lines and counters."""
