"""Registry files: a valid province loads; a bad one is refused naming file, line, field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from motcua.services.registry import cli
from motcua.services.registry.files import (
    MAX_FILE_BYTES,
    RegistryFilesError,
    load_folder,
    parse_all,
    parse_with_lines,
)
from motcua.shared.reference.lines import service_lines

GOOD = """{
  "center_id": "bac-ha",
  "name": "Trung tâm Phục vụ hành chính công xã Bắc Hà",
  "name_en": "Bac Ha commune center",
  "code": "BH",
  "lines": [
    {"code": "justice", "prefix": "A"},
    {"code": "land", "prefix": "B", "default_service_seconds": 1200}
  ],
  "counters": [
    {"counter_id": "Q1", "name": "Quầy 1", "line_codes": ["justice"]},
    {"counter_id": "Q2", "name": "Quầy 2", "line_codes": ["justice", "land"]}
  ],
  "calendar": {"extra_days_off": ["2026-03-10"]}
}
"""


def errors_of(*files: tuple[str, str]) -> list[str]:
    with pytest.raises(RegistryFilesError) as caught:
        parse_all(list(files), service_lines())
    return [str(e) for e in caught.value.errors]


def test_the_packaged_sample_and_a_good_file_load() -> None:
    assert [f.document.center_id for f in load_folder(None)] == ["nam-cuong"]
    (center,) = parse_all([("bac-ha.json", GOOD)], service_lines())
    assert center.document.code == "BH"
    assert [str(d) for d in center.document.calendar.extra_days_off] == ["2026-03-10"]


def test_the_decoder_knows_the_line_of_every_value() -> None:
    value, lines = parse_with_lines(GOOD)
    assert value == json.loads(GOOD)
    assert lines[("code",)] == 5
    assert lines[("counters", 1, "line_codes", 1)] == 12
    assert lines[("calendar", "extra_days_off", 0)] == 14


def test_malformed_json_names_the_line() -> None:
    broken = GOOD.replace('"code": "BH",', '"code": "BH"')
    assert errors_of(("bac-ha.json", broken)) == ["bac-ha.json:6: document: expected ',' or '}'"]
    assert errors_of(("x.json", '{"a": tru}')) == ["x.json:1: document: expected a JSON value"]
    assert errors_of(("x.json", "{\n")) == ["x.json:2: document: the file ends too early"]
    assert errors_of(("x.json", "[" * 100_000)) == ["x.json:1: document: nested too deeply"]
    assert errors_of(("x.json", GOOD + "}")) == [
        "x.json:16: document: extra data after the document"
    ]


def test_an_unknown_field_names_its_line() -> None:
    typo = GOOD.replace('"prefix": "B",', '"prefix": "B", "colour": "red",')
    assert errors_of(("bac-ha.json", typo)) == [
        "bac-ha.json:8: lines[1].colour: Extra inputs are not permitted"
    ]


def test_a_counter_serving_an_unknown_line_names_its_line_and_field() -> None:
    bad = GOOD.replace('["justice", "land"]', '["justice", "lands"]')
    assert errors_of(("bac-ha.json", bad)) == [
        "bac-ha.json:12: counters[1].line_codes[1]: counter 'Q2' serves line 'lands', "
        "which the center does not open"
    ]


def test_a_missing_field_and_a_bad_pattern_are_each_named() -> None:
    bad = GOOD.replace('  "code": "BH",\n', "").replace('"prefix": "A"', '"prefix": "a"')
    found = errors_of(("bac-ha.json", bad))
    assert "bac-ha.json:1: code: Field required" in found
    assert any(e.startswith("bac-ha.json:6: lines[0].prefix: String should match") for e in found)


def test_a_bad_calendar_override_is_named() -> None:
    bad = GOOD.replace('"extra_days_off": ["2026-03-10"]', '"rollover_cutoff": "25:00"')
    (error,) = errors_of(("bac-ha.json", bad))
    assert error.startswith("bac-ha.json:14: calendar.rollover_cutoff: String should match")


def test_duplicate_centers_and_duplicate_keys_are_refused() -> None:
    assert errors_of(("a.json", GOOD), ("b.json", GOOD)) == [
        "b.json:2: center_id: 'bac-ha' is already in a.json"
    ]
    twice = GOOD.replace('"code": "BH",', '"code": "BH", "code": "BX",')
    assert errors_of(("a.json", twice)) == ["a.json:5: document: key 'code' appears twice"]


def test_every_bad_file_is_listed_and_an_oversized_one_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(GOOD, encoding="utf-8")
    (tmp_path / "huge.json").write_bytes(b" " * (MAX_FILE_BYTES + 1))
    with pytest.raises(RegistryFilesError) as caught:
        load_folder(tmp_path)
    assert [e.file for e in caught.value.errors] == ["huge.json"]


def test_the_validate_command_prints_the_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bac-ha.json").write_text(GOOD, encoding="utf-8")
    assert cli.main(["validate", str(tmp_path)]) == 0
    assert "bac-ha.json: bac-ha (BH), 2 lines, 2 counters" in capsys.readouterr().out
    (tmp_path / "bad.json").write_text(GOOD.replace("bac-ha", "x").replace('"BH"', '"bh"'), "utf-8")
    assert cli.main(["validate", str(tmp_path)]) == 1
    assert "bad.json:5: code: String should match pattern" in capsys.readouterr().err


def test_the_shipped_json_schema_accepts_the_sample_and_refuses_what_the_service_does() -> None:
    """Tools of the province's own (editors, CI) validate with the shipped schema alone."""
    jsonschema = pytest.importorskip("jsonschema")
    root = Path(__file__).resolve().parents[3]
    schema = json.loads(
        (root / "docs/schemas/registry/center.schema.json").read_text(encoding="utf-8")
    )
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    sample = json.loads(
        (root / "motcua/services/registry/data/nam-cuong.json").read_text(encoding="utf-8")
    )
    assert list(validator.iter_errors(sample)) == []
    assert list(validator.iter_errors(json.loads(GOOD))) == []
    for broken in (
        {**sample, "colour": "red"},
        {**sample, "code": "nc"},
        {**sample, "counters": []},
        {k: v for k, v in sample.items() if k != "name"},
        {**sample, "calendar": {"extra_days_off": ["not a date"]}},
    ):
        assert list(validator.iter_errors(broken)), broken
