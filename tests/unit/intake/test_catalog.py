"""The procedure catalog and status list files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from motcua.services.intake.catalog import (
    PROCEDURES_FILE,
    CatalogError,
    load_catalog,
    load_statuses,
)
from motcua.shared.reference.documents import packaged
from motcua.shared.reference.lines import service_lines

# The ward-level procedures of the design brief, with their time limits.
DESIGN = {
    "CT-BANSAO": (0, "working_days", True),
    "CT-BANSAO-NHIEU": (2, "working_days", True),
    "HT-TRICHLUC": (0, "working_days", True),
    "HT-KHAISINH": (0, "working_days", True),
    "HT-KETHON": (0, "working_days", True),
    "HT-KETHON-XACMINH": (5, "working_days", False),
    "HT-XNTTHN": (3, "working_days", False),
    "HT-XNTTHN-XACMINH": (23, "working_days", False),
    "LT-KHAISINH-THUONGTRU-BHYT": (15, "working_days", False),
    "CUTRU-THUONGTRU": (7, "working_days", False),
    "CUTRU-TAMTRU": (3, "working_days", False),
}


def test_the_catalog_is_seeded_with_the_ward_procedures() -> None:
    catalog = load_catalog()
    found = {
        p.code: (p.time_limit.amount, p.time_limit.unit.value, p.time_limit.rollover)
        for p in catalog.procedures
    }
    assert found == DESIGN
    for p in catalog.procedures:
        assert p.name.vi
        assert p.name.en
        assert p.required_documents, p.code
        assert service_lines().get(p.line_code) is not None, p.code
    snapshot = catalog.get("CT-BANSAO")
    assert snapshot is not None
    assert snapshot.time_limit.snapshot().model_dump() == {
        "amount": 0,
        "unit": "working_days",
        "rollover": True,
    }
    assert catalog.get("NOPE") is None


SHARED = json.loads(packaged("portal_statuses.json").read_text(encoding="utf-8"))


def _write(tmp_path: Path, doc: object) -> Path:
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_a_bad_catalog_stops_the_service_with_a_clear_message(tmp_path: Path) -> None:
    good = json.loads(PROCEDURES_FILE.read_text(encoding="utf-8"))
    dupe = good | {"procedures": good["procedures"] + good["procedures"][:1]}
    with pytest.raises(CatalogError, match="duplicate procedure codes"):
        load_catalog(_write(tmp_path, dupe))
    stray = json.loads(json.dumps(good))
    stray["procedures"][0]["line_code"] = "ZZ"
    with pytest.raises(CatalogError, match="undeclared service lines"):
        load_catalog(_write(tmp_path, stray))
    own_line = stray | {"service_lines": {"ZZ": {"vi": "Xây dựng", "en": "Construction"}}}
    assert load_catalog(_write(tmp_path, own_line)).procedures[0].line_code == "ZZ"
    unitless = json.loads(json.dumps(good))
    unitless["procedures"][0]["time_limit"]["unit"] = "fortnights"
    with pytest.raises(CatalogError, match=r"time_limit\.unit"):
        load_catalog(_write(tmp_path, unitless))
    with pytest.raises(CatalogError):
        load_catalog(tmp_path / "missing.json")


def test_a_status_file_must_list_all_the_lifecycle_steps(tmp_path: Path) -> None:
    book = load_statuses()
    assert book.event_labels["dossier.received"].vi == "Tiếp nhận hồ sơ"
    short = {
        "statuses": [
            {
                "code": 1,
                "key": "registered",
                "vi": "a",
                "en": "a",
                "clock": "not_started",
                "portal": 1,
            }
        ],
        "portal_codes": [{"code": 1, "vi": "a", "en": "a"}],
        "events": {},
    }
    with pytest.raises(CatalogError, match="the list has 1 steps, not 12"):
        load_statuses(_write(tmp_path, short))


def test_a_deployment_status_file_is_checked_against_the_lifecycle_steps(tmp_path: Path) -> None:
    own = json.loads(json.dumps(SHARED))
    own["statuses"][2]["vi"] = "Đang giải quyết"
    assert load_statuses(_write(tmp_path, own)).statuses.info(3).name_vi == "Đang giải quyết"
    own["statuses"][2]["key"] = "pondering"
    with pytest.raises(CatalogError, match="'pondering' is not a valid Step"):
        load_statuses(_write(tmp_path, own))
    own["statuses"][2]["clock"] = "ticking"
    with pytest.raises(CatalogError, match=r"statuses\[2\]: 'clock' must be one of"):
        load_statuses(_write(tmp_path, own))
