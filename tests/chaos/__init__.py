"""The fault-injection subset the suite runs: the same chaos package, shorter load."""
