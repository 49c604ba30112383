"""Drives a running motcua through its public APIs, as kiosks and clerk apps would.

``workload`` is pure: it plans a center's history (arrivals, procedures, pauses,
resolutions) and computes the ground truth with the shared calendar kernel.
``replay`` sends that history to the running services and compares their report
with the truth. ``live`` animates a running system for a newcomer.
"""
