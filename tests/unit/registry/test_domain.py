"""The registry's rules: a revision per change, none for an unchanged document, stale
and missing revisions refused."""

from __future__ import annotations

import pytest

from motcua.services.registry.domain import as_stored, check, plan
from motcua.services.registry.errors import Invalid, RevisionRequired, StaleRevision
from motcua.services.registry.schemas import CenterDocument
from motcua.shared.reference.lines import service_lines

DOC = CenterDocument.model_validate(
    {
        "center_id": "bac-ha",
        "name": "Bắc Hà",
        "name_en": "Bac Ha",
        "code": "BH",
        "lines": [{"code": "justice", "prefix": "A"}],
        "counters": [{"counter_id": "Q1", "name": "Quầy 1", "line_codes": ["justice"]}],
    }
)


def changed(**fields: object) -> CenterDocument:
    return CenterDocument.model_validate({**DOC.model_dump(), **fields})


def test_a_new_center_is_revision_one_and_each_change_adds_one() -> None:
    first = plan("bac-ha", None, DOC, expected=None, require_expected=True)
    assert first is not None
    assert first.revision == 1
    assert first.before is None
    renamed = changed(name="Bắc Hà mới")
    second = plan("bac-ha", (1, first.after), renamed, expected=1, require_expected=True)
    assert second is not None
    assert second.revision == 2
    assert second.before == first.after
    assert second.after["name"] == "Bắc Hà mới"
    assert second.event_payload().revision == 2


def test_an_unchanged_document_makes_no_revision() -> None:
    assert plan("bac-ha", (4, as_stored(DOC)), DOC, expected=None, require_expected=False) is None


def test_a_stale_or_missing_revision_is_refused() -> None:
    with pytest.raises(StaleRevision, match="at revision 3, not 2"):
        plan("bac-ha", (3, as_stored(DOC)), changed(code="BX"), expected=2, require_expected=True)
    with pytest.raises(RevisionRequired):
        plan(
            "bac-ha", (3, as_stored(DOC)), changed(code="BX"), expected=None, require_expected=True
        )
    with pytest.raises(StaleRevision):  # creating a center that someone else just created
        plan("bac-ha", None, DOC, expected=5, require_expected=True)


def test_cross_field_rules_name_the_field() -> None:
    two = changed(lines=[{"code": "justice", "prefix": "A"}, {"code": "land", "prefix": "A"}])
    with pytest.raises(Invalid) as caught:
        check(two, service_lines())
    assert caught.value.field == "lines[1].prefix"
    own = changed(lines=[{"code": "bees", "prefix": "A"}])
    with pytest.raises(Invalid, match="not a shared service line"):
        check(own, service_lines())
    with pytest.raises(Invalid) as caught:
        check(changed(timezone="Mars/Olympus"), service_lines())
    assert caught.value.field == "timezone"
    with pytest.raises(Invalid) as caught:
        check(changed(counters=[DOC.counters[0], DOC.counters[0]]), service_lines())
    assert caught.value.field == "counters[1].counter_id"
