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
