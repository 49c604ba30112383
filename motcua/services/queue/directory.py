"""Reference data of the queue: centers, their service lines and their counters.

Loaded from a data file (``motcua/services/queue/data/centers.json`` by default), never
hard-coded. A center lists the lines it opens by code, with the ticket letter and
typical service time it gives each; the names of a line come from the shared list
(``motcua.shared.reference.lines``) unless the file names it (a line of the
deployment's own, or a center's own wording). Pure: ``Directory.from_dict``
validates a parsed document; only ``load_directory`` touches the file system.

The center registry is the source of a center once it has configured it: each
``center.configured`` replaces the file's center (``Directory.configured``), without a
restart. The file stays the default until then.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from motcua.services.queue.errors import Invalid, NotFound
from motcua.shared.events.catalog import CenterConfigured
from motcua.shared.reference.lines import LineTable, service_lines

DEFAULT_FILE = Path(__file__).parent / "data" / "centers.json"
DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"


class DirectoryError(ValueError):
    """The reference data file is inconsistent (the service refuses to start)."""


@dataclass(frozen=True)
class Line:
    """A service line (lĩnh vực): its ticket letter and a typical service time."""

    code: str
    prefix: str
    name: str
    name_en: str
    default_service_seconds: int


@dataclass(frozen=True)
class CounterSpec:
    """A counter as the data file defines it; whether it is open lives in the database."""

    counter_id: str
    name: str
    line_codes: tuple[str, ...]


@dataclass(frozen=True)
class Center:
    """One public administrative service center with its lines and counters."""

    center_id: str
    name: str
    timezone: str
    lines: Mapping[str, Line]
    counters: Mapping[str, CounterSpec]

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local_day(self, at: datetime) -> date:
        """The center's calendar day at ``at``: ticket numbers restart at local midnight."""
        if at.tzinfo is None:
            raise ValueError("a naive datetime has no local day")
        return at.astimezone(self.tz).date()

    def line(self, code: str) -> Line:
        try:
            return self.lines[code]
        except KeyError:
            raise NotFound("line", code, self.center_id) from None

    def counter(self, counter_id: str) -> CounterSpec:
        try:
            return self.counters[counter_id]
        except KeyError:
            raise NotFound("counter", counter_id, self.center_id) from None

    def lines_for_counter(self, spec: CounterSpec, requested: Sequence[str] | None) -> list[str]:
        """The lines a counter serves once opened: the clerk's choice, or the file's default."""
        if requested is None:
            return list(spec.line_codes)
        if not requested:
            raise Invalid("line_codes", "a counter must serve at least one line")
        chosen: list[str] = []
        for code in requested:
            self.line(code)
            if code not in chosen:
                chosen.append(code)
        return chosen


@dataclass(frozen=True)
class Directory:
    """Every center the deployment serves."""

    centers: Mapping[str, Center]

    def center(self, center_id: str) -> Center:
        try:
            return self.centers[center_id]
        except KeyError:
            raise NotFound("center", center_id) from None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], standard: LineTable) -> Directory:
        """The centers of ``data``; ``standard`` names the lines the file does not."""
        centers: dict[str, Center] = {}
        for raw in _items(data, "centers", "the document"):
            center = _center(raw, standard)
            if center.center_id in centers:
                raise DirectoryError(f"center {center.center_id!r} is listed twice")
            centers[center.center_id] = center
        if not centers:
            raise DirectoryError("no centers defined")
        return cls(centers)

    def configured(self, config: CenterConfigured, standard: LineTable) -> Directory:
        """This directory with ``config`` from the center registry in place of what it
        held for the center; a retired center leaves it (no new tickets there)."""
        centers = dict(self.centers)
        centers.pop(config.center_id, None)
        if config.active:
            centers[config.center_id] = center_of(config, standard)
        return Directory(centers)


def center_of(config: CenterConfigured, standard: LineTable) -> Center:
    """A center as the registry configures it (validated there: lines named, counters
    serving known lines), named from the shared list of lines where it names none."""
    lines: dict[str, Line] = {}
    for item in config.lines:
        known = standard.get(item.code)
        name = item.name or (known.name.vi if known else item.code)
        lines[item.code] = Line(
            code=item.code,
            prefix=item.prefix,
            name=name,
            name_en=item.name_en or (known.name.en if known else name),
            default_service_seconds=item.default_service_seconds,
        )
    counters = {
        c.counter_id: CounterSpec(c.counter_id, c.name, tuple(c.line_codes))
        for c in config.counters
    }
    return Center(config.center_id, config.name, config.timezone, lines, counters)


def load_directory(path: Path | str | None = None) -> Directory:
    """Read and validate the reference data file."""
    file = Path(path) if path else DEFAULT_FILE
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DirectoryError(f"cannot read {file}: {exc}") from exc
    return Directory.from_dict(data, service_lines())


def _items(data: Mapping[str, Any], key: str, where: str) -> list[Mapping[str, Any]]:
    value = data.get(key)
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise DirectoryError(f"{where}: {key!r} must be a list of objects")
    return value


def _text(data: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise DirectoryError(f"{where}: {key!r} must be a non-empty string")
    return value


def _center(raw: Mapping[str, Any], standard: LineTable) -> Center:
    center_id = _text(raw, "center_id", "center")
    where = f"center {center_id!r}"
    timezone = _text(raw, "timezone", where, DEFAULT_TIMEZONE)
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise DirectoryError(f"{where}: unknown timezone {timezone!r}") from exc
    lines: dict[str, Line] = {}
    for item in _items(raw, "lines", where):
        seconds = item.get("default_service_seconds", 600)
        if not isinstance(seconds, int) or seconds <= 0:
            raise DirectoryError(f"{where}: default_service_seconds must be a positive integer")
        code = _text(item, "code", where)
        known = standard.get(code)
        if known is None and "name" not in item:
            raise DirectoryError(f"{where}: line {code!r} is not a shared service line: name it")
        name = _text(item, "name", where, known.name.vi if known else None)
        line = Line(
            code=code,
            prefix=_text(item, "prefix", where),
            name=name,
            name_en=_text(item, "name_en", where, known.name.en if known else name),
            default_service_seconds=seconds,
        )
        if line.code in lines or line.prefix in {x.prefix for x in lines.values()}:
            raise DirectoryError(f"{where}: line {line.code!r} repeats a code or prefix")
        lines[line.code] = line
    counters: dict[str, CounterSpec] = {}
    for item in _items(raw, "counters", where):
        counter_id = _text(item, "counter_id", where)
        codes = item.get("line_codes")
        if not isinstance(codes, list) or not codes or any(c not in lines for c in codes):
            raise DirectoryError(f"{where}: counter {counter_id!r} must serve known lines")
        if counter_id in counters:
            raise DirectoryError(f"{where}: counter {counter_id!r} is listed twice")
        counters[counter_id] = CounterSpec(
            counter_id, _text(item, "name", where, counter_id), tuple(codes)
        )
    if not lines or not counters:
        raise DirectoryError(f"{where}: needs at least one line and one counter")
    return Center(center_id, _text(raw, "name", where), timezone, lines, counters)
