"""The national rule on repeated supplement requests, stated once.

The one-stop rules expect the officer to say at once everything a dossier lacks, and the
national scoring counts a dossier asked for supplements more than once against the
center (docs/reports.md cites the texts and says what could not be confirmed). intake
flags such a dossier in its view; deadlines counts them in its reports: both by this rule.
"""

from __future__ import annotations

REPEATED_FROM = 2
"""The request from which a dossier is flagged: the second."""


def repeated(requests: int) -> bool:
    """Was the dossier asked for supplements more often than the rule allows?"""
    return requests >= REPEATED_FROM
