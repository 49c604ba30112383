"""The escalation ladder, pure: who among a center's staff hears of a dossier's deadline.

A deadline event has a *stage* (``approaching``, ``at_risk``, ``overdue``); a center's
ladder names the *rungs* each stage reaches: the dossier's ``assignee``, the head of its
``department``, the center's ``leader``. A rung nobody holds (no assignee, a department
with no head, an assignee who left) climbs to the next rung up, so the message reaches
whoever exists; with nobody at all the event is recorded as unheard, not an error.

One more rung follows the overdue stage: a dossier still open ``still_open_hours``
working hours after it went overdue reaches the center's leader again (0: never).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, get_args

Stage = Literal["approaching", "at_risk", "overdue"]
Rung = Literal["assignee", "department_head", "leader"]
STAGES: tuple[Stage, ...] = get_args(Stage)
RUNGS: tuple[Rung, ...] = get_args(Rung)  # lowest first: a missing rung climbs

DEFAULT_LADDER: Mapping[Stage, tuple[Rung, ...]] = {
    "approaching": ("assignee",),
    "at_risk": ("assignee", "department_head"),
    "overdue": ("assignee", "department_head", "leader"),
}

DEFAULT_STILL_OPEN_HOURS = 8
"""One working day: an overdue dossier nobody closed by then goes to the leader again."""


@dataclass(frozen=True)
class Member:
    """A staff member as the ladder sees them: no name, no contact."""

    staff_id: str
    role: str  # officer | department_head | leader
    department: str | None
    active: bool = True


@dataclass(frozen=True)
class Reach:
    """Whom one stage reaches, and the rungs nobody held even after climbing."""

    staff_ids: tuple[str, ...]
    unheld: tuple[Rung, ...] = field(default_factory=tuple)


def valid_ladder(ladder: Mapping[str, Iterable[str]]) -> dict[Stage, tuple[Rung, ...]]:
    """A ladder from its stored or requested form; unknown stages or rungs are refused
    (``ValueError`` naming them), a stage left out keeps its default."""
    out: dict[Stage, tuple[Rung, ...]] = dict(DEFAULT_LADDER)
    for stage, rungs in ladder.items():
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}; one of {', '.join(STAGES)}")
        chosen = tuple(dict.fromkeys(rungs))
        for rung in chosen:
            if rung not in RUNGS:
                raise ValueError(f"unknown rung {rung!r}; one of {', '.join(RUNGS)}")
        out[stage] = chosen  # type: ignore[assignment]  # checked just above
    return out


def reach(
    ladder: Mapping[Stage, tuple[Rung, ...]],
    stage: Stage,
    members: Iterable[Member],
    *,
    assignee: str | None,
    department: str | None,
) -> Reach:
    """The active staff a ``stage`` event reaches, each once, lowest rung first.

    ``department`` is the one named at assignment; the assignee's own, when they are in
    the directory, wins (people move, the directory follows)."""
    active = [m for m in members if m.active]
    holder = next((m for m in active if m.staff_id == assignee), None) if assignee else None
    dept = holder.department if holder is not None and holder.department else department

    def held(rung: Rung) -> list[str]:
        if rung == "assignee":
            return [holder.staff_id] if holder is not None else []
        if rung == "department_head":
            if not dept:
                return []
            return [m.staff_id for m in active if m.role == rung and m.department == dept]
        return [m.staff_id for m in active if m.role == "leader"]

    chosen: list[str] = []
    unheld: list[Rung] = []
    for rung in ladder.get(stage, ()):
        for climb in RUNGS[RUNGS.index(rung) :]:
            found = held(climb)
            if found:
                chosen.extend(found)
                break
        else:
            unheld.append(rung)
    return Reach(tuple(dict.fromkeys(chosen)), tuple(unheld))


def leaders(members: Iterable[Member]) -> tuple[str, ...]:
    """The active leaders: whom a dossier still open after it went overdue reaches."""
    return tuple(m.staff_id for m in members if m.active and m.role == "leader")
