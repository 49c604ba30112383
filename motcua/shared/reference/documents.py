"""Reading a reference data file: JSON, checked field by field, with errors that
name the file and the entry, so that a bad edit stops a service at start."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from typing import Any, Literal

Lang = Literal["vi", "en"]
Source = Path | Traversable


class ReferenceDataError(ValueError):
    """A reference data file is missing or invalid."""


@dataclass(frozen=True)
class Label:
    """A name in Vietnamese and English."""

    vi: str
    en: str

    def in_language(self, lang: Lang) -> str:
        return self.vi if lang == "vi" else self.en


def packaged(name: str) -> Traversable:
    """A data file shipped in this package."""
    return resources.files("motcua.shared.reference").joinpath(name)


def read_object(source: Source) -> Mapping[str, Any]:
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
