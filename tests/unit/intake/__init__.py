"""Unit tests of the intake service."""
