"""The procedure catalog in the registry's files: the packaged sample loads, a bad file
is refused naming file, line and field, and only a change makes a new revision."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from motcua.services.intake.catalog import load_catalog
from motcua.services.registry.domain import plan_procedure, procedure_as_stored
from motcua.services.registry.errors import Invalid, RevisionRequired, StaleRevision
from motcua.services.registry.files import (
    PROCEDURES_FILE,
    RegistryFilesError,
    load_folder,
    load_registry,
    parse_procedures,
)
from motcua.services.registry.schemas import ProcedureDocument

LINES = {"justice", "land"}

GOOD = """{
  "procedures": [
    {
      "code": "HT-KHAISINH",
      "name": {"vi": "Đăng ký khai sinh", "en": "Birth registration"},
      "line_code": "justice",
      "time_limit": {"amount": 0, "unit": "working_days", "rollover": true},
      "fee": {"amount_vnd": null, "vi": "Miễn phí", "en": "Free"}
    },
    {
      "code": "DD-CAPGCN",
      "name": {"vi": "Cấp giấy chứng nhận", "en": "Land certificate"},
      "line_code": "land",
      "time_limit": {"amount": 15, "unit": "working_days"},
      "fee": {"amount_vnd": 100000, "vi": "100.000 đồng", "en": "VND 100,000"}
    }
  ]
}
"""


def errors_of(text: str, lines: set[str] = LINES) -> list[str]:
    with pytest.raises(RegistryFilesError) as caught:
        parse_procedures(PROCEDURES_FILE, text, lines)
    return [str(e) for e in caught.value.errors]


def test_the_packaged_sample_is_intakes_catalog() -> None:
    files = load_registry(None)
    assert [f.document.center_id for f in files.centers] == ["nam-cuong"]
    assert files.procedures is not None
    packaged = load_catalog()
    assert [p.code for p in files.procedures] == [p.code for p in packaged.procedures]
    for mine, intakes in zip(files.procedures, packaged.procedures, strict=True):
        assert procedure_as_stored(mine) == procedure_as_stored(intakes)
    # The catalog file is not taken for a center.
    assert [f.name for f in load_folder(None)] == ["nam-cuong.json"]


def test_a_good_catalog_loads() -> None:
    first, second = parse_procedures(PROCEDURES_FILE, GOOD, LINES)
    assert first.active
    assert first.time_limit.rollover
    assert second.fee.amount_vnd == 100_000


def test_malformed_json_names_the_line() -> None:
    broken = GOOD.replace('"line_code": "land",', '"line_code": "land"')
    # The comma is missed where the next member starts.
    assert errors_of(broken) == [f"{PROCEDURES_FILE}:14: document: expected ',' or '}}'"]


def test_an_unknown_field_names_its_line() -> None:
    typo = GOOD.replace('"line_code": "land",', '"line_code": "land", "time_limt": 3,')
    (error,) = errors_of(typo)
    assert error.startswith(f"{PROCEDURES_FILE}:13: procedures[1].time_limt: ")


def test_a_bad_value_names_its_line_and_field() -> None:
    bad = GOOD.replace('"amount": 15, "unit": "working_days"', '"amount": 15, "unit": "weeks"')
    (error,) = errors_of(bad)
    assert error.startswith(f"{PROCEDURES_FILE}:14: procedures[1].time_limit.unit: ")


def test_an_unknown_line_code_names_its_line() -> None:
    assert errors_of(GOOD, {"justice"}) == [
        f"{PROCEDURES_FILE}:13: procedures[1].line_code: line 'land' is neither a shared "
        "service line nor one a center opens"
    ]


def test_a_duplicate_code_names_the_second() -> None:
    twice = GOOD.replace('"code": "DD-CAPGCN"', '"code": "HT-KHAISINH"')
    assert errors_of(twice) == [
        f"{PROCEDURES_FILE}:11: procedures[1].code: procedure 'HT-KHAISINH' is already "
        "procedures[0]"
    ]


def test_a_folder_lists_every_problem_with_its_file(tmp_path: Path) -> None:
    sample = Path(__file__).parents[3] / "motcua/services/registry/data/nam-cuong.json"
    (tmp_path / "nam-cuong.json").write_text(sample.read_text("utf-8"), "utf-8")
    (tmp_path / PROCEDURES_FILE).write_text(GOOD.replace('"land"', '"lands"'), "utf-8")
    with pytest.raises(RegistryFilesError) as caught:
        load_registry(tmp_path)
    assert [e.field for e in caught.value.errors] == ["procedures[1].line_code"]
    # A folder without a catalog leaves the catalog as it is.
    (tmp_path / PROCEDURES_FILE).unlink()
    assert load_registry(tmp_path).procedures is None


def _procedure(**change: object) -> ProcedureDocument:
    (first, _) = parse_procedures(PROCEDURES_FILE, GOOD, LINES)
    return ProcedureDocument.model_validate({**first.model_dump(mode="json"), **change})


def test_only_a_change_makes_a_revision_and_revisions_grow_by_one() -> None:
    doc = _procedure()
    created = plan_procedure(doc.code, None, doc, expected=None, require_expected=True)
    assert created is not None
    assert (created.revision, created.before) == (1, None)
    current = (1, created.after)
    assert plan_procedure(doc.code, current, doc, expected=1, require_expected=True) is None
    longer = _procedure(time_limit={"amount": 5, "unit": "working_days"})
    changed = plan_procedure(doc.code, current, longer, expected=1, require_expected=True)
    assert changed is not None
    assert changed.revision == 2
    assert changed.before == created.after
    event = changed.event_payload()
    assert (event.revision, event.time_limit.amount) == (2, 5)


def test_a_stale_or_missing_revision_is_refused() -> None:
    doc = _procedure()
    longer = _procedure(time_limit={"amount": 5, "unit": "working_days"})
    current = (3, procedure_as_stored(doc))
    with pytest.raises(StaleRevision, match="procedure 'HT-KHAISINH' is at revision 3, not 2"):
        plan_procedure(doc.code, current, longer, expected=2, require_expected=True)
    with pytest.raises(RevisionRequired):
        plan_procedure(doc.code, current, longer, expected=None, require_expected=True)
    with pytest.raises(StaleRevision):  # creating what the writer thinks exists
        plan_procedure(doc.code, None, doc, expected=4, require_expected=True)
    with pytest.raises(Invalid, match="code"):
        plan_procedure("OTHER", None, doc, expected=None, require_expected=True)


def test_the_schema_file_is_generated_from_the_document() -> None:
    schema = json.loads(
        (Path(__file__).parents[3] / "docs/schemas/registry/procedures.schema.json").read_text()
    )
    assert schema["$id"].endswith("procedures.schema.json")
    assert schema["additionalProperties"] is False
