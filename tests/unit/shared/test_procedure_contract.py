"""The procedure contract: one definition shared by intake's catalog and the registry's
``procedure.configured`` event."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from motcua.services.intake.catalog import Procedure, as_procedure, load_catalog
from motcua.shared.calendar import TimeUnit
from motcua.shared.events.catalog import ProcedureConfig, ProcedureConfigured
from motcua.shared.events.topics import REGISTRY, stream_of
from motcua.shared.procedures import ProcedureBook


def _first() -> Procedure:
    return load_catalog().procedures[0]


def test_every_packaged_procedure_is_an_event_and_back() -> None:
    for procedure in load_catalog().procedures:
        event = ProcedureConfigured.model_validate(
            {**procedure.model_dump(mode="json"), "revision": 1}
        )
        back = Procedure.model_validate(event.model_dump(mode="json", exclude={"revision"}))
        assert back == procedure
        assert back.time_limit.limit() == procedure.time_limit.limit()


def test_the_event_lives_on_the_registry_stream() -> None:
    assert stream_of("procedure.configured") is REGISTRY
    assert ProcedureConfigured in REGISTRY.events


def test_the_event_needs_a_positive_revision() -> None:
    body = _first().model_dump(mode="json")
    with pytest.raises(ValidationError, match="revision"):
        ProcedureConfigured.model_validate(body)
    with pytest.raises(ValidationError, match="revision"):
        ProcedureConfigured.model_validate({**body, "revision": 0})


def test_the_event_tolerates_a_newer_field_but_the_file_does_not() -> None:
    body = {**_first().model_dump(mode="json"), "later_field": 1}
    assert ProcedureConfigured.model_validate({**body, "revision": 2}).revision == 2
    with pytest.raises(ValidationError, match="later_field"):
        Procedure.model_validate(body)


def test_a_procedure_is_active_until_retired_and_keeps_its_unit() -> None:
    body = _first().model_dump(mode="json")
    assert ProcedureConfig.model_validate(body).active
    retired = ProcedureConfig.model_validate({**body, "active": False})
    assert not retired.active
    assert isinstance(retired.time_limit.unit, TimeUnit)


@pytest.mark.parametrize(
    ("field", "value"),
    [("code", "lower-case"), ("line_code", ""), ("time_limit", {"amount": 1, "unit": "weeks"})],
)
def test_the_contract_names_a_bad_field(field: str, value: object) -> None:
    body = {**_first().model_dump(mode="json"), field: value}
    with pytest.raises(ValidationError, match=field):
        ProcedureConfig.model_validate(body)


def _configured(revision: int, **change: object) -> ProcedureConfigured:
    body = {**_first().model_dump(mode="json"), **change, "revision": revision}
    return ProcedureConfigured.model_validate(body)


def test_the_book_holds_only_newer_revisions() -> None:
    book = ProcedureBook()
    code = _first().code
    assert book.get(code) is None
    assert book.remember(_configured(2, legal_basis="second"))
    assert not book.remember(_configured(1, legal_basis="first"))  # late
    assert not book.remember(_configured(2, legal_basis="again"))  # duplicate
    held = book.get(code)
    assert held is not None
    assert (held.revision, held.legal_basis) == (2, "second")
    assert book.remember(_configured(3, legal_basis="third"))
    assert len(book) == 1


def test_intake_takes_the_registrys_version_of_a_known_field_set() -> None:
    configured = ProcedureConfigured.model_validate(
        {
            **_configured(4, time_limit={"amount": 9, "unit": "working_hours"}).model_dump(
                mode="json"
            ),
            "later_field": "ignored",
        }
    )
    procedure = as_procedure(configured)
    assert isinstance(procedure, Procedure)
    assert procedure.time_limit.limit().amount == 9
    assert procedure.time_limit.unit is TimeUnit.WORKING_HOURS
