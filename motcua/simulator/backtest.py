"""``motcua report backtest``: the breach forecast replayed over a history, against the
baseline "flag every dossier with under N working days left", in the same run.

    motcua report backtest [--history nam-cuong|shortage|both] [--lead-days 2]
                           [--seed N] [--format table|json]

The replay runs the deadlines service's own forecast (:mod:`motcua.services.deadlines.forecast`,
pure) over the history, one snapshot at the opening of every working day, and gives it only
what the service would know at that instant: the durations of dossiers resolved before it,
the open backlog, the assignees seen in the last working days, the usual backlog sampled on
earlier days. A dossier counts as **flagged** by a rule when the rule flags it at a snapshot
with at least ``lead`` working days still left (a warning in time to act on); it counts as
**late** when it was resolved after its due instant, or is still open past it at the end.
Dossiers that never had ``lead`` working days left at a snapshot (same-day procedures, say)
cannot be warned in time by anyone and are left out of both rules' figures.

Both rules see the same dossiers, so their precision and recall compare directly.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict, deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from motcua.services.deadlines.forecast import (
    Pressure,
    Reason,
    assess,
    backlog_in_front,
    day_sample,
    median,
)
from motcua.shared.calendar import WorkingCalendar
from motcua.simulator.shortage import DAY, Case, plan_shortage
from motcua.simulator.workload import Scenario, nam_cuong_2025

THRESHOLDS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
BASELINE_MARGINS = (1, 2, 3, 5)
"""The baseline flags under ``lead + m`` working days left, for each margin ``m``."""
STAFF_WINDOW_DAYS = 10
USUAL_WINDOW_DAYS = 42  # working days, about the service's 60 calendar days
HISTORY = 200
MIN_SAMPLES = 5


@dataclass(frozen=True)
class Score:
    """One rule's figures over the eligible dossiers."""

    rule: str
    flagged: int
    true_positives: int
    late: int
    eligible: int

    @property
    def precision(self) -> float | None:
        return self.true_positives / self.flagged if self.flagged else None

    @property
    def recall(self) -> float | None:
        return self.true_positives / self.late if self.late else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if p is None or r is None or p + r == 0:
            return None
        return 2 * p * r / (p + r)

    def to_json(self) -> dict[str, object]:
        return asdict(self) | {"precision": self.precision, "recall": self.recall, "f1": self.f1}


@dataclass(frozen=True)
class Backtest:
    history: str
    lead_days: int
    dossiers: int
    eligible: int
    late: int
    forecast: list[Score]
    baseline: list[Score]

    def best(self, scores: Sequence[Score]) -> Score | None:
        scored = [s for s in scores if s.f1 is not None]
        return max(scored, key=lambda s: s.f1 or 0.0) if scored else None

    def precision_at_recall(self, recall: float) -> Score | None:
        """The forecast's most precise threshold whose recall is at least ``recall``."""
        meeting = [s for s in self.forecast if s.recall is not None and s.recall >= recall - 1e-9]
        return max(meeting, key=lambda s: s.precision or 0.0) if meeting else None

    def to_json(self) -> dict[str, object]:
        return {
            "history": self.history,
            "lead_days": self.lead_days,
            "dossiers": self.dossiers,
            "eligible": self.eligible,
            "late": self.late,
            "forecast": [s.to_json() for s in self.forecast],
            "baseline": [s.to_json() for s in self.baseline],
        }


# ------------------------------------------------------------------- histories


def nam_cuong_cases(scenario: Scenario, cal: WorkingCalendar) -> tuple[list[Case], int]:
    """The Nam Cường plans on the working-time axis (second 0: the first opening), and the
    axis instant of the scenario's end. They carry no assignees: the backlog is unknown
    and the forecast runs on the durations and the time left alone."""
    day = scenario.start
    if not cal.is_working_day(day):
        day = cal.next_working_day(day)
    first = cal.working_sessions(day)[0][0]

    def axis(t: datetime) -> int:
        return int(cal.working_time_between(first, t).total_seconds())

    cases = []
    for seq, p in enumerate(scenario.plans):
        started = cal.effective_start(p.received_at, rollover=p.procedure.limit.rollover)
        cases.append(
            Case(
                seq=seq,
                procedure=p.procedure.code,
                line="",
                received=axis(p.received_at),
                started=axis(started),
                due=axis(p.due_at),
                work=0,
                resolved=None if p.resolved_at is None else axis(p.resolved_at),
                pause=None
                if p.pause is None
                else (axis(p.pause.requested_at), axis(p.pause.provided_at)),
            )
        )
    return cases, axis(scenario.as_of)


# ---------------------------------------------------------------------- replay


def _paused_len(c: Case) -> int:
    return 0 if c.pause is None else c.pause[1] - c.pause[0]


def _clock_at(c: Case, s: int) -> tuple[int, int] | None:
    """(elapsed, left) of a running dossier at ``s``, as the service would know them then
    (a pause still to come has not moved the due instant yet); None while paused."""
    if c.pause is None:
        return s - c.started, c.due - s
    requested, provided = c.pause
    if s < requested:
        return s - c.started, c.due - _paused_len(c) - s
    if s < provided:
        return None
    return s - c.started - _paused_len(c), c.due - s


def observe(
    cases: Sequence[Case], end: int, lead_days: int
) -> tuple[dict[int, float], dict[int, int]]:
    """Per dossier (by ``seq``), over the snapshots up to ``end`` at which it had at least
    ``lead_days`` working days left: the forecast's highest chance, and the least time left."""
    lead = lead_days * DAY
    by_resolution = sorted(
        (c for c in cases if c.resolved is not None), key=lambda c: c.resolved or 0
    )
    learnt: dict[str, deque[int]] = defaultdict(lambda: deque(maxlen=HISTORY))
    samples: dict[str, deque[float]] = defaultdict(lambda: deque(maxlen=USUAL_WINDOW_DAYS))
    max_p: dict[int, float] = {}
    min_left: dict[int, int] = {}
    done = 0
    for day in range(end // DAY + 1):
        s = day * DAY
        while done < len(by_resolution) and (by_resolution[done].resolved or 0) <= s:
            c = by_resolution[done]
            learnt[c.procedure].append((c.resolved or 0) - c.started - _paused_len(c))
            done += 1
        running = []
        for c in cases:
            if c.received > s or (c.resolved is not None and c.resolved <= s):
                continue
            clock = _clock_at(c, s)
            if clock is not None:
                running.append((c, *clock))
        staff: dict[str, set[str]] = defaultdict(set)
        for c in cases:
            for at, who in c.assignments:
                if s - STAFF_WINDOW_DAYS * DAY < at <= s:
                    staff[c.line].add(who)
        per_assignee = Counter(c.assignee_at(s) for c, _, _ in running)
        per_line = Counter(c.line for c, _, _ in running)
        usual = {line: median(list(v)) for line, v in samples.items()}
        sorted_durations = {p: sorted(v) for p, v in learnt.items()}
        in_front: dict[str, list[float | None]] = defaultdict(list)
        for c, elapsed, left in running:
            assignee = c.assignee_at(s)
            backlog = backlog_in_front(
                per_assignee[assignee] if assignee else None, per_line[c.line], len(staff[c.line])
            )
            in_front[c.line].append(backlog)
            if left < lead:
                continue
            risk = assess(
                sorted_durations.get(c.procedure, []),
                elapsed=max(elapsed, 0),
                left=left,
                pressure=Pressure(backlog, usual.get(c.line)),
                min_samples=MIN_SAMPLES,
            )
            p = 0.0 if risk.reason in (Reason.NO_HISTORY, Reason.OVERDUE) else risk.probability
            max_p[c.seq] = max(max_p.get(c.seq, 0.0), p)
            min_left[c.seq] = min(min_left.get(c.seq, left), left)
        for line, backlogs in in_front.items():
            sample = day_sample(backlogs)
            if sample is not None:
                samples[line].append(sample)
    return max_p, min_left


def replay(cases: Sequence[Case], end: int, *, lead_days: int = 2, history: str = "") -> Backtest:
    """Score the forecast and the baseline on ``cases``, snapshots up to ``end``."""
    max_p, min_left = observe(cases, end, lead_days)

    def is_late(c: Case) -> bool | None:
        if c.resolved is not None:
            return c.resolved > c.due
        return True if c.due < end else None  # still open within its time: unknown yet

    eligible = [c for c in cases if c.seq in max_p and is_late(c) is not None]
    late = {c.seq for c in eligible if is_late(c)}

    def score(rule: str, flagged: set[int]) -> Score:
        return Score(rule, len(flagged), len(flagged & late), len(late), len(eligible))

    forecast = [
        score(f"forecast p >= {t:.1f}", {c.seq for c in eligible if max_p[c.seq] >= t})
        for t in THRESHOLDS
    ]
    baseline = [
        score(f"baseline < {n} days left", {c.seq for c in eligible if min_left[c.seq] < n * DAY})
        for n in (lead_days + m for m in BASELINE_MARGINS)
    ]
    return Backtest(history, lead_days, len(cases), len(eligible), len(late), forecast, baseline)


def run(history: str, *, lead_days: int = 2, seed: int = 2025) -> Backtest:
    """Replay one named history: ``nam-cuong`` or ``shortage``."""
    if history == "nam-cuong":
        cal = WorkingCalendar.default()
        cases, end = nam_cuong_cases(nam_cuong_2025(seed=seed), cal)
        return replay(cases, end, lead_days=lead_days, history=history)
    if history == "shortage":
        cases = plan_shortage(seed=seed)
        end = max(c.received for c in cases) // DAY * DAY + DAY
        return replay(cases, end, lead_days=lead_days, history=history)
    raise ValueError(f"unknown history {history!r}: nam-cuong or shortage")


# ------------------------------------------------------------------------- CLI


def _fmt(x: float | None) -> str:
    return "–" if x is None else f"{x:.3f}"


def render(b: Backtest) -> str:
    lines = [
        f"History {b.history}: {b.dossiers} dossiers, {b.eligible} could be warned "
        f"{b.lead_days} working days ahead, {b.late} of them went late.",
        f"{'rule':<28} {'flagged':>8} {'hits':>6} {'precision':>10} {'recall':>8} {'F1':>7}",
    ]
    for s in [*b.forecast, *b.baseline]:
        lines.append(
            f"{s.rule:<28} {s.flagged:>8} {s.true_positives:>6} {_fmt(s.precision):>10} "
            f"{_fmt(s.recall):>8} {_fmt(s.f1):>7}"
        )
    best_f, best_b = b.best(b.forecast), b.best(b.baseline)
    if best_f and best_b:
        lines.append(
            f"Best F1: forecast {_fmt(best_f.f1)} ({best_f.rule}), "
            f"baseline {_fmt(best_b.f1)} ({best_b.rule})."
        )
        for base in b.baseline:
            if base.recall is None:
                continue
            match = b.precision_at_recall(base.recall)
            lines.append(
                f"At the recall of '{base.rule}' ({_fmt(base.recall)}): baseline precision "
                f"{_fmt(base.precision)}, forecast "
                + (f"{_fmt(match.precision)} ({match.rule})" if match else "– (not reached)")
            )
    elif not b.late:
        lines.append("No dossier went late: recall is undefined; fewer flags is better.")
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="motcua report backtest",
        description="Replay the breach forecast over a history and score it against the "
        "baseline 'flag every dossier with under N working days left'.",
    )
    p.add_argument("--history", choices=["nam-cuong", "shortage", "both"], default="both")
    p.add_argument("--lead-days", type=int, default=2, help="warning lead, working days")
    p.add_argument("--seed", type=int, default=2025)
    p.add_argument("--format", choices=["table", "json"], default="table")
    return p


def main(argv: Sequence[str]) -> int:
    args = parser().parse_args(list(argv))
    if args.lead_days < 1:
        parser().error("--lead-days: at least 1")
    names = ["nam-cuong", "shortage"] if args.history == "both" else [args.history]
    results = [run(n, lead_days=args.lead_days, seed=args.seed) for n in names]
    if args.format == "json":
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        print(json.dumps({"at": stamp, "runs": [r.to_json() for r in results]}, indent=2))
    else:
        print("\n\n".join(render(r) for r in results))
    return 0
