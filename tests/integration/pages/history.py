"""A small dossier history with a hand-computed answer, as dossier events for deadlines.

"Now" is Friday 20 March 2026, 10:00 in Hà Nội; the default period is March 2026. Office
hours are the national default (Mon–Fri 07:30–11:30 and 13:30–17:00, a regular day of 7 h 30),
no holiday in March. A limit of N working days ends at the close of the N-th working day
after the day of receipt.

========  ============  =======  =====================  ==================================
dossier   procedure     line     received, limit        then
========  ============  =======  =====================  ==================================
early     HT-KHAISINH   justice  Mon 02/03 08:00, 3 d   due Thu 05/03 17:00; resolved Tue
                                                        03/03: early
ontime    HT-KHAISINH   justice  Mon 02/03 09:00, 3 d   resolved Thu 05/03 15:00: on time
late      HT-KHAISINH   justice  Mon 02/03 10:00, 3 d   resolved Fri 06/03 09:00: late
gone      HT-KHAISINH   justice  Tue 10/03 08:00, 3 d   withdrawn Wed 11/03
stop      CUTRU-TAMTRU  other    Wed 04/03 08:00, 3 d   stopped Thu 05/03 10:00
paused    HT-KHAISINH   justice  Wed 18/03 08:00, 1 d   supplement requested Thu 19/03
                                                        16:00 with 1 h of its 14 h 30 left;
                                                        still paused
soon      HT-KHAISINH   justice  Wed 18/03 14:00, 2 d   due Fri 20/03 17:00: 5 h left
overdue   CUTRU-TAMTRU  other    Mon 09/03 08:00, 3 d   due Thu 12/03 17:00: 40 h late,
                                                        i.e. 5 working days 2 h 30
fresh     CUTRU-TAMTRU  other    Thu 19/03 08:00, 3 d   due Tue 24/03 17:00: 20 h left
feb       CUTRU-TAMTRU  other    Mon 02/02 08:00, 3 d   outside the period; most overdue
========  ============  =======  =====================  ==================================

March: received 9; resolved on time or early 2 (1 early, 1 on time); late 1; withdrawn or
stopped 2; in progress 4 (3 within the deadline, 1 overdue); on-time rate 2/3.
Worklist, overdue first then least working time left, up to one regular day left ("fresh"
has more): feb, overdue, paused, soon.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from motcua.shared.events import Envelope, new_event
from motcua.shared.events.catalog import (
    DossierReceived,
    DossierResolved,
    DossierStopped,
    DossierSupplementRequested,
    DossierWithdrawn,
    TimeLimitSnapshot,
)
from tests.support.clock import vn

NOW = vn(2026, 3, 20, 10)


@dataclass
class Dossier:
    center_id: str
    name: str
    procedure_code: str
    line_code: str
    dossier_id: uuid.UUID = field(default_factory=uuid.uuid4)

    @property
    def code(self) -> str:
        return f"{self.center_id.upper()}-{self.name.upper()}"

    def _facts(self, status: int) -> dict[str, Any]:
        return {
            "dossier_id": self.dossier_id,
            "dossier_code": self.code,
            "procedure_code": self.procedure_code,
            "status": status,
        }

    def _event(self, payload: Any, at: datetime) -> Envelope[Any]:
        return new_event(payload, center_id=self.center_id, producer="intake", occurred_at=at)

    def received(self, at: datetime, days: int) -> Envelope[Any]:
        limit = TimeLimitSnapshot(amount=days, unit="working_days", rollover=False)
        payload = DossierReceived(
            **self._facts(2),
            line_code=self.line_code,
            received_at=at,
            channel="counter",
            time_limit=limit,
            appointment_at=at,
        )
        return self._event(payload, at)

    def resolved(self, at: datetime) -> Envelope[Any]:
        return self._event(DossierResolved(**self._facts(9), outcome="approved"), at)

    def withdrawn(self, at: datetime) -> Envelope[Any]:
        return self._event(DossierWithdrawn(**self._facts(8)), at)

    def stopped(self, at: datetime) -> Envelope[Any]:
        return self._event(DossierStopped(**self._facts(8), reason="không đủ điều kiện"), at)

    def supplement_requested(self, at: datetime) -> Envelope[Any]:
        return self._event(DossierSupplementRequested(**self._facts(5), reason="thiếu giấy"), at)


def history(center: str) -> tuple[dict[str, Dossier], list[Envelope[Any]]]:
    """The dossiers of the table above for ``center``, and their events in order."""

    def justice(name: str) -> Dossier:
        return Dossier(center, name, "HT-KHAISINH", "justice")

    def other(name: str) -> Dossier:
        return Dossier(center, name, "CUTRU-TAMTRU", "other")

    d = {
        "early": justice("early"),
        "ontime": justice("ontime"),
        "late": justice("late"),
        "gone": justice("gone"),
        "paused": justice("paused"),
        "soon": justice("soon"),
        "overdue": other("overdue"),
        "fresh": other("fresh"),
        "stop": other("stop"),
        "feb": other("feb"),
    }
    events = [
        d["feb"].received(vn(2026, 2, 2, 8), 3),
        d["early"].received(vn(2026, 3, 2, 8), 3),
        d["ontime"].received(vn(2026, 3, 2, 9), 3),
        d["late"].received(vn(2026, 3, 2, 10), 3),
        d["early"].resolved(vn(2026, 3, 3, 10)),
        d["ontime"].resolved(vn(2026, 3, 5, 15)),
        d["stop"].received(vn(2026, 3, 4, 8), 3),
        d["stop"].stopped(vn(2026, 3, 5, 10)),
        d["late"].resolved(vn(2026, 3, 6, 9)),
        d["overdue"].received(vn(2026, 3, 9, 8), 3),
        d["gone"].received(vn(2026, 3, 10, 8), 3),
        d["gone"].withdrawn(vn(2026, 3, 11, 9)),
        d["paused"].received(vn(2026, 3, 18, 8), 1),
        d["paused"].supplement_requested(vn(2026, 3, 19, 16)),
        d["soon"].received(vn(2026, 3, 18, 14), 2),
        d["fresh"].received(vn(2026, 3, 19, 8), 3),
    ]
    return d, events
