"""A follower's book of centers: only a newer revision replaces what it holds."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from motcua.shared.calendar import WorkingCalendar
from motcua.shared.centers import CenterBook, follow
from motcua.shared.events.catalog import CenterConfigured
from motcua.shared.runtime import ServiceRuntime
from motcua.shared.settings import OidcSettings, ServiceSettings


def config(revision: int, **fields: object) -> CenterConfigured:
    return CenterConfigured.model_validate(
        {
            "center_id": "bac-ha",
            "name": f"Bắc Hà r{revision}",
            "name_en": "Bac Ha",
            "code": "BH",
            "lines": [{"code": "justice", "prefix": "A"}],
            "counters": [{"counter_id": "Q1", "name": "Quầy 1", "line_codes": ["justice"]}],
            "revision": revision,
            **fields,
        }
    )


def test_only_a_newer_revision_is_taken() -> None:
    book = CenterBook()
    seen: list[int] = []
    book.listeners.append(lambda c: seen.append(c.revision))
    assert book.remember(config(2))
    assert not book.remember(config(1))  # late
    assert not book.remember(config(2))  # duplicate
    assert book.remember(config(3))
    assert seen == [2, 3]
    assert book.name("bac-ha") == "Bắc Hà r3"
    assert book.name("other", "fallback") == "fallback"


def test_the_calendar_is_the_centers_own_or_the_default() -> None:
    book = CenterBook()
    default = WorkingCalendar.default()
    assert book.calendar("bac-ha", default) is default
    book.remember(config(1, calendar={"extra_days_off": ["2026-03-10"]}))
    own = book.calendar("bac-ha", default)
    assert default.is_working_day(date(2026, 3, 10))
    assert not own.is_working_day(date(2026, 3, 10))


def test_following_the_registry_hands_the_book_to_the_sign_in_check() -> None:
    """The provider's tokens are checked against the centers the service follows
    (tests/unit/shared/test_oidc.py has what that check refuses)."""
    oidc = OidcSettings(issuer="https://sso.example/realms/province")
    runtime = ServiceRuntime("probe", ServiceSettings(dev_mode=True, oidc=oidc), Path("."))
    book = CenterBook()
    follow(runtime, book)
    assert runtime.oidc is not None
    assert runtime.oidc.centers is book
