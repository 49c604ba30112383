"""Tokens scoped to a center, sealed contacts, and Kafka client security settings."""

from __future__ import annotations

import ssl
import time

import pytest
from fastapi import HTTPException
from pydantic import SecretStr

from motcua.shared.auth import AuthError, issue_token, verify_token
from motcua.shared.bus.kafka import faststream_security, takes_idempotence
from motcua.shared.crypto import SealError, seal, unseal
from motcua.shared.settings import KafkaSettings


def test_token_round_trip_and_center_scope() -> None:
    token = issue_token("s3cret", center_id="nam-cuong", subject="clerk-1")
    p = verify_token("s3cret", token)
    assert (p.center_id, p.subject, p.role) == ("nam-cuong", "clerk-1", "clerk")
    p.require_center("nam-cuong")
    with pytest.raises(HTTPException) as err:
        p.require_center("other-ward")
    assert err.value.status_code == 403


@pytest.mark.parametrize(
    "mutate", [lambda t: t + "x", lambda t: t.replace("v1.", "v2."), lambda t: "junk"]
)
def test_forged_or_malformed_tokens_fail(mutate: object) -> None:
    token = issue_token("s3cret", center_id="c", subject="s")
    with pytest.raises(AuthError):
        verify_token("s3cret", mutate(token))  # type: ignore[operator]
    with pytest.raises(AuthError):
        verify_token("other-secret", token)


def test_expired_token_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    now = time.time()
    monkeypatch.setattr("motcua.shared.auth.time.time", lambda: now - 7200)
    token = issue_token("s", center_id="c", subject="s", ttl=3600)
    monkeypatch.setattr("motcua.shared.auth.time.time", lambda: now)
    with pytest.raises(AuthError, match="expired"):
        verify_token("s", token)


def test_sealed_contact_opens_only_with_key_and_context() -> None:
    sealed = seal("key", "0912345678", context="evt-1")
    assert "0912345678" not in sealed
    assert unseal("key", sealed, context="evt-1") == "0912345678"
    with pytest.raises(SealError):
        unseal("wrong", sealed, context="evt-1")
    with pytest.raises(SealError):
        unseal("key", sealed, context="evt-2")


def test_producers_always_wait_for_every_replica() -> None:
    assert KafkaSettings().producer_options(idempotent=True)["enable_idempotence"] is True
    opts = KafkaSettings().producer_options(idempotent=False)
    assert opts["enable_idempotence"] is False
    assert opts["acks"] == "all"


@pytest.mark.parametrize("setting", ["on", "off"])
async def test_an_explicit_idempotence_setting_asks_no_broker(setting: str) -> None:
    # Nothing listens on port 9: a question to the broker would fail.
    settings = KafkaSettings(bootstrap_servers="127.0.0.1:9", idempotence=setting)
    assert await takes_idempotence(settings) is (setting == "on")


def test_consumers_wait_at_the_broker_as_long_as_suits_it() -> None:
    """Kafka answers a waiting fetch when an event comes, so its default stays; the
    embedded broker answers late within the wait, so its consumers wait less. Which one it
    is, the broker says at start-up; until then the options carry no wait unless set."""
    assert KafkaSettings().fetch_wait_ms(answers_late=False) == 500
    assert KafkaSettings().fetch_wait_ms(answers_late=True) == 100
    assert "fetch_max_wait_ms" not in KafkaSettings().consumer_options()
    chosen = KafkaSettings(fetch_max_wait_ms=250)
    assert chosen.fetch_wait_ms(answers_late=True) == 250
    assert chosen.consumer_options()["fetch_max_wait_ms"] == 250
    assert chosen.consumer_options()["session_timeout_ms"] == KafkaSettings().session_timeout_ms


def test_sasl_scram_over_tls_reaches_the_clients(tmp_path: object) -> None:
    s = KafkaSettings(
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="motcua",
        sasl_password=SecretStr("pw"),
    )
    opts = s.client_options()
    assert opts["security_protocol"] == "SASL_SSL"
    assert opts["sasl_mechanism"] == "SCRAM-SHA-512"
    assert opts["sasl_plain_username"] == "motcua"
    assert isinstance(opts["ssl_context"], ssl.SSLContext)
    sec = faststream_security(s)
    assert type(sec).__name__ == "SASLScram512"
    with pytest.raises(ValueError, match="SASL"):
        KafkaSettings(security_protocol="SASL_PLAINTEXT").client_options()
