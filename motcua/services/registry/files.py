"""A province's registry files: one JSON document per center, and the procedure catalog,
read with line numbers.

``MOTCUA_REGISTRY_DIR`` names a folder (in Kubernetes, the ConfigMap mounted there);
each ``*.json`` file in it is one center (``docs/registry.md``, the JSON Schema in
``docs/schemas/registry/center.schema.json``), except ``procedures.json``, the
province's procedure catalog (``procedures.schema.json``). A bad file stops the load with an error
naming the file, the line and the field, e.g.
``nam-cuong.json:27: counters[4].line_codes[1]: counter 'Q5' serves line 'lands',
which the center does not open``.

Python's ``json`` module reports the line of a syntax error only, so the documents are
read by a small position-aware decoder (:func:`parse_with_lines`) that also records the
line of every value, and a validation error is traced back to the line of the deepest
part of its location that the file has.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from motcua.services.registry.domain import check, check_procedure
from motcua.services.registry.errors import Invalid, Location, field_name
from motcua.services.registry.schemas import (
    CenterDocument,
    ProcedureCatalogDocument,
    ProcedureDocument,
)
from motcua.shared.reference.lines import LineTable, service_lines

MAX_FILE_BYTES = 4_000_000
"""Larger than any center or catalog needs (the sample catalog of 11 procedures is 20 KB);
a bigger file is a mistake, refused before parsing."""

PROCEDURES_FILE = "procedures.json"
"""The one file of the folder that is not a center: the province's procedure catalog
(``docs/schemas/registry/procedures.schema.json``)."""

M = TypeVar("M", bound=BaseModel)

_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")
_SPACE = re.compile(r"[ \t\n\r]*")


@dataclass(frozen=True)
class FileError:
    """One problem in one file: where it is and what is wrong."""

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.message}"


class RegistryFilesError(ValueError):
    """The files cannot be loaded; ``errors`` lists every problem found."""

    def __init__(self, errors: list[FileError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


@dataclass(frozen=True)
class CenterFile:
    """A valid center document and the file it came from."""

    name: str
    document: CenterDocument


@dataclass(frozen=True)
class RegistryFiles:
    """Everything the folder holds: its centers, and its procedures if it has a
    ``procedures.json`` (``None``: the folder leaves the catalog as it is)."""

    centers: list[CenterFile]
    procedures: list[ProcedureDocument] | None


class _Malformed(ValueError):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


def parse_with_lines(text: str) -> tuple[Any, dict[Location, int]]:
    """The JSON value of ``text`` and the line (from 1) where each value at each location
    starts; a key's location is its value's. Duplicate keys are refused: in a reference
    file the second one silently winning is a mistake."""
    lines: dict[Location, int] = {}
    decoder = json.JSONDecoder()

    # Where each line starts, so that finding a position's line is a bisection, not a
    # count from the top for every value (a large file would take quadratic time).
    starts = [0, *(m.end() for m in re.finditer("\n", text))]

    def line_at(pos: int) -> int:
        return bisect.bisect_right(starts, pos)

    def malformed(pos: int, message: str) -> _Malformed:
        return _Malformed(line_at(pos), "the file ends too early" if pos >= len(text) else message)

    def skip(pos: int) -> int:
        match = _SPACE.match(text, pos)
        return match.end() if match else pos

    def after_member(pos: int, close: str) -> tuple[bool, int]:
        """Past a member of an object or array: (True, after the ',') when another
        follows, (False, after ``close``) at the end."""
        pos = skip(pos)
        char = text[pos : pos + 1]
        if char == ",":
            return True, pos + 1
        if char == close:
            return False, pos + 1
        raise malformed(pos, f"expected ',' or '{close}'")

    def value(pos: int, loc: Location) -> tuple[Any, int]:
        pos = skip(pos)
        lines[loc] = line_at(pos)
        char = text[pos : pos + 1]
        if char == "{":
            out: dict[str, Any] = {}
            pos = skip(pos + 1)
            if text[pos : pos + 1] == "}":
                return out, pos + 1
            while True:
                pos = skip(pos)
                if text[pos : pos + 1] != '"':
                    raise malformed(pos, "expected a quoted key")
                key, pos = decoder.raw_decode(text, pos)
                if key in out:
                    raise _Malformed(line_at(pos), f"key {key!r} appears twice")
                pos = skip(pos)
                if text[pos : pos + 1] != ":":
                    raise malformed(pos, "expected ':' after a key")
                out[key], pos = value(pos + 1, (*loc, key))
                more, pos = after_member(pos, "}")
                if not more:
                    return out, pos
        if char == "[":
            items: list[Any] = []
            pos = skip(pos + 1)
            if text[pos : pos + 1] == "]":
                return items, pos + 1
            while True:
                item, pos = value(pos, (*loc, len(items)))
                items.append(item)
                more, pos = after_member(pos, "]")
                if not more:
                    return items, pos
        if char == '"':
            string: str
            string, end = decoder.raw_decode(text, pos)
            return string, end
        number = _NUMBER.match(text, pos)
        if number and number.end() > pos:
            return json.loads(number.group()), number.end()
        for literal, meaning in (("true", True), ("false", False), ("null", None)):
            if text.startswith(literal, pos):
                return meaning, pos + len(literal)
        raise malformed(pos, "expected a JSON value")

    try:
        result, end = value(0, ())
    except json.JSONDecodeError as exc:  # from raw_decode: a bad string or escape
        raise _Malformed(exc.lineno, exc.msg) from None
    except IndexError:
        raise _Malformed(line_at(len(text)), "the file ends too early") from None
    except RecursionError:  # no center document nests this deep
        raise _Malformed(1, "nested too deeply") from None
    if skip(end) != len(text):
        raise _Malformed(line_at(skip(end)), "extra data after the document")
    return result, lines


def line_of(loc: Location, lines: dict[Location, int]) -> int:
    """The line of the deepest part of ``loc`` that the file has (a missing field's
    object, for instance)."""
    for depth in range(len(loc), -1, -1):
        if loc[:depth] in lines:
            return lines[loc[:depth]]
    return 1


def _validated(name: str, text: str, model: type[M]) -> tuple[M, dict[Location, int]]:
    """``text`` as a ``model``, with the line of every value; ``RegistryFilesError``
    names the file, line and field of every problem of shape."""
    try:
        raw, lines = parse_with_lines(text)
    except _Malformed as exc:
        raise RegistryFilesError([FileError(name, exc.line, "document", str(exc))]) from None
    try:
        return model.model_validate(raw), lines
    except ValidationError as exc:
        errors = [
            FileError(name, line_of(tuple(e["loc"]), lines), field_name(tuple(e["loc"])), e["msg"])
            for e in exc.errors()
        ]
        raise RegistryFilesError(errors) from None


def parse_center(name: str, text: str, standard: LineTable) -> CenterDocument:
    """One center's document from a file's text; ``RegistryFilesError`` says where not."""
    document, lines = _validated(name, text, CenterDocument)
    try:
        check(document, standard)
    except Invalid as exc:
        raise RegistryFilesError(
            [FileError(name, line_of(exc.loc, lines), field_name(exc.loc), exc.message)]
        ) from None
    return document


def parse_procedures(name: str, text: str, known_lines: Collection[str]) -> list[ProcedureDocument]:
    """The procedures of a catalog file's text: each valid, each on a line some center
    opens or the shared list has, no code twice. Every problem is listed."""
    catalog, lines = _validated(name, text, ProcedureCatalogDocument)
    errors: list[FileError] = []
    first: dict[str, int] = {}
    for i, procedure in enumerate(catalog.procedures):
        try:
            check_procedure(procedure, known_lines)
        except Invalid as exc:
            loc = ("procedures", i, *exc.loc)
            errors.append(FileError(name, line_of(loc, lines), field_name(loc), exc.message))
        seen = first.setdefault(procedure.code, i)
        if seen != i:
            loc = ("procedures", i, "code")
            errors.append(
                FileError(
                    name,
                    line_of(loc, lines),
                    field_name(loc),
                    f"procedure {procedure.code!r} is already procedures[{seen}]",
                )
            )
    if errors:
        raise RegistryFilesError(errors)
    return list(catalog.procedures)


def read_texts(folder: Path) -> list[tuple[str, str]]:
    """(file name, text) of every ``*.json`` file in ``folder``, by name."""
    if not folder.is_dir():
        raise RegistryFilesError([FileError(str(folder), 0, "folder", "is not a folder")])
    out: list[tuple[str, str]] = []
    errors: list[FileError] = []
    for path in sorted(folder.glob("*.json")):  # procedures.json among them
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            errors.append(
                FileError(path.name, 0, "document", f"{size} bytes: over {MAX_FILE_BYTES}")
            )
            continue
        try:
            # utf-8-sig: an editor's byte-order mark is no reason to refuse a file.
            out.append((path.name, path.read_text(encoding="utf-8-sig")))
        except (OSError, UnicodeDecodeError) as exc:
            errors.append(FileError(path.name, 0, "document", f"cannot read: {exc}"))
    if errors:
        raise RegistryFilesError(errors)
    return out


def parse_all(texts: Iterable[tuple[str, str]], standard: LineTable) -> list[CenterFile]:
    """Every center of the files (``procedures.json`` aside), checked alone and together:
    every problem is listed, and two files may not define the same center."""
    found: list[CenterFile] = []
    errors: list[FileError] = []
    owner: dict[str, str] = {}
    for name, text in texts:
        if name == PROCEDURES_FILE:
            continue
        try:
            document = parse_center(name, text, standard)
        except RegistryFilesError as exc:
            errors += exc.errors
            continue
        first = owner.setdefault(document.center_id, name)
        if first != name:
            line = line_of(("center_id",), parse_with_lines(text)[1])
            errors.append(
                FileError(name, line, "center_id", f"{document.center_id!r} is already in {first}")
            )
            continue
        found.append(CenterFile(name, document))
    if errors:
        raise RegistryFilesError(errors)
    if not found:
        raise RegistryFilesError([FileError("(folder)", 0, "document", "no *.json center file")])
    return found


def known_lines(centers: Iterable[CenterFile], standard: LineTable) -> set[str]:
    """The lines a procedure may be filed under: the shared ones and any a center opens."""
    return set(standard.codes()) | {line.code for f in centers for line in f.document.lines}


def _texts(folder: Path | None) -> list[tuple[str, str]]:
    if folder is None:
        sample = resources.files("motcua.services.registry").joinpath("data")
        return [
            (f.name, f.read_text("utf-8"))
            for f in sorted(sample.iterdir(), key=lambda f: f.name)
            if f.name.endswith(".json") and f.is_file()
        ]
    return read_texts(folder)


def load_folder(folder: Path | None) -> list[CenterFile]:
    """The centers of ``folder``, or of the packaged Nam Cường sample when ``None``."""
    return parse_all(_texts(folder), service_lines())


def load_registry(folder: Path | None) -> RegistryFiles:
    """The centers and the procedure catalog of ``folder`` (or of the packaged sample),
    every problem of either listed together."""
    texts = _texts(folder)
    errors: list[FileError] = []
    centers: list[CenterFile] = []
    try:
        centers = parse_all(texts, service_lines())
    except RegistryFilesError as exc:
        errors += exc.errors
    procedures: list[ProcedureDocument] | None = None
    for name, text in texts:
        if name == PROCEDURES_FILE:
            try:
                procedures = parse_procedures(name, text, known_lines(centers, service_lines()))
            except RegistryFilesError as exc:
                errors += exc.errors
    if errors:
        raise RegistryFilesError(errors)
    return RegistryFiles(centers, procedures)
