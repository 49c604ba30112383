"""The reference data file: the packaged sample, and refusals of inconsistent files."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from motcua.services.queue.directory import DEFAULT_FILE, Directory, DirectoryError, load_directory
from motcua.services.queue.errors import Invalid, NotFound
from motcua.shared.reference.lines import service_lines


def test_the_sample_is_the_nam_cuong_center() -> None:
    c = load_directory().center("nam-cuong")
    assert c.timezone == "Asia/Ho_Chi_Minh"
    assert {x.code: x.prefix for x in c.lines.values()} == {
        "justice": "A",
        "land": "B",
        "business": "C",
        "labour": "D",
        "other": "E",
    }
    served = {code for k in c.counters.values() for code in k.line_codes}
    assert served == set(c.lines)  # every line has a counter
    justice = c.line("justice")
    assert (justice.name, justice.name_en) == ("Tư pháp – Hộ tịch", "Justice & civil status")


def test_line_names_come_from_the_shared_list_unless_the_file_gives_them() -> None:
    shared = service_lines()
    for line in load_directory().center("nam-cuong").lines.values():
        named = shared.get(line.code)
        assert named is not None, line.code
        assert (line.name, line.name_en) == (named.name.vi, named.name.en)
    # A deployment's file written before the shared list (names on every line) and a
    # line of its own both still load.
    data = _sample()
    center = data["centers"][0]
    center["lines"][0] |= {"name": "Hộ tịch", "name_en": "Civil status"}
    center["lines"].append({"code": "construction", "prefix": "F", "name": "Xây dựng"})
    center["counters"][0]["line_codes"].append("construction")
    c = Directory.from_dict(data, shared).center("nam-cuong")
    assert (c.line("justice").name, c.line("justice").name_en) == ("Hộ tịch", "Civil status")
    assert (c.line("construction").name, c.line("construction").name_en) == ("Xây dựng",) * 2


def test_unknown_names_are_reported_by_kind() -> None:
    d = load_directory()
    with pytest.raises(NotFound, match="unknown center 'nowhere'"):
        d.center("nowhere")
    c = d.center("nam-cuong")
    with pytest.raises(NotFound, match="unknown line 'astrology' in center 'nam-cuong'"):
        c.line("astrology")
    with pytest.raises(NotFound, match="unknown counter 'Q9'"):
        c.counter("Q9")


def test_a_counter_may_be_opened_for_other_lines() -> None:
    c = load_directory().center("nam-cuong")
    spec = c.counter("Q1")
    assert c.lines_for_counter(spec, None) == ["justice"]
    assert c.lines_for_counter(spec, ["land", "justice", "land"]) == ["land", "justice"]
    with pytest.raises(Invalid):
        c.lines_for_counter(spec, [])
    with pytest.raises(NotFound):
        c.lines_for_counter(spec, ["astrology"])


def _sample() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DEFAULT_FILE.read_text(encoding="utf-8"))
    return data


def _broken(change: Any) -> dict[str, Any]:
    data = copy.deepcopy(_sample())
    change(data["centers"][0])
    return data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c["lines"][1].update(prefix="A"), "repeats a code or prefix"),
        (lambda c: c["counters"][0].update(line_codes=["astrology"]), "must serve known lines"),
        (lambda c: c["counters"].append(c["counters"][0]), "listed twice"),
        (lambda c: c.update(timezone="Mars/Olympus"), "unknown timezone"),
        (lambda c: c["lines"][0].update(default_service_seconds=0), "positive integer"),
        (lambda c: c.pop("name"), "'name' must be a non-empty string"),
        (
            lambda c: c["lines"].append({"code": "astrology", "prefix": "Z"}),
            "'astrology' is not a shared service line: name it",
        ),
    ],
)
def test_an_inconsistent_file_is_refused(change: Any, message: str) -> None:
    with pytest.raises(DirectoryError, match=message):
        Directory.from_dict(_broken(change), service_lines())


def test_an_unreadable_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "centers.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(DirectoryError, match="cannot read"):
        load_directory(path)


def test_the_registry_replaces_adds_and_retires_centers() -> None:
    from motcua.shared.events.catalog import CenterConfigured

    def configured(center_id: str, revision: int, **fields: Any) -> CenterConfigured:
        return CenterConfigured.model_validate(
            {
                "center_id": center_id,
                "name": f"Trung tâm {center_id}",
                "name_en": "A center",
                "code": "X",
                "lines": [
                    {"code": "justice", "prefix": "A"},
                    {"code": "own", "prefix": "Z", "name": "Riêng"},
                ],
                "counters": [
                    {"counter_id": "K1", "name": "Quầy K1", "line_codes": ["justice", "own"]}
                ],
                "revision": revision,
                **fields,
            }
        )

    standard = service_lines()
    start = load_directory()
    added = start.configured(configured("bac-ha", 1), standard)
    assert set(added.centers) == {"nam-cuong", "bac-ha"}
    assert set(start.centers) == {"nam-cuong"}  # a new directory, the old one untouched
    bac_ha = added.center("bac-ha")
    assert bac_ha.line("justice").name == "Tư pháp – Hộ tịch"  # from the shared list
    assert (bac_ha.line("own").name, bac_ha.line("own").name_en) == ("Riêng", "Riêng")
    assert bac_ha.counter("K1").line_codes == ("justice", "own")
    replaced = added.configured(configured("nam-cuong", 2, name="Tên mới"), standard)
    assert replaced.center("nam-cuong").name == "Tên mới"
    assert list(replaced.center("nam-cuong").counters) == ["K1"]
    retired = replaced.configured(configured("bac-ha", 2, active=False), standard)
    with pytest.raises(NotFound):
        retired.center("bac-ha")
