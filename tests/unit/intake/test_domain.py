"""The pure rules: the transition table, codes, secrets, business time."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from motcua.services.intake import domain
from motcua.services.intake.catalog import load_statuses
from motcua.services.intake.domain import (
    TRANSITIONS,
    Lifecycle,
    Op,
    StatusInfo,
    StatusList,
    Step,
)
from motcua.services.intake.errors import InvalidInput, InvalidTransition

STATUSES = load_statuses().statuses
LIFECYCLE = Lifecycle(STATUSES)
ALL = [(op, s.code) for op in Op for s in STATUSES.all()]


def test_the_status_list_is_the_lifecycle_each_step_mapped_to_a_portal_code() -> None:
    """(lifecycle code, key, the national portal's code; docs/portal-statuses.md)."""
    assert [(s.code, s.key.value, s.portal) for s in STATUSES.all()] == [
        (1, "registered", 1),
        (2, "received", 2),
        (3, "processing", 4),
        (4, "transferred", 4),
        (5, "supplement_requested", 5),
        (6, "financial_obligation", 6),
        (7, "returned_for_rework", 4),
        (8, "stopped", 8),
        (9, "resolved", 9),
        (10, "result_returned", 10),
        (11, "not_accepted", 3),
        (12, "withdrawn", 7),
    ]
    # Every portal code is reachable: some lifecycle step reports each of them.
    assert {s.portal for s in STATUSES.all()} == set(range(1, 11))
    assert {s.code for s in STATUSES.all() if s.clock == "paused"} == {5, 6}


def test_the_table_states_the_business_rules() -> None:
    """Written out by status code, independently of the table, so a change to either
    must be deliberate."""
    open_ = {2, 3, 4, 7}
    expected = {
        Op.ACCEPT: ({1}, 2),
        Op.NOT_ACCEPT: ({1}, 11),
        Op.TRANSFER: ({2, 3, 7}, 4),
        Op.TRANSFER_BACK: ({4}, 3),
        Op.RETURN_FOR_REWORK: ({3}, 7),
        Op.ASSIGN: (open_, 3),
        Op.REQUEST_SUPPLEMENT: (open_, 5),
        Op.PROVIDE_SUPPLEMENT: ({5}, 3),
        Op.NOTIFY_FINANCIAL_OBLIGATION: (open_, 6),
        Op.FULFIL_FINANCIAL_OBLIGATION: ({6}, 3),
        Op.RESOLVE: (open_, 9),
        Op.RETURN_RESULT: ({9}, 10),
        Op.WITHDRAW: (open_ | {1, 5, 6}, 12),
        Op.STOP: (open_ | {5, 6}, 8),
    }
    actual = {
        op: ({STATUSES.code(s) for s in sources}, STATUSES.code(target))
        for op, (sources, target) in TRANSITIONS.items()
    }
    assert actual == expected


@pytest.mark.parametrize(("op", "code"), ALL)
def test_each_move_is_allowed_exactly_when_the_table_says(op: Op, code: int) -> None:
    sources, target = TRANSITIONS[op]
    step = STATUSES.info(code).key
    if step in sources:
        assert LIFECYCLE.next_status(op, code) == STATUSES.code(target)
        assert op in LIFECYCLE.allowed(code)
    else:
        with pytest.raises(InvalidTransition) as caught:
            LIFECYCLE.next_status(op, code)
        assert caught.value.allowed == LIFECYCLE.allowed(code)
        assert op not in caught.value.allowed
        assert f"cannot {op}" in str(caught.value)


def test_closed_dossiers_allow_nothing_and_say_so() -> None:
    for code in (STATUSES.code(Step.STOPPED), STATUSES.code(Step.RESULT_RETURNED)):
        assert LIFECYCLE.allowed(code) == []
        with pytest.raises(InvalidTransition, match="none \\(the dossier is closed\\)"):
            LIFECYCLE.next_status(Op.ASSIGN, code)
    assert LIFECYCLE.allowed(STATUSES.code(Step.RESOLVED)) == [Op.RETURN_RESULT]


@given(st.lists(st.sampled_from(list(Op)), max_size=30))
def test_any_sequence_of_operations_stays_on_the_list(ops: list[Op]) -> None:
    code = LIFECYCLE.received
    for op in ops:
        try:
            code = LIFECYCLE.next_status(op, code)
        except InvalidTransition:
            continue
        assert code in STATUSES.by_code  # a code of the list, never one outside it
    if STATUSES.info(code).clock == "stopped" and code != STATUSES.code(Step.RESOLVED):
        assert LIFECYCLE.allowed(code) == []


def test_a_status_list_must_cover_every_step() -> None:
    partial = [StatusInfo(1, Step.REGISTERED, "a", "a", "not_started", 1)]
    with pytest.raises(ValueError, match="lacks"):
        StatusList(partial)


def test_codes_carry_center_day_and_sequence() -> None:
    center = domain.center_code("nam-cuong", {"nam-cuong": "NC"})
    assert domain.dossier_code(domain.code_prefix(center, date(2026, 3, 2)), 7) == (
        "NC-20260302-0007"
    )
    assert domain.center_code("Phuong-7_b", {}) == "PHUONG7B"
    assert len(domain.center_code("x" * 64, {})) == 32


@given(st.text(alphabet=domain.SECRET_ALPHABET, min_size=10, max_size=10))
def test_secrets_are_readable_and_forgiving_to_type(raw: str) -> None:
    secret = domain.format_secret(raw)
    assert len(secret) == 11
    assert secret[5] == "-"
    assert set(secret.replace("-", "")) <= set(domain.SECRET_ALPHABET)
    stored = domain.hash_secret(secret, PEPPER)
    assert domain.secret_matches(secret.lower().replace("-", " "), stored, PEPPER)
    assert domain.secret_matches(secret.replace("0", "O").replace("1", "I"), stored, PEPPER)
    assert not domain.secret_matches(secret[:-1], stored, PEPPER)


def test_new_secrets_differ() -> None:
    assert len({domain.new_secret() for _ in range(1000)}) == 1000


def test_an_unknown_code_never_matches_any_secret() -> None:
    assert not domain.secret_matches("0000000000", None, PEPPER)
    assert not domain.secret_matches("", None, PEPPER)


PEPPER = b"p" * 32


def test_the_stored_hash_is_keyed_with_the_pepper_and_old_hashes_still_match() -> None:
    secret = "K7Q2M-9XD4T"
    plain = hashlib.sha256(b"motcua-lookup-v1:K7Q2M9XD4T").digest()  # stored before
    stored = domain.hash_secret(secret, PEPPER)
    # Not crackable from the database alone: no hash of the secret without the pepper.
    assert plain not in stored
    assert stored == domain.PEPPERED + hmac.digest(PEPPER, plain, "sha256")
    assert not domain.secret_matches(secret, stored, b"q" * 32)
    # A row of before still matches, and once its stored hash is keyed, matches too.
    assert domain.is_unpeppered(plain)
    assert domain.secret_matches(secret, plain, PEPPER)
    assert not domain.secret_matches("K7Q2M-9XD4A", plain, PEPPER)
    assert domain.pepper_hash(plain, PEPPER) == stored
    assert not domain.is_unpeppered(stored)


def test_business_time_is_kept_in_order_and_never_in_the_future() -> None:
    now = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
    grace = timedelta(minutes=5)
    last = now - timedelta(minutes=1)
    lagging = now - timedelta(minutes=2)
    assert domain.effective_time(lagging, now=now, not_before=last, grace=grace) == last
    assert domain.effective_time(now, now=now, not_before=last, grace=grace) == now
    with pytest.raises(InvalidInput, match="future"):
        domain.effective_time(now + timedelta(hours=1), now=now, not_before=None, grace=grace)
    assert domain.is_backdated(now - timedelta(hours=1), now=now, grace=grace)
    assert not domain.is_backdated(now - timedelta(minutes=1), now=now, grace=grace)
