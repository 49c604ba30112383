"""Roles on the real endpoints: a clerk may not decide a dossier, an unknown role is nobody."""

from __future__ import annotations

import pytest

from motcua.shared.auth import issue_token
from tests.integration.intake.support import CENTER, OP_REQUESTS, Intake


@pytest.mark.parametrize("op", ["resolve", "stop", "return_result"])
async def test_a_clerk_may_not_resolve_stop_or_return_but_an_officer_may(
    intake: Intake, op: str
) -> None:
    dossier = (await intake.receive("HT-XNTTHN"))["dossier"]
    if op == "return_result":
        await intake.drive(dossier["id"], ["resolve"])
    before = await intake.dossier(dossier["id"])
    path, body = OP_REQUESTS[op]
    url = f"/v1/dossiers/{dossier['id']}/{path}"
    refused = await intake.http.post(url, json=body, headers=intake.auth(role="clerk"))
    assert refused.status_code == 403, refused.text
    assert "clerk" in refused.json()["error"]
    assert await intake.dossier(dossier["id"]) == before  # nothing changed
    done = await intake.http.post(url, json=body, headers=intake.auth(role="officer"))
    assert done.status_code == 200, done.text


async def test_a_clerk_still_assigns_and_receives(intake: Intake) -> None:
    dossier = (await intake.receive("HT-XNTTHN", role="clerk"))["dossier"]
    path, body = OP_REQUESTS["assign"]
    r = await intake.http.post(
        f"/v1/dossiers/{dossier['id']}/{path}", json=body, headers=intake.auth(role="clerk")
    )
    assert r.status_code == 200, r.text


async def test_a_signed_token_with_an_unknown_role_is_refused(intake: Intake) -> None:
    secret = intake.settings.auth_secret.get_secret_value()
    token = issue_token(secret, center_id=CENTER, subject="x", role="superuser")  # type: ignore[arg-type]
    r = await intake.http.get("/v1/dossiers", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
    assert "unknown role" in r.json()["error"]
    province = await intake.http.get("/v1/dossiers", headers=intake.auth(role="province"))
    assert province.status_code == 403  # a known role that holds nothing here
