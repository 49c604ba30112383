"""Fault injection under load: the whole system as separate processes, a load
generator with a ledger of everything it sent, faults (kills, freezes, outages,
poison), and a check that every effect happened exactly once.

``python -m chaos`` (``make chaos``) runs every scenario and writes
``docs/reliability.md``; ``tests/chaos`` runs a subset with the same code.
"""
