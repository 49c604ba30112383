"""The 766 scorecard: the indicators of Decision 766/QĐ-TTg motcua's data supports, per
center and for the province, from counts the database aggregates (``repository.scorecard``).

Pure: the definitions, the arithmetic from counts to rates, and points only where a rule
and a maximum are both stated in ``docs/score766.md``. Everything else the decision scores
is listed as ``not_held`` with what it would need, so a leader sees the whole set and
which part motcua answers for.

Where the points come from: the only indicator whose maximum the research found is 5.4
(up to 6 of the satisfaction group's 18 points [S5]); its rule (full points from 90 %,
below that rate × max / 90 %) is the portal's implementation notes' [S11]. 3.3, 4.2 and
4.3 have a rule in [S11] but no confirmed maximum: they show the share of their maximum
they would earn, never points. The total is "x of the y points motcua can compute".
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field, fields
from datetime import date
from enum import StrEnum
from typing import Any

from motcua.services.deadlines.errors import InvalidInput

MAX_PERIOD_DAYS = 366
"""The longest period one scorecard covers: a year (a leap one included); longer asks
would scan a province's whole history for one answer."""

DISLIKE_AT_MOST = 2
"""A rating of 1 or 2 (of 5) is a "dislike" for 5.4: the project's reading, since the
decision does not say which score is one (3 is neutral, 4 and 5 satisfied, as in the
satisfaction report)."""

NO_DOSSIERS = "no dossiers in the period"


class Status(StrEnum):
    COMPUTED = "computed"
    NOT_HELD = "not_held"


@dataclass(frozen=True)
class Indicator:
    """One indicator of the set: what it measures and, if motcua can, how it is computed.

    ``full_from``: the rate from which the indicator earns its whole maximum (below it, in
    proportion), where [S11] states one; ``max_points``: its maximum where confirmed."""

    id: str
    group: int
    name_vi: str
    name_en: str
    formula: str
    status: Status = Status.COMPUTED
    reason: str | None = None
    full_from: float | None = None
    max_points: float | None = None


@dataclass
class Counts:
    """The figures of one center (or the sum of several) over a period's cohort: the
    dossiers received in it. Each field is a count, except the handling seconds."""

    received: int = 0
    on_time_766: int = 0
    repeated_supplement: int = 0
    resolved: int = 0
    resolved_late: int = 0
    overdue: int = 0
    overdue_with_letter: int = 0
    online: int = 0
    with_result: int = 0
    digitised: int = 0
    reused: int = 0
    rated: int = 0
    disliked: int = 0
    handling_seconds: float = 0.0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Handling:
    """2.2 for one procedure: resolved dossiers and their total handling time."""

    procedure_code: str
    resolved: int
    seconds: float

    @property
    def average_days(self) -> float | None:
        return self.seconds / self.resolved / 86400 if self.resolved else None


def _ratio(numerator: int | float, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


COMPUTED: tuple[Indicator, ...] = (
    Indicator(
        "2.1",
        2,
        "Tỷ lệ hồ sơ xử lý trước hạn, đúng hạn",
        "Dossiers handled early or on time",
        "dossiers ended on or before their due instant (resolved early or on time; "
        "withdrawn, stopped, paused or still open not past it), supplement time excluded "
        "(the clock pauses for it), none asked for supplements twice or more / dossiers "
        "received",
    ),
    Indicator(
        "2.2",
        2,
        "Thời gian giải quyết TTHC trung bình",
        "Average handling time",
        "sum of (resolution − receipt) of the resolved dossiers / their number, in "
        "calendar days, in total and per procedure",
    ),
    Indicator(
        "2.x",
        2,
        "Tỷ lệ hồ sơ quá hạn có văn bản xin lỗi",
        "Overdue dossiers with an apology letter",
        "overdue dossiers (resolved late, or open past their due instant) with an apology "
        "letter / overdue dossiers",
    ),
    Indicator(
        "3.3",
        3,
        "Tỷ lệ hồ sơ trực tuyến",
        "Dossiers filed online",
        "dossiers received online / dossiers received (the portal's synchronisation factor "
        "is left out: motcua does not synchronise)",
        full_from=0.5,
    ),
    Indicator(
        "4.1",
        4,
        "Tỷ lệ hồ sơ có cấp kết quả điện tử",
        "Dossiers with an electronic result",
        "resolved dossiers whose result file is attached / resolved dossiers",
    ),
    Indicator(
        "4.2",
        4,
        "Tỷ lệ hồ sơ thực hiện số hóa",
        "Digitised dossiers",
        "dossiers with a component scanned at the counter or filed online, and a result "
        "file / dossiers received",
        full_from=0.8,
    ),
    Indicator(
        "4.3",
        4,
        "Tỷ lệ khai thác, sử dụng lại dữ liệu số hóa",
        "Reuse of digitised data",
        "dossiers with a component reused from an earlier dossier / dossiers received",
        full_from=0.8,
    ),
    Indicator(
        "5.4",
        5,
        "Tỷ lệ hài lòng trong tiếp nhận, giải quyết TTHC",
        "Satisfaction with receiving and handling",
        "1 − resolved late / received − rated 1 or 2 (a dislike) / received, at least 0; "
        "complaints are not held",
        full_from=0.9,
        max_points=6,
    ),
)

NOT_HELD: tuple[Indicator, ...] = tuple(
    Indicator(i, g, vi, en, "", Status.NOT_HELD, reason)
    for i, g, vi, en, reason in (
        ("1.1", 1, "Tỷ lệ TTHC công bố đúng hạn", "Procedures published on time",
         "each procedure's publication decision and its legal basis's date (province data)"),
        ("1.2", 1, "Tỷ lệ TTHC được cập nhật, công khai đúng hạn",
         "Procedures made public on time", "the national procedure database's records"),
        ("1.3", 1, "Tỷ lệ TTHC công khai đầy đủ các bộ phận tạo thành",
         "Procedures published complete", "the national procedure database's records"),
        ("1.4", 1, "Tỷ lệ hồ sơ đồng bộ lên Cổng DVCQG", "Dossiers synchronised to the portal",
         "synchronisation with the national portal, which motcua does not do"),
        ("3.1", 3, "Tỷ lệ TTHC cung cấp DVC trực tuyến", "Procedures offered online",
         "each procedure's online-service level, absent from the catalog"),
        ("3.2", 3, "Tỷ lệ DVC trực tuyến có phát sinh hồ sơ", "Online services used",
         "each procedure's online-service level, absent from the catalog"),
        ("3.5", 3, "Tỷ lệ TTHC tích hợp thanh toán trực tuyến", "Procedures with online payment",
         "fees per procedure and online payments"),
        ("3.6", 3, "Tỷ lệ hồ sơ thanh toán trực tuyến", "Dossiers paid online",
         "payments per dossier"),
        ("4.4", 4, "Tỷ lệ hồ sơ số hóa kết nối, chia sẻ", "Digitised data shared",
         "the citizen's data store (kho dữ liệu) links"),
        ("4.5", 4, "Ứng dụng dữ liệu dân cư", "Population data used",
         "use of the national population database (VNeID)"),
        ("5.1", 5, "Tỷ lệ phản ánh, kiến nghị theo phân loại", "Complaints classified",
         "complaints (phản ánh, kiến nghị), which motcua does not record"),
        ("5.2", 5, "Tiến độ xử lý phản ánh, kiến nghị", "Complaints handled on time",
         "complaints and their handling deadlines"),
        ("5.3", 5, "Tỷ lệ hài lòng trong xử lý PAKN", "Satisfaction with complaint handling",
         "complaints and the citizens' responses"),
    )
)  # fmt: skip

INDICATORS: tuple[Indicator, ...] = tuple(
    sorted((*COMPUTED, *NOT_HELD), key=lambda i: (i.group, i.id))
)


@dataclass(frozen=True)
class Result:
    """One indicator's figures: its rate (None without a denominator), the share of its
    maximum it earns where a rule is stated, and points where a maximum is too."""

    indicator: Indicator
    numerator: float | None = None
    denominator: int | None = None
    rate: float | None = None
    attainment: float | None = None
    points: float | None = None
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        i = self.indicator
        return {
            "id": i.id,
            "group": i.group,
            "name": {"vi": i.name_vi, "en": i.name_en},
            "status": i.status.value,
            "formula": i.formula or None,
            "reason": i.reason,
            "full_points_from": i.full_from,
            "max_points": i.max_points,
            "numerator": self.numerator,
            "denominator": self.denominator,
            "rate": self.rate,
            "share_of_max": self.attainment,
            "points": self.points,
            "note": self.note,
        }


def _result(indicator: Indicator, numerator: float, denominator: int) -> Result:
    rate = _ratio(numerator, denominator)
    if rate is None:
        # An empty period scores nothing, rather than a rate no dossier earned.
        points = 0.0 if indicator.max_points is not None else None
        return Result(indicator, numerator, denominator, None, None, points, NO_DOSSIERS)
    attainment = None if indicator.full_from is None else min(1.0, rate / indicator.full_from)
    points = None
    if attainment is not None and indicator.max_points is not None:
        points = round(indicator.max_points * attainment, 2)
    return Result(indicator, numerator, denominator, rate, attainment, points)


_BY_ID = {i.id: i for i in COMPUTED}


def indicator_results(c: Counts) -> list[Result]:
    """Every indicator of the set, in order: computed from ``c``, or not held."""
    late_and_disliked = c.resolved_late + c.disliked
    satisfaction = max(0.0, c.received - late_and_disliked)
    computed = {
        "2.1": _result(_BY_ID["2.1"], c.on_time_766, c.received),
        "2.2": _handling_result(c),
        "2.x": _result(_BY_ID["2.x"], c.overdue_with_letter, c.overdue),
        "3.3": _result(_BY_ID["3.3"], c.online, c.received),
        "4.1": _result(_BY_ID["4.1"], c.with_result, c.resolved),
        "4.2": _result(_BY_ID["4.2"], c.digitised, c.received),
        "4.3": _result(_BY_ID["4.3"], c.reused, c.received),
        # 1 − late/received − disliked/received, as (received − late − disliked)/received.
        "5.4": _result(_BY_ID["5.4"], satisfaction, c.received),
    }
    return [computed.get(i.id) or Result(i) for i in INDICATORS]


def _handling_result(c: Counts) -> Result:
    days = _ratio(c.handling_seconds / 86400, c.resolved)
    note = None if c.resolved else NO_DOSSIERS
    # Not a rate: the average in days (no scoring rule was found for it).
    return Result(_BY_ID["2.2"], round(c.handling_seconds / 86400, 4), c.resolved, days, note=note)


@dataclass
class Scorecard:
    """One scope's scorecard: a center, or the province (``center_id`` None)."""

    center_id: str | None
    start: date
    end: date
    counts: Counts
    handling: list[Handling] = field(default_factory=list)

    @property
    def results(self) -> list[Result]:
        return indicator_results(self.counts)

    @property
    def points(self) -> float:
        return round(sum(r.points or 0.0 for r in self.results), 2)

    @property
    def points_possible(self) -> float:
        """The points of the indicators motcua computes whose maximum is confirmed."""
        return sum(i.max_points or 0.0 for i in COMPUTED)

    def to_json(self) -> dict[str, Any]:
        results = self.results
        return {
            "center_id": self.center_id,
            "scope": "center" if self.center_id else "province",
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "note": None if self.counts.received else NO_DOSSIERS,
            "points": self.points,
            "points_possible": self.points_possible,
            "total": f"{self.points:g} of the {self.points_possible:g} points motcua can compute",
            "counts": self.counts.as_dict(),
            "indicators": [r.as_dict() for r in results],
            "handling_by_procedure": [
                {
                    "procedure_code": h.procedure_code,
                    "resolved": h.resolved,
                    "average_days": h.average_days,
                }
                for h in self.handling
            ],
        }

    def to_csv(self) -> str:
        """One row per indicator."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for r in self.results:
            row = r.as_dict()
            writer.writerow(
                [self.center_id or "province", row["id"], row["name"]["en"], row["status"]]
                + ["" if row[c] is None else row[c] for c in CSV_COLUMNS[4:]]
            )
        return buffer.getvalue()

    def to_table(self) -> str:
        scope = f"center {self.center_id}" if self.center_id else "province (all centers)"
        lines = [
            f"766 scorecard, {scope}: received {self.start:%d/%m/%Y} to {self.end:%d/%m/%Y}",
            f"{self.points:g} of the {self.points_possible:g} points motcua can compute"
            + ("" if self.counts.received else f" ({NO_DOSSIERS})"),
            "",
        ]
        rows = [["ID", "INDICATOR", "STATUS", "VALUE", "OF", "SHARE OF MAX", "POINTS"]]
        for r in self.results:
            i = r.indicator
            rows.append(
                [
                    i.id,
                    i.name_en,
                    i.status.value,
                    _value(r),
                    "" if r.denominator is None else f"{r.denominator:,}",
                    "" if r.attainment is None else f"{r.attainment:.0%}",
                    "" if r.points is None else f"{r.points:g}",
                ]
            )
        return "\n".join([*lines, *_columns(rows)]) + "\n"


CSV_COLUMNS = (
    "scope",
    "id",
    "indicator",
    "status",
    "numerator",
    "denominator",
    "rate",
    "share_of_max",
    "points",
    "note",
)


def _value(r: Result) -> str:
    if r.indicator.status is Status.NOT_HELD:
        return "-"
    if r.rate is None:
        return "-"
    if r.indicator.id == "2.2":
        return f"{r.rate:.2f} days"
    return f"{r.rate:.2%}"


def province(start: date, end: date, centers: dict[str, Counts]) -> Scorecard:
    """The province's scorecard: every center's counts summed, then the same formulas
    (so each rate is over all the province's dossiers, not a mean of the centers')."""
    total = Counts()
    for counts in centers.values():
        total = total + counts
    return Scorecard(None, start, end, total)


def check_period(start: date, end: date) -> None:
    """The scorecard's own bound on top of the reports' checks: at most a year."""
    days = (end - start).days + 1
    if days > MAX_PERIOD_DAYS:
        raise InvalidInput(
            "to", f"the period covers {days} days; a scorecard covers at most {MAX_PERIOD_DAYS}"
        )


@dataclass
class Comparison:
    """The province's scorecard and each center's beside it, for the province's page and
    ``GET /v1/reports/score766?province=1``. ``names``: each center's name, where known."""

    province: Scorecard
    centers: list[Scorecard]
    names: dict[str, str] = field(default_factory=dict)

    def rows(self) -> list[dict[str, Any]]:
        """One row per center: what the comparison table shows."""
        out = []
        for card in self.centers:
            by_id = {r.indicator.id: r for r in card.results}
            assert card.center_id is not None
            c = card.counts
            out.append(
                {
                    "center_id": card.center_id,
                    "name": self.names.get(card.center_id),
                    "received": c.received,
                    "on_time_rate": by_id["2.1"].rate,
                    "overdue": c.overdue,
                    "satisfaction_rate": by_id["5.4"].rate,
                    "ratings": c.rated,
                    "points": card.points,
                    "rates": {k: r.rate for k, r in by_id.items() if r.rate is not None},
                }
            )
        return out

    def to_json(self) -> dict[str, Any]:
        return {**self.province.to_json(), "centers": self.rows()}

    def to_csv(self) -> str:
        """The province's indicators, then each center's."""
        return self.province.to_csv() + "".join(c.to_csv().split("\n", 1)[1] for c in self.centers)

    def to_table(self) -> str:
        lines = [self.province.to_table(), "By center:"]
        rows = [["CENTER", "RECEIVED", "2.1 ON TIME", "OVERDUE", "5.4 SATISFACTION", "POINTS"]]
        for r in self.rows():
            rows.append(
                [
                    r["center_id"],
                    f"{r['received']:,}",
                    _percent(r["on_time_rate"]),
                    f"{r['overdue']:,}",
                    _percent(r["satisfaction_rate"]),
                    f"{r['points']:g}",
                ]
            )
        return "\n".join([*lines, *_columns(rows)]) + "\n"


def _columns(rows: list[list[str]]) -> list[str]:
    """Rows of cells as a plain-text table, each column as wide as its widest cell."""
    widths = [max(len(row[k]) for row in rows) for k in range(len(rows[0]))]
    return ["  ".join(cell.ljust(widths[k]) for k, cell in enumerate(row)).rstrip() for row in rows]


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.2%}"


def compare(
    start: date, end: date, counts: dict[str, Counts], centers: list[str], names: dict[str, str]
) -> Comparison:
    """Every center of the registry (with none: every center with dossiers), each with
    its counts (zero without a dossier in the period), and the province's sum."""
    ids = sorted(set(centers) | set(counts))
    cards = [Scorecard(i, start, end, counts.get(i, Counts())) for i in ids]
    return Comparison(province(start, end, counts), cards, names)
