"""Reference data is defined once: every service and the simulator name statuses and
service lines from the shared tables, and the services show the same names."""

from __future__ import annotations

import json

from motcua.services.deadlines import queries
from motcua.services.intake.catalog import PROCEDURES_FILE, load_catalog, load_statuses
from motcua.services.intake.domain import TRANSITIONS, Step
from motcua.services.intake.schemas.responses import StatusOut
from motcua.services.queue.directory import DEFAULT_FILE, load_directory
from motcua.shared.events.catalog import DOSSIER_EVENTS, DossierFacts
from motcua.shared.reference.lines import service_lines
from motcua.shared.reference.statuses import portal_statuses
from motcua.simulator import live
from motcua.simulator.workload import WARD_MIX

STATUS_FIELD = DossierFacts.model_json_schema()["properties"]["status"]
EVENT_CODES = range(STATUS_FIELD["minimum"], STATUS_FIELD["maximum"] + 1)


def test_every_status_the_services_use_is_in_the_one_table() -> None:
    table = portal_statuses()
    keys = {s.key for s in table.statuses}
    # intake: each step its lifecycle rules name, and every step a transition leads to.
    assert {step.value for step in Step} <= keys
    for starts, goal in TRANSITIONS.values():
        assert {s.value for s in starts | {goal}} <= keys
    # Every code a dossier event may carry, which deadlines shows as the current step.
    for code in EVENT_CODES:
        assert table.get(code) is not None, code
        assert queries.step_label(code) != f"status {code}"
    # Every dossier event has its label on the citizen's timeline.
    assert {kind.EVENT_TYPE for kind in DOSSIER_EVENTS} <= set(table.event_labels)


def test_intake_and_deadlines_name_a_status_alike() -> None:
    book = load_statuses()
    for code in EVENT_CODES:
        shown = StatusOut.of(book.statuses.info(code))  # intake's API and lookup page
        assert queries.step_label(code) == f"{shown.name_vi} ({shown.name_en.lower()})"
    assert queries.step_label(5) == "Yêu cầu bổ sung hồ sơ (supplement requested)"


def test_every_line_code_is_a_shared_service_line() -> None:
    shared = service_lines()
    codes = set(shared.codes())
    for center in load_directory().centers.values():  # queue's packaged centers
        assert set(center.lines) <= codes, center.center_id
        for line in center.lines.values():
            named = shared.get(line.code)
            assert named is not None
            assert (line.name, line.name_en) == (named.name.vi, named.name.en)
    raw = json.loads(DEFAULT_FILE.read_text(encoding="utf-8"))
    assert all("name" not in line for c in raw["centers"] for line in c["lines"])
    catalog = load_catalog()  # intake's procedures, with no line of their own
    assert not catalog.service_lines
    assert {p.line_code for p in catalog.procedures} <= codes
    assert "service_lines" not in json.loads(PROCEDURES_FILE.read_text(encoding="utf-8"))
    # The simulator's parameters cover exactly the shared lines.
    assert set(live.LINE_WEIGHTS) == set(live.SERVICE_MINUTES) == codes
    for line, procedures in live.PROCEDURES_BY_LINE.items():
        for code in procedures:
            procedure = catalog.get(code)
            assert procedure is not None, code
            assert procedure.line_code == line, code


def test_the_simulated_history_uses_the_catalog_time_limits() -> None:
    catalog = load_catalog()
    for share in WARD_MIX:
        procedure = catalog.get(share.code)
        assert procedure is not None, share.code
        assert procedure.time_limit.limit() == share.limit, share.code
