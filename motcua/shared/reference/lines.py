"""The service lines (lĩnh vực): the one list of line codes and their names.

A ticket is issued on a line, a procedure belongs to a line, a counter serves
lines. The queue's centers file says which of these lines a center opens (with
its ticket letter and counters) and intake's procedure catalog says which line
each procedure belongs to; both refer to the codes listed in
``service_lines.json`` and take the names from it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from motcua.shared.reference import documents as doc

PACKAGED_FILE = "service_lines.json"
# Codes travel in events (``line_code``, at most 32 characters) and in URLs.
CODE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


@dataclass(frozen=True)
class ServiceLine:
    code: str
    name: doc.Label


@dataclass(frozen=True)
class LineTable:
    """Every service line, in the order the file lists them."""

    lines: tuple[ServiceLine, ...]

    def get(self, code: str) -> ServiceLine | None:
        return next((line for line in self.lines if line.code == code), None)

    def codes(self) -> tuple[str, ...]:
        return tuple(line.code for line in self.lines)


def service_lines(path: Path | None = None) -> LineTable:
    """The lines in ``path``, or the packaged list (read once per process)."""
    return doc.load(_table, path, PACKAGED_FILE)


def _table(data: Mapping[str, Any], where: str) -> LineTable:
    doc.only(data, ("description", "lines"), where)
    lines = doc.each(data, "lines", where, _line)
    doc.unique([line.code for line in lines], "line codes", where)
    return LineTable(lines)


def _line(item: Mapping[str, Any], where: str) -> ServiceLine:
    doc.only(item, ("code", "vi", "en"), where)
    code = doc.text(item, "code", where)
    if not CODE.match(code):
        raise doc.ReferenceDataError(f"{where}: line code {code!r} must match {CODE.pattern}")
    return ServiceLine(code, doc.label(item, where))
