"""The packaged sample of the registry files: the Nam Cường ward center."""
