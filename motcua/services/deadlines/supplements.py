"""Repeated supplement requests: how many times each dossier was asked for more documents,
and the dossiers asked more than once, counted for the reports.

The one-stop rules expect the officer to say **at once** everything a dossier lacks, and
the national scoring of service quality counts a dossier whose supplements were requested
more than once against the center (docs/reports.md cites the texts, and says what could
not be confirmed). A dossier is therefore *flagged* from its second request on.

The count is the number of ``dossier.supplement_requested`` events applied to the
dossier's clock: each is a pause start recorded under its event id, so a redelivered copy
is one fact and the count cannot drift from intake's. The cohort is the on-time report's:
dossiers received in the period, with the requests made by the report's instant.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from motcua.services.deadlines.domain import PauseChannel, PauseMark
from motcua.shared.reference.supplements import REPEATED_FROM as REPEATED_FROM
from motcua.shared.reference.supplements import repeated as repeated


def supplement_requests(marks: Iterable[PauseMark]) -> int:
    """How many times a dossier was asked for a supplement."""
    return sum(1 for m in marks if m.channel is PauseChannel.SUPPLEMENT and m.starts)


@dataclass
class SupplementTally:
    """One group of the cohort: its dossiers, those asked at least once, those asked more
    than once (flagged), and the requests made."""

    received: int = 0
    with_supplement: int = 0
    repeated: int = 0
    requests: int = 0

    def add(self, requests: int, n: int = 1) -> None:
        self.received += n
        self.requests += requests * n
        if requests:
            self.with_supplement += n
        if repeated(requests):
            self.repeated += n

    @property
    def repeated_rate(self) -> float | None:
        """Flagged dossiers among those received."""
        return self.repeated / self.received if self.received else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "with_supplement": self.with_supplement,
            "repeated": self.repeated,
            "repeated_rate": self.repeated_rate,
            "requests": self.requests,
        }


@dataclass(frozen=True)
class Flagged:
    """A dossier asked for supplements more than once."""

    dossier_id: str
    dossier_code: str
    procedure_code: str
    requests: int


@dataclass
class SupplementReport:
    total: SupplementTally = field(default_factory=SupplementTally)
    by_procedure: dict[str, SupplementTally] = field(default_factory=dict)
    by_line: dict[str, SupplementTally] = field(default_factory=dict)
    flagged: list[Flagged] = field(default_factory=list)

    @classmethod
    def from_counts(
        cls, counts: Iterable[tuple[str, str | None, int, int]], flagged: Iterable[Flagged]
    ) -> SupplementReport:
        """From (procedure, line or None, requests, dossiers) and the flagged dossiers."""
        report = cls(flagged=list(flagged))
        for procedure, line, requests, n in sorted(counts, key=lambda c: (c[0], c[1] or "")):
            report.total.add(requests, n)
            report.by_procedure.setdefault(procedure, SupplementTally()).add(requests, n)
            report.by_line.setdefault(line or "", SupplementTally()).add(requests, n)
        return report

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": {
                "flagged_from_request": REPEATED_FROM,
                "reference": "docs/reports.md#repeated-supplement-requests",
            },
            "total": self.total.as_dict(),
            "by_procedure": [
                {"procedure_code": k, **v.as_dict()} for k, v in self.by_procedure.items()
            ],
            "by_line": [{"line_code": k or None, **v.as_dict()} for k, v in self.by_line.items()],
            "flagged": [
                {
                    "dossier_id": f.dossier_id,
                    "dossier_code": f.dossier_code,
                    "procedure_code": f.procedure_code,
                    "requests": f.requests,
                }
                for f in self.flagged
            ],
        }
