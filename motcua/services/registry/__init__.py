"""The center registry: each center's names, code, lines, counters and calendar."""
