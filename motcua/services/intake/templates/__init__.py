"""Jinja2 templates of the intake service."""
