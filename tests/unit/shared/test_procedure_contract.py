"""The procedure contract: one definition shared by intake's catalog and the registry's
``procedure.configured`` event."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from motcua.services.intake.catalog import Procedure, load_catalog
from motcua.shared.calendar import TimeUnit
from motcua.shared.events.catalog import ProcedureConfig, ProcedureConfigured
from motcua.shared.events.topics import REGISTRY, stream_of


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
