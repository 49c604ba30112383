"""The bus's grants: one writer per topic, its owner; readers write only their DLQs."""

from __future__ import annotations

from motcua.devtools.services import ROOT
from motcua.shared.events.access import READS, WRITERS, grants, may_write, user_of
from motcua.shared.events.catalog import ALL_EVENTS
from motcua.shared.events.topics import DLQ_SUFFIX, STREAMS, belongs_on, stream_of


def test_every_topic_has_exactly_its_owner_as_writer() -> None:
    for stream in STREAMS:
        writers = {o for o in WRITERS if may_write(o, stream.topic("p."), "p.")}
        assert writers == {stream.owner}, stream.name


def test_a_dead_letter_topic_is_written_only_by_the_readers_of_its_topic() -> None:
    for stream in STREAMS:
        writers = {o for o in WRITERS if may_write(o, stream.dlq())}
        readers = {o for o in WRITERS if stream in READS[o] and o != "clerk-apps"}
        assert writers == readers, stream.name


def test_grants_are_allow_only_reads_and_writes_with_prefixed_groups() -> None:
    for g in grants("p."):
        assert g.operation in ("Read", "Write")
        if g.resource == "Group":
            assert g.pattern == "prefixed"
            assert g.operation == "Read"
            assert g.name.startswith("p.motcua-")
        else:
            assert g.pattern == "literal"
            assert g.name.startswith("p.")
    assert {g.user for g in grants()} == {user_of(o) for o in WRITERS}


def test_every_event_type_belongs_on_its_streams_topic_only() -> None:
    for payload in ALL_EVENTS:
        home = stream_of(payload.EVENT_TYPE)
        for stream in STREAMS:
            for prefix in ("", "t42."):
                assert belongs_on(payload.EVENT_TYPE, stream.topic(prefix)) == (stream is home)
        assert not belongs_on(payload.EVENT_TYPE, home.topic() + DLQ_SUFFIX)
    assert not belongs_on("dossier.teleported", "dossier.events")


def test_the_security_page_lists_every_topic_with_its_owner() -> None:
    page = (ROOT / "docs" / "security" / "bus.md").read_text(encoding="utf-8")
    for stream in STREAMS:
        assert f"| `{stream.name}` | {stream.owner} |" in page, stream.name
    for owner in WRITERS:
        assert f"| `{user_of(owner)}` |" in page, owner


def _rows(page: str, first_header: str) -> dict[str, list[str]]:
    """A markdown table of ``page`` (the one whose header starts with ``first_header``),
    by the first cell, each row's cells stripped."""
    lines = page.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    rows: dict[str, list[str]] = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0].strip("`")] = cells[1:]
    return rows


def _names(cell: str) -> set[str]:
    return {n.strip().strip("`") for n in cell.split(",") if n.strip() not in ("", "—")}


def test_the_security_page_says_who_reads_each_topic_as_the_grants_do() -> None:
    page = (ROOT / "docs" / "security" / "bus.md").read_text(encoding="utf-8")
    topics = _rows(page, "Topic")
    for stream in STREAMS:
        readers = {owner for owner in WRITERS if stream in READS[owner]}
        assert _names(topics[stream.name][2]) == readers, stream.name


def test_the_security_pages_acl_table_is_the_grants() -> None:
    page = (ROOT / "docs" / "security" / "bus.md").read_text(encoding="utf-8")
    table = _rows(page, "User")
    for owner in WRITERS:
        user = user_of(owner)
        mine = [g for g in grants() if g.user == user]
        write, read, groups = (_names(cell) for cell in table[user][:3])
        assert write == {g.name for g in mine if g.operation == "Write"}, user
        assert read == {g.name for g in mine if g.operation == "Read" and g.resource == "Topic"}
        assert groups == {g.name for g in mine if g.resource == "Group"}, user
