"""The committed JSON Schemas, AsyncAPI and OpenAPI documents match the code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from motcua.devtools import docs
from motcua.shared.events.registry import ENVELOPES


def test_committed_documents_match_the_code() -> None:
    drift = docs.check_docs()
    assert drift == [], "run `make docs` and commit: " + "; ".join(drift)


def test_drift_is_detected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rendered = {tmp_path / p.relative_to(docs.DOCS): t for p, t in docs.render_all().items()}
    monkeypatch.setattr(docs, "DOCS", tmp_path)
    monkeypatch.setattr(docs, "ROOT", tmp_path.parent)
    monkeypatch.setattr(docs, "render_all", lambda: rendered)
    for path, text in rendered.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert docs.check_docs() == []

    victim = tmp_path / "events" / "dossier.received.json"
    schema = json.loads(victim.read_text())
    schema["properties"]["data"] = {"type": "string"}
    victim.write_text(json.dumps(schema))
    (tmp_path / "events" / "ticket.vanished.json").write_text("{}")
    (tmp_path / "asyncapi" / "queue.json").unlink()
    drift = docs.check_docs()
    assert any(line.startswith("stale:") and "dossier.received" in line for line in drift)
    assert any(line.startswith("orphan:") and "ticket.vanished" in line for line in drift)
    assert any(line.startswith("missing:") and "queue.json" in line for line in drift)


def test_every_event_schema_requires_the_envelope_fields() -> None:
    for event_type, model in ENVELOPES.items():
        schema = model.model_json_schema()
        assert {"event_type", "center_id", "producer", "data"} <= set(schema["required"]), (
            event_type
        )
        assert schema["properties"]["event_type"]["const"] == event_type


def test_asyncapi_documents_name_every_published_stream() -> None:
    for name, stream in [("queue", "queue.events"), ("intake", "dossier.events")]:
        doc = json.loads((docs.DOCS / "asyncapi" / f"{name}.json").read_text())
        assert any(stream in key for key in doc["channels"]), (name, list(doc["channels"]))


def test_the_security_page_holds_the_threat_model_policy_keys_and_data_inventory() -> None:
    """docs/security.md is one page with every part the operators need, and the role
    table in it is the one the code enforces."""
    from motcua.shared.policy import roles_markdown

    page = (docs.DOCS / "security.md").read_text(encoding="utf-8")
    for heading in (
        "## Threat model: who can reach what",
        "## 1. What the internet reaches",
        "## 2. The bus",
        "## 3. Roles and what each may do",
        "### Rotation steps",
        "### Personal-data inventory",
    ):
        assert heading in page
    table = [line for line in roles_markdown().splitlines() if line.startswith("| `")]
    assert table
    assert all(line in page for line in table)
