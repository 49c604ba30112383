"""The shared reference data: the packaged tables, and refusals of bad files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, get_args

import pytest

from motcua.services.queue import domain as queue_domain
from motcua.shared.events import catalog
from motcua.shared.reference.documents import ReferenceDataError, packaged
from motcua.shared.reference.lines import service_lines
from motcua.shared.reference.priority import PRIORITY_REASONS, PriorityReason
from motcua.shared.reference.statuses import portal_statuses


def _write(tmp_path: Path, doc: Any) -> Path:
    path = tmp_path / "reference.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _packaged(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(packaged(name).read_text(encoding="utf-8"))
    return data


def test_the_statuses_are_the_lifecycle_steps_each_named_once_and_mapped() -> None:
    table = portal_statuses()
    assert [s.code for s in table.statuses] == list(range(1, 13))
    # The portal's own list: ten codes, each reported by some lifecycle status.
    assert [p.code for p in table.portal_codes] == list(range(1, 11))
    assert {s.portal for s in table.statuses} == set(range(1, 11))
    not_accepted, withdrawn = table.portal(11), table.portal(12)
    assert not_accepted is not None
    assert not_accepted.code == 3
    assert withdrawn is not None
    assert withdrawn.name.vi == "Công dân yêu cầu rút hồ sơ"
    step5 = table.get(5)
    assert step5 is not None
    # A name only: whether the clock runs is the status's clock, never part of its name.
    assert (step5.key, step5.name.vi, step5.name.en, step5.clock) == (
        "supplement_requested",
        "Yêu cầu bổ sung hồ sơ",
        "Supplement requested",
        "paused",
    )
    assert {s.code for s in table.statuses if s.clock == "paused"} == {5, 6}
    assert table.get(13) is None
    assert portal_statuses() is table  # read once


def test_the_service_lines_are_the_ward_fields() -> None:
    lines = service_lines()
    assert lines.codes() == ("justice", "land", "business", "labour", "other")
    land = lines.get("land")
    assert land is not None
    assert (land.name.vi, land.name.en) == ("Đất đai", "Land")
    assert lines.get("astrology") is None


def test_the_priority_reasons_are_one_type_for_the_contract_and_the_queue() -> None:
    assert PRIORITY_REASONS == ("elderly", "disability", "pregnancy", "young_child", "meritorious")
    assert get_args(PriorityReason) == PRIORITY_REASONS
    assert catalog.PriorityReason is PriorityReason
    assert queue_domain.PRIORITY_REASONS is PRIORITY_REASONS


def _changed(name: str, change: Any) -> dict[str, Any]:
    data = _packaged(name)
    change(data)
    return data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["statuses"].append(d["statuses"][0]), r"status codes listed more than once"),
        (lambda d: d["statuses"][4].update(clock="frozen"), r"statuses\[4\]: 'clock' must be"),
        (lambda d: d["statuses"][4].update(code=13), r"statuses\[4\]: 'code' must be"),
        (lambda d: d["statuses"][4].update(portal=11), r"statuses\[4\]: 'portal' must be"),
        (lambda d: d["portal_codes"].pop(4), r"unlisted portal codes \[5\]"),
        (lambda d: d["statuses"][4].update(code=True), r"'code' must be an integer"),
        (lambda d: d["statuses"][4].update(vi=""), r"statuses\[4\]: 'vi' must be a non-empty"),
        (lambda d: d["statuses"][4].update(label="x"), r"unknown keys \['label'\]"),
        (lambda d: d["events"].update({"dossier.lost": {"vi": "x"}}), r"events.dossier.lost"),
        (lambda d: d.pop("events"), r"'events' must map event types"),
        (lambda d: d.update(statuses=[]), r"'statuses' must be a non-empty list"),
    ],
)
def test_a_bad_status_file_is_refused_naming_the_file(
    tmp_path: Path, change: Any, message: str
) -> None:
    path = _write(tmp_path, _changed("portal_statuses.json", change))
    with pytest.raises(ReferenceDataError, match=message) as err:
        portal_statuses(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["lines"].append(d["lines"][0]), r"line codes listed more than once"),
        (lambda d: d["lines"][0].update(code="Justice"), r"line code 'Justice' must match"),
        (lambda d: d["lines"][0].update(code="j" * 33), r"must match"),
        (lambda d: d["lines"][0].pop("en"), r"lines\[0\]: 'en' must be a non-empty string"),
    ],
)
def test_a_bad_line_file_is_refused(tmp_path: Path, change: Any, message: str) -> None:
    with pytest.raises(ReferenceDataError, match=message):
        service_lines(_write(tmp_path, _changed("service_lines.json", change)))


def test_an_unreadable_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ReferenceDataError, match="cannot read"):
        portal_statuses(tmp_path / "broken.json")
    with pytest.raises(ReferenceDataError, match="cannot read"):
        service_lines(tmp_path / "missing.json")
    (tmp_path / "list.json").write_text("[]", encoding="utf-8")
    with pytest.raises(ReferenceDataError, match="must be a JSON object"):
        service_lines(tmp_path / "list.json")
