"""Reading a reference data file: JSON, checked field by field, with errors that
name the file and the entry, so that a bad edit stops a service at start."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


class ReferenceDataError(ValueError):
    """A reference data file is missing or invalid."""


@dataclass(frozen=True)
class Label:
    """A name in Vietnamese and English."""

    vi: str
    en: str


def packaged(name: str) -> Traversable:
    """A data file shipped in this package."""
    return resources.files("motcua.shared.reference").joinpath(name)


def load(parse: Callable[[Mapping[str, Any], str], T], path: Path | None, name: str) -> T:
    """``path`` (a deployment's own file) or else the packaged file ``name``, read and
    checked by ``parse`` (given the file's name to start its error messages)."""
    if path is None:
        shared: T = _packaged(parse, name)
        return shared
    return parse(read_object(path), str(path))


@functools.cache
def _packaged(parse: Callable[[Mapping[str, Any], str], T], name: str) -> T:
    """A packaged file is read once per process: it cannot change while it runs."""
    source = packaged(name)
    return parse(read_object(source), str(source))


def each(
    data: Mapping[str, Any], key: str, where: str, parse: Callable[[Mapping[str, Any], str], T]
) -> tuple[T, ...]:
    """Every entry of the list ``key``, each checked by ``parse`` under its own position."""
    return tuple(
        parse(item, f"{where}: {key}[{i}]") for i, item in enumerate(entries(data, key, where))
    )


def read_object(source: Path | Traversable) -> Mapping[str, Any]:
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReferenceDataError(f"cannot read {source}: {exc}") from None
    if not isinstance(data, dict):
        raise ReferenceDataError(f"{source}: the document must be a JSON object")
    return data


def entries(data: Mapping[str, Any], key: str, where: str) -> list[Mapping[str, Any]]:
    value = data.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(v, dict) for v in value):
        raise ReferenceDataError(f"{where}: {key!r} must be a non-empty list of objects")
    return value


def text(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ReferenceDataError(f"{where}: {key!r} must be a non-empty string")
    return value


def label(data: Mapping[str, Any], where: str) -> Label:
    return Label(vi=text(data, "vi", where), en=text(data, "en", where))


def only(data: Mapping[str, Any], allowed: Collection[str], where: str) -> None:
    """Refuse unknown keys, so that a misspelt one is an error rather than ignored."""
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ReferenceDataError(f"{where}: unknown keys {unknown}")


def unique(values: list[Any], what: str, where: str) -> None:
    repeated = sorted({v for v in values if values.count(v) > 1}, key=str)
    if repeated:
        raise ReferenceDataError(f"{where}: {what} listed more than once: {repeated}")
