"""The environment-variable table of deploy/README.md, generated from the settings classes.

pydantic-settings names a variable ``env_prefix + FIELD`` unless the field has an
alias, in which case only the alias names count (the prefix does not apply).
Nested settings models (``ServiceSettings.kafka`` and ``.db``) are built by their
own ``default_factory`` and so read their own prefixes (``MOTCUA_KAFKA_*``,
``MOTCUA_DB_*``). Each service's class is found through ``motcua.devtools.services`` by
importing ``services.<name>.settings`` alone, never the app.

``python -m motcua.devtools.envdocs`` rewrites the table in place; ``--check`` reports drift.
"""

from __future__ import annotations

import argparse
import importlib
import json
import types
import typing
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Literal

import annotated_types
from pydantic import AliasChoices, AliasPath, BaseModel, SecretBytes, SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

from motcua.devtools.services import ROOT, SERVICES
from motcua.shared.settings import ServiceSettings

START = "<!-- env-table:start -->"
END = "<!-- env-table:end -->"
README = ROOT / "deploy" / "README.md"
# Shown for a secret's built-in value, which exists only so development works.
PLACEHOLDER = "*(development placeholder)*"


@dataclass(frozen=True)
class Source:
    """Where one variable lands: ``cls()`` then the attribute ``path``."""

    cls: type[BaseSettings]
    path: tuple[str, ...]


@dataclass
class EnvVar:
    """One row of the table: the accepted names (first is preferred) and what they set."""

    names: tuple[str, ...]
    description: str
    defaults: dict[str, str] = field(default_factory=dict)  # per service
    sources: list[Source] = field(default_factory=list)

    @property
    def services(self) -> tuple[str, ...]:
        return tuple(n for n in SERVICES if n in self.defaults)

    @property
    def default(self) -> str:
        distinct = set(self.defaults.values())
        if len(distinct) == 1:
            return distinct.pop()
        return "; ".join(f"{n}: {self.defaults[n]}" for n in self.services)


def settings_class(service: str) -> type[ServiceSettings]:
    """The ``ServiceSettings`` subclass defined in ``services.<service>.settings``."""
    module = importlib.import_module(f"motcua.services.{service}.settings")
    found = [
        obj
        for obj in vars(module).values()
        if isinstance(obj, type)
        and issubclass(obj, ServiceSettings)
        and obj is not ServiceSettings
        and obj.__module__ == module.__name__
    ]
    # A module may define a base and a concrete class; the most derived one is used.
    leaves = [c for c in found if not any(o is not c and issubclass(o, c) for o in found)]
    if len(leaves) != 1:
        raise LookupError(f"{module.__name__} must define one ServiceSettings subclass")
    return leaves[0]


def collect() -> list[EnvVar]:
    """Every variable any service reads, shared ones first, then per service."""
    rows: dict[tuple[str, ...], EnvVar] = {}
    for name in SERVICES:
        cls = settings_class(name)
        for names, info, owner, source in _variables(cls, ()):
            row = rows.get(names)
            if row is None:
                row = rows[names] = EnvVar(names, _describe(owner, source.path[-1], info))
            row.defaults.setdefault(name, _default(info))
            row.sources.append(Source(cls, source.path))
    order = {k: i for i, k in enumerate(rows)}
    everyone = tuple(SERVICES)
    services = list(SERVICES)

    def rank(row: EnvVar) -> tuple[int, int, int]:
        if row.services == everyone:
            return (0, 0, order[row.names])
        return (1, services.index(row.services[0]), order[row.names])

    return sorted(rows.values(), key=rank)


def render_env_table() -> str:
    """The Markdown table of every environment variable, ending with a newline."""
    lines = [
        "| Variable | Default | Services | Description |",
        "|---|---|---|---|",
    ]
    for row in collect():
        names = " or ".join(f"`{n}`" for n in row.names)
        services = "all" if row.services == tuple(SERVICES) else ", ".join(row.services)
        cells = (names, row.default, services, row.description)
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def rewrite(text: str, table: str) -> str:
    """``text`` with the block between the markers replaced by ``table``."""
    head, start, rest = text.partition(START)
    _, end, tail = rest.partition(END)
    if not start or not end:
        raise ValueError(f"markers {START} … {END} not found")
    return f"{head}{START}\n{table}{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m motcua.devtools.envdocs", description=__doc__)
    parser.add_argument("--readme", type=Path, default=README)
    parser.add_argument("--check", action="store_true", help="exit 1 if the table is stale")
    args = parser.parse_args(argv)
    current = args.readme.read_text(encoding="utf-8")
    wanted = rewrite(current, render_env_table())
    if args.check:
        if wanted != current:
            print(
                f"{args.readme}: environment table is stale; run python -m motcua.devtools.envdocs"
            )
            return 1
        return 0
    if wanted != current:
        args.readme.write_text(wanted, encoding="utf-8")
        print(f"wrote {args.readme}")
    return 0


# -- field inspection ------------------------------------------------------------------


def _variables(
    cls: type[BaseSettings], path: tuple[str, ...]
) -> typing.Iterator[tuple[tuple[str, ...], FieldInfo, type[BaseSettings], Source]]:
    prefix = str(cls.model_config.get("env_prefix", ""))
    for fname, info in cls.model_fields.items():
        nested = _settings_type(info.annotation)
        if nested is not None:
            # Built by its default_factory, so it reads its own prefix, not ours.
            yield from _variables(nested, (*path, fname))
            continue
        names = _env_names(prefix, fname, info)
        if names:
            yield names, info, cls, Source(cls, (*path, fname))


def _env_names(prefix: str, fname: str, info: FieldInfo) -> tuple[str, ...]:
    alias = info.validation_alias if info.validation_alias is not None else info.alias
    if alias is None:
        return ((prefix + fname).upper(),)
    choices = alias.choices if isinstance(alias, AliasChoices) else [alias]
    names: list[str] = []
    for choice in choices:
        name = choice.path[0] if isinstance(choice, AliasPath) else choice
        # An alias equal to the field name is there for keyword construction.
        if isinstance(name, str) and name.lower() != fname.lower():
            names.append(name.upper())
    return tuple(dict.fromkeys(names))


def _members(annotation: Any) -> tuple[Any, ...]:
    """The types inside Optional/Union/Annotated, or the annotation itself."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _members(typing.get_args(annotation)[0])
    if origin is typing.Union or origin is types.UnionType:
        return tuple(m for a in typing.get_args(annotation) for m in _members(a))
    return (annotation,)


def _settings_type(annotation: Any) -> type[BaseSettings] | None:
    for member in _members(annotation):
        if isinstance(member, type) and issubclass(member, BaseSettings):
            return member
    return None


def _describe(owner: type[BaseSettings], fname: str, info: FieldInfo) -> str:
    text = info.description or ""
    notes: list[str] = []
    members = _members(info.annotation)
    choices = [
        str(c) for m in members if typing.get_origin(m) is Literal for c in typing.get_args(m)
    ]
    if choices:
        notes.append("one of " + ", ".join(f"`{c}`" for c in choices))
    bounds = (
        (annotated_types.Ge, "ge", ">="),
        (annotated_types.Gt, "gt", ">"),
        (annotated_types.Le, "le", "<="),
        (annotated_types.Lt, "lt", "<"),
    )
    for item in info.metadata:
        for kind, attr, sign in bounds:
            if isinstance(item, kind):
                notes.append(f"{sign} {getattr(item, attr)}")
    if any(m in (SecretStr, SecretBytes) for m in members):
        notes.append("secret")
    if typing.get_origin(info.annotation) is None and _is_model(info.annotation):
        notes.append("JSON object")
    if not notes:
        return text
    joined = "; ".join(notes)
    return f"{text} ({joined})" if text else joined[0].upper() + joined[1:]


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "*(required)*"
    value = info.get_default(call_default_factory=True, validated_data={})
    if value is None:
        return "*(unset)*"
    if isinstance(value, SecretStr | SecretBytes):
        return PLACEHOLDER
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, BaseModel):
        return f"`{value.model_dump_json()}`"
    if isinstance(value, list | tuple | dict | set):
        return f"`{json.dumps(value, default=str, ensure_ascii=False)}`"
    return f"`{value}`" if value != "" else '`""`'


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


if __name__ == "__main__":
    raise SystemExit(main())
