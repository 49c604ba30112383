"""Generate (and check) the committed contract documents from the code.

* ``docs/events/<event_type>.json``: JSON Schema of each event envelope.
* ``docs/asyncapi/<service>.json``: each service's AsyncAPI, from its FastStream router.
* ``docs/openapi/<service>.json``: each service's HTTP API, from its FastAPI app.
* ``docs/security/roles.md``: the role policy table, from ``motcua.shared.policy``.
* ``docs/security.md``: the one security page, assembled from the parts in
  ``docs/security/`` (threat model, web, bus, roles, keys and personal data).

A contract test runs :func:`check_docs`; any drift between models and committed
documents fails it, and ``motcua docs gen`` rewrites them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from motcua.devtools.services import ROOT, SERVICES
from motcua.shared.events.registry import event_json_schemas
from motcua.shared.policy import roles_markdown

DOCS = ROOT / "docs"


def _dump(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render_all() -> dict[Path, str]:
    """Every generated document, by path, as it should stand on disk."""
    out: dict[Path, str] = {}
    for event_type, schema in event_json_schemas().items():
        out[DOCS / "events" / f"{event_type}.json"] = _dump(schema)
    extra = _extra_schemas()
    for name, schema in extra.items():
        out[DOCS / "events" / f"{name}.json"] = _dump(schema)
    for svc in SERVICES.values():
        app = _describing(svc.create_app)
        runtime = app.state.runtime
        spec = runtime.router.schema
        spec.title = f"motcua {svc.name}"
        spec.version = app.version
        out[DOCS / "asyncapi" / f"{svc.name}.json"] = _dump(
            _strip_servers(spec.to_specification().to_jsonable())
        )
        out[DOCS / "openapi" / f"{svc.name}.json"] = _dump(app.openapi())
    out[DOCS / "schemas" / "registry" / "center.schema.json"] = _dump(_registry_schema())
    out[DOCS / "schemas" / "registry" / "procedures.schema.json"] = _dump(
        _registry_schema("ProcedureCatalogDocument")
    )
    roles = roles_markdown()
    out[DOCS / "security" / "roles.md"] = roles
    out[DOCS / "security.md"] = security_page(roles)
    return out


# The parts of docs/security.md, in reading order, each under a numbered heading.
SECURITY_PARTS = ("web.md", "bus.md", "roles.md", "keys-and-data.md")


def security_page(roles: str) -> str:
    """``docs/security.md``: the threat model, then each part with its headings moved one
    level down, so that one page holds all of it and the parts stay the place to edit."""
    parts = DOCS / "security"
    page = [(parts / "threat-model.md").read_text(encoding="utf-8").rstrip()]
    for number, name in enumerate(SECURITY_PARTS, start=1):
        text = roles if name == "roles.md" else (parts / name).read_text(encoding="utf-8")
        lines = text.strip().splitlines()
        title = lines[0].lstrip("# ")
        body = [("#" + line) if line.startswith("#") else line for line in lines[1:]]
        # Links between parts point into this page's sections instead.
        page.append(f"## {number}. {title}\n" + "\n".join(body).replace("](", "](security/"))
    return "\n\n".join(page) + "\n"


def _registry_schema(model: str = "CenterDocument") -> dict[str, Any]:
    """The JSON Schema of a file of the registry (``MOTCUA_REGISTRY_DIR``): a center's, or
    the procedure catalog's."""
    import importlib

    schemas = importlib.import_module("motcua.services.registry.schemas")
    schema: dict[str, Any] = getattr(schemas, model).model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def _extra_schemas() -> dict[str, dict[str, Any]]:
    """Schemas of non-event messages that clerk apps produce (commands), if any."""
    import importlib

    try:
        commands = importlib.import_module("motcua.shared.events.commands")
    except ModuleNotFoundError:
        return {}
    schemas: dict[str, dict[str, Any]] = commands.command_json_schemas()
    return schemas


def _strip_servers(doc: dict[str, Any]) -> dict[str, Any]:
    # Server addresses depend on the environment, not on the code.
    doc.pop("servers", None)
    return doc


def generate_docs() -> list[Path]:
    written = []
    for path, text in render_all().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


def check_docs() -> list[str]:
    """Lines describing each drift between the code and the committed documents."""
    drift = []
    wanted = render_all()
    for path, text in wanted.items():
        rel = path.relative_to(ROOT)
        if not path.exists():
            drift.append(f"missing: {rel}")
        elif path.read_text(encoding="utf-8") != text:
            drift.append(f"stale: {rel}")
    for folder in ("events", "asyncapi", "openapi"):
        for path in sorted((DOCS / folder).glob("*.json")):
            if path not in wanted:
                drift.append(f"orphan: {path.relative_to(ROOT)}")
    return drift


def _describing(create_app: Callable[[], Any]) -> Any:
    """An app built only to read its schemas. Nothing starts, so dev mode stands: the
    documents do not depend on a deployment's secrets, and a production environment
    (which refuses development secrets) may still generate them."""
    before = os.environ.get("MOTCUA_DEV_MODE")
    os.environ["MOTCUA_DEV_MODE"] = "true"
    try:
        return create_app()
    finally:
        if before is None:
            del os.environ["MOTCUA_DEV_MODE"]
        else:
            os.environ["MOTCUA_DEV_MODE"] = before
