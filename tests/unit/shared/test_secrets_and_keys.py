"""Secrets with no usable default outside dev mode, the contact keyring, and the
lifetime and revocation of clerk tokens."""

from __future__ import annotations

import base64
import json
import secrets
import time
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from motcua.devtools import cli
from motcua.services.deadlines.settings import DeadlinesSettings
from motcua.services.intake.settings import IntakeSettings
from motcua.services.notify.settings import NotifySettings
from motcua.services.queue.settings import QueueSettings
from motcua.shared.auth import (
    AuthError,
    CurrentPrincipal,
    Principal,
    issue_token,
    token_id,
    verify_for,
    verify_token,
)
from motcua.shared.crypto import BUS, Keyring, SealError, derive_key, seal
from motcua.shared.runtime import ServiceRuntime
from motcua.shared.settings import ServiceSettings, UnsafeSecret, secret_problem

STRONG = "x" * 8 + secrets.token_urlsafe(32)
SECRETS = {
    "auth_secret": SecretStr(STRONG + "a"),
    "contact_key": SecretStr(STRONG + "c"),
}
NOTIFY_SECRETS = SECRETS | {
    "inbound_secret": SecretStr(STRONG + "i"),
    "link_key": SecretStr(STRONG + "l"),
    "channels": {"sms": "json://gw.example/sms"},
}


def production(cls: type[ServiceSettings], **values: object) -> ServiceSettings:
    return cls(dev_mode=False, **values)


# ---------------------------------------------------------------- default secrets


@pytest.mark.parametrize(
    ("cls", "extra"),
    [
        (QueueSettings, {}),
        (IntakeSettings, {"lookup_pepper": SecretStr(STRONG + "p")}),
        (DeadlinesSettings, {}),
        (NotifySettings, NOTIFY_SECRETS),
    ],
)
@pytest.mark.parametrize(
    ("field", "env", "value"),
    [
        ("auth_secret", "MOTCUA_AUTH_SECRET", None),  # its development default
        ("auth_secret", "MOTCUA_AUTH_SECRET", "please-change-me-" + "z" * 40),
        ("auth_secret", "MOTCUA_AUTH_SECRET", "short-but-random-Q9x"),
        ("contact_key", "MOTCUA_CONTACT_KEY", None),
    ],
)
def test_a_service_refuses_to_start_with_a_public_or_weak_secret(
    cls: type[ServiceSettings], extra: dict[str, object], field: str, env: str, value: str | None
) -> None:
    values = {**SECRETS, **extra}
    if value is None:
        del values[field]
    else:
        values[field] = SecretStr(value)
    settings = production(cls, **values)
    with pytest.raises(UnsafeSecret, match=env):
        settings.check_production()
    with pytest.raises(UnsafeSecret, match=env):
        ServiceRuntime("probe", settings, Path("."))
    # In dev mode the same settings run.
    cls(dev_mode=True, **values).check_production()


@pytest.mark.parametrize(
    ("cls", "field", "env", "extra"),
    [
        (NotifySettings, "inbound_secret", "MOTCUA_NOTIFY_INBOUND_SECRET", NOTIFY_SECRETS),
        (NotifySettings, "link_key", "MOTCUA_NOTIFY_LINK_KEY", NOTIFY_SECRETS),
        (IntakeSettings, "lookup_pepper", "MOTCUA_INTAKE_LOOKUP_PEPPER", SECRETS),
    ],
)
def test_every_service_secret_is_checked_by_its_own_variable(
    cls: type[ServiceSettings], field: str, env: str, extra: dict[str, object]
) -> None:
    values = {**SECRETS, **extra, "lookup_pepper": SecretStr(STRONG + "p")}
    values.pop(field)
    if cls is not IntakeSettings:
        values.pop("lookup_pepper")
    with pytest.raises(UnsafeSecret, match=env):
        production(cls, **values).check_production()
    production(cls, **values, **{field: SecretStr(STRONG + "new")}).check_production()


def test_old_contact_keys_and_the_sasl_password_are_secrets_too() -> None:
    weak = production(QueueSettings, **SECRETS, contact_old_keys={"k0": SecretStr("old")})
    with pytest.raises(UnsafeSecret, match="MOTCUA_CONTACT_OLD_KEYS"):
        weak.check_production()
    old_links = NOTIFY_SECRETS | {"link_old_keys": [SecretStr("short")]}
    with pytest.raises(UnsafeSecret, match="MOTCUA_NOTIFY_LINK_OLD_KEYS"):
        production(NotifySettings, **old_links).check_production()
    kafka = {
        "security_protocol": "SASL_SSL",
        "sasl_username": "queue",
        "sasl_password": SecretStr("changeme"),
    }
    with pytest.raises(UnsafeSecret, match="MOTCUA_KAFKA_SASL_PASSWORD"):
        production(QueueSettings, **SECRETS, kafka=kafka).check_production()
    # Where SASL is not spoken the password is unused (compose leaves it empty).
    plain = kafka | {"security_protocol": "PLAINTEXT", "sasl_password": SecretStr("")}
    production(QueueSettings, **SECRETS, kafka=plain).check_production()


def test_what_counts_as_unsafe() -> None:
    assert secret_problem("dev-only-secret-change-me", "dev-only-secret-change-me")
    assert secret_problem("CHANGE_ME" + "k" * 40, None) == "is a placeholder"
    assert secret_problem("é" * 15, None) == "is shorter than 32 bytes"
    assert secret_problem("é" * 16, None) is None  # bytes, not characters
    assert secret_problem(STRONG, None) is None


def test_motcua_token_refuses_outside_dev_mode(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MOTCUA_DEV_MODE", "false")
    monkeypatch.delenv("MOTCUA_AUTH_SECRET", raising=False)
    assert cli.main(["token", "--center", "c", "--subject", "s", "--role", "admin"]) == 2
    out = capsys.readouterr()
    assert out.out == ""
    assert "MOTCUA_AUTH_SECRET" in out.err
    monkeypatch.setenv("MOTCUA_AUTH_SECRET", STRONG)
    monkeypatch.setenv("MOTCUA_CONTACT_KEY", STRONG + "c")
    assert cli.main(["token", "--center", "c", "--subject", "s"]) == 0
    token = capsys.readouterr().out.strip()
    assert verify_token(STRONG, token).center_id == "c"
    assert cli.main(["token", "--center", "c", "--subject", "s", "--ttl", str(10**8)]) == 2
    assert "at most" in capsys.readouterr().err


# ------------------------------------------------------------------ dev inbox


def test_notify_refuses_the_dev_inbox_and_no_channel_outside_dev_mode() -> None:
    inbox = production(NotifySettings, **NOTIFY_SECRETS, dev_inbox=True)
    with pytest.raises(UnsafeSecret, match="MOTCUA_NOTIFY_DEV_INBOX"):
        inbox.check_production()
    silent = NOTIFY_SECRETS | {"channels": {}}
    with pytest.raises(UnsafeSecret, match="no channel is configured"):
        production(NotifySettings, **silent).check_production()
    production(NotifySettings, **NOTIFY_SECRETS).check_production()
    # A center's own channels count.
    per_center = silent | {"centers": {"c": {"channels": {"sms": "json://gw/sms"}}}}
    production(NotifySettings, **per_center).check_production()


# -------------------------------------------------------------------- keyring


def test_new_values_are_sealed_with_the_newest_key_and_old_ones_still_open() -> None:
    old = Keyring("k1", {"k1": "first"}, BUS)
    sealed_before = old.seal("+84912345678", "t-1")
    assert sealed_before.key_id == "k1"
    rotated = Keyring("k2", {"k1": "first", "k2": "second"}, BUS)
    sealed_after = rotated.seal("+84912345678", "t-1")
    assert sealed_after.key_id == "k2"
    assert rotated.open(*sealed_before, "t-1") == "+84912345678"
    assert rotated.open(*sealed_after, "t-1") == "+84912345678"
    with pytest.raises(SealError):
        old.open(*sealed_after, "t-1")  # a ring without k2
    with pytest.raises(SealError):
        rotated.open("k2", sealed_before.sealed, "t-1")  # the key id is read, not guessed
    text = rotated.seal_text("body", "d-1")
    assert text.startswith("k2.")
    assert rotated.is_current(text)
    assert rotated.open_text(text, "d-1") == "body"
    assert not Keyring("k1", {"k1": "x"}, "at-rest").is_current(text)


def test_a_purpose_keeps_uses_of_one_ring_apart() -> None:
    bus = Keyring("k1", {"k1": "same"}, BUS).seal("v", "c")
    with pytest.raises(SealError):
        Keyring("k1", {"k1": "same"}, "motcua-notify-at-rest").open(*bus, "c")


def test_keys_come_from_hkdf_and_values_sealed_before_it_still_open() -> None:
    # RFC 5869 HKDF-SHA256 with our salt and the purpose as info, not a bare hash.
    import hashlib
    import hmac

    prk = hmac.digest(b"motcua-hkdf-v1", b"secret", "sha256")
    okm = hmac.digest(prk, b"purpose" + b"\x01", "sha256")
    assert derive_key("secret", "purpose") == okm
    assert derive_key("secret", "purpose") != hashlib.sha256(b"secret").digest()
    # Sealed by a producer of before (the bare SHA-256 derivation), still in a topic.
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    legacy = AESGCM(hashlib.sha256(b"motcua-contact-v1:key").digest())
    nonce = b"\x00" * 12
    sealed = base64.urlsafe_b64encode(nonce + legacy.encrypt(nonce, b"v", b"ctx")).decode()
    assert Keyring("k1", {"k1": "key"}, BUS).open("k1", sealed, "ctx") == "v"
    assert Keyring("k1", {"k1": "key"}, BUS).open_text(sealed, "ctx") == "v"  # no key id
    assert seal("key", "v", "ctx") != sealed


def test_the_service_settings_build_the_ring_from_the_current_and_old_keys() -> None:
    s = QueueSettings(
        contact_key=SecretStr("new"),
        contact_key_id="k2",
        contact_old_keys={"k1": SecretStr("old")},
    )
    ring = s.contact_keyring(BUS)
    assert ring.current_id == "k2"
    assert ring.open(*Keyring("k1", {"k1": "old"}, BUS).seal("v"), "") == "v"


# --------------------------------------------------------------------- tokens


def _claims(token: str) -> dict[str, object]:
    body = token.split(".")[1]
    loaded: dict[str, object] = json.loads(base64.urlsafe_b64decode(body + "=="))
    return loaded


def _signed(secret: str, claims: dict[str, object]) -> str:
    import hashlib
    import hmac

    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    mac = hmac.digest(secret.encode(), f"v1.{body}".encode(), hashlib.sha256)
    return f"v1.{body}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def test_a_token_lives_at_most_the_maximum_when_issued_and_when_checked() -> None:
    with pytest.raises(ValueError, match="at most"):
        issue_token("s", center_id="c", subject="u", ttl=13 * 3600)
    with pytest.raises(ValueError, match="at most"):
        issue_token("s", center_id="c", subject="u", ttl=0)
    now = int(time.time())
    long_lived = {"c": "c", "s": "u", "r": "admin", "i": "x", "a": now, "e": now + 10**8}
    with pytest.raises(AuthError, match="longer"):
        verify_token("s", _signed("s", long_lived))
    # Dated in the future to stretch its life: refused too.
    future = long_lived | {"a": now + 10**8 - 3600}
    with pytest.raises(AuthError, match="longer"):
        verify_token("s", _signed("s", future))
    # A deployment may lower the cap.
    token = issue_token("s", center_id="c", subject="u", ttl=3 * 3600)
    with pytest.raises(AuthError, match="longer"):
        verify_token("s", token, max_ttl=3600)


def test_a_token_without_an_id_or_issue_time_is_refused() -> None:
    now = int(time.time())
    with pytest.raises(AuthError, match="malformed"):
        verify_token("s", _signed("s", {"c": "c", "s": "u", "r": "clerk", "e": now + 60}))


def test_a_revoked_token_is_refused_by_every_service_reading_the_list() -> None:
    token = issue_token(STRONG, center_id="c", subject="u")
    tid = token_id(token)
    assert _claims(token)["i"] == tid
    kept = QueueSettings(auth_secret=SecretStr(STRONG))
    assert verify_for(kept, token).token_id == tid
    for cls in (QueueSettings, IntakeSettings, DeadlinesSettings, NotifySettings):
        revoked = cls(auth_secret=SecretStr(STRONG), revoked_tokens=[tid])
        with pytest.raises(AuthError, match="revoked"):
            verify_for(revoked, token)
    other = issue_token(STRONG, center_id="c", subject="u")
    assert verify_for(QueueSettings(auth_secret=SecretStr(STRONG), revoked_tokens=[tid]), other)


def test_the_bearer_dependency_answers_401_for_revoked_and_non_ascii_signatures() -> None:
    app = FastAPI()

    class Runtime:
        settings = QueueSettings(auth_secret=SecretStr(STRONG))

    app.state.runtime = Runtime()

    @app.get("/me")
    async def me(principal: CurrentPrincipal) -> dict[str, str]:
        assert isinstance(principal, Principal)
        return {"center": principal.center_id}

    client = TestClient(app)
    token = issue_token(STRONG, center_id="c", subject="u")
    ok = client.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200
    head, _, _ = token.rpartition(".")
    # Latin-1 in a header: compare_digest on such a str raised, a 500.
    forged = f"{head}.sig\u00e9\u00e8".encode("latin-1")
    bad = client.get("/me", headers={"Authorization": b"Bearer " + forged})
    assert bad.status_code == 401
    assert bad.json()["detail"] == "invalid token signature"
    Runtime.settings = QueueSettings(
        auth_secret=SecretStr(STRONG), revoked_tokens=[token_id(token)]
    )
    gone = client.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert gone.status_code == 401
    assert gone.json()["detail"] == "token revoked"


def test_non_ascii_signature_is_an_auth_error_not_a_crash() -> None:
    token = issue_token("s", center_id="c", subject="u")
    head, _, _ = token.rpartition(".")
    with pytest.raises(AuthError, match="signature"):
        verify_token("s", head + ".\u00e9\u00e8\u4e2d")
