"""Helpers for the intake integration tests: a clerk's HTTP calls, commands on the
bus, and what landed on the topics."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx

from motcua.devtools.bus import produce, read_all
from motcua.services.intake.settings import IntakeSettings
from motcua.services.intake.usecases import Wiring
from motcua.shared.auth import Role, issue_token
from motcua.shared.events.commands import COMMANDS, Command
from motcua.shared.events.topics import DOSSIERS, INTAKE_COMMANDS, INTAKE_RESULTS
from motcua.shared.policy import COMMAND_OPERATIONS, POLICY, ROLES
from tests.support.waiting import eventually

CENTER = "nam-cuong"

# HTTP path and a valid body of each lifecycle operation.
OP_REQUESTS: dict[str, tuple[str, dict[str, Any]]] = {
    "assign": ("assign", {"assignee": "officer-1", "department": "tu-phap"}),
    "request_supplement": (
        "request-supplement",
        {"reason": "Thiếu giấy chứng sinh", "missing_documents": ["Giấy chứng sinh"]},
    ),
    "provide_supplement": ("provide-supplement", {}),
    "notify_financial_obligation": ("notify-financial-obligation", {"amount_vnd": 20000}),
    "fulfil_financial_obligation": ("fulfil-financial-obligation", {}),
    "resolve": ("resolve", {"outcome": "approved"}),
    "return_result": ("return", {}),
    "withdraw": ("withdraw", {"reason": "Công dân không còn nhu cầu"}),
    "stop": ("stop", {"reason": "Hồ sơ không thuộc thẩm quyền"}),
    "accept": ("accept", {}),
    "not_accept": ("not-accept", {"reason": "Hồ sơ không đúng thủ tục đã chọn"}),
    "transfer": ("transfer", {"to_agency": "Công an phường Nam Cường"}),
    "transfer_back": ("transfer-back", {"from_agency": "Công an phường Nam Cường"}),
    "return_for_rework": ("return-for-rework", {"reason": "Sai thông tin trên dự thảo"}),
}


@dataclass
class Intake:
    http: httpx.AsyncClient
    settings: IntakeSettings
    pg: asyncpg.Connection
    wiring: Wiring

    # ------------------------------------------------------------ HTTP

    def token(
        self,
        center: str = CENTER,
        *,
        subject: str = "clerk-1",
        role: Role = "clerk",
        ttl: int = 600,
    ) -> str:
        secret = self.settings.auth_secret.get_secret_value()
        return issue_token(secret, center_id=center, subject=subject, role=role, ttl=ttl)

    def auth(
        self, center: str = CENTER, *, subject: str = "clerk-1", role: Role = "clerk"
    ) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(center, subject=subject, role=role)}"}

    def sign(self, c: Command[Any], *, role: Role = "clerk") -> Command[Any]:
        """``c`` carrying a token of its own author (its center and ``issued_by``)."""
        return c.signed(self.token(c.center_id, subject=c.issued_by, role=role))

    async def receive(
        self,
        procedure: str = "HT-XNTTHN",
        *,
        center: str = CENTER,
        role: Role = "clerk",
        headers: dict[str, str] | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        r = await self.http.post(
            "/v1/dossiers",
            json={"procedure_code": procedure, **fields},
            headers=self.auth(center, role=role) | (headers or {}),
        )
        assert r.status_code in (200, 201), r.text
        body: dict[str, Any] = r.json()
        return body

    async def submit_online(
        self, procedure: str = "HT-XNTTHN", *, center: str = CENTER, consent: bool = True
    ) -> dict[str, Any]:
        """A citizen's online submission (status 1, awaiting a clerk's acceptance)."""
        r = await self.http.post(
            "/v1/public/dossiers",
            json={
                "center_id": center,
                "procedure_code": procedure,
                "contact": {"kind": "phone", "value": "0912 345 678"},
                "consent_notifications": consent,
            },
            headers={"Idempotency-Key": f"k-{uuid.uuid4()}"},
        )
        assert r.status_code == 201, r.text
        body: dict[str, Any] = r.json()
        return body

    async def op(
        self,
        dossier_id: str,
        op: str,
        *,
        center: str = CENTER,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        path, default = OP_REQUESTS[op]
        return await self.http.post(
            f"/v1/dossiers/{dossier_id}/{path}",
            json=default if body is None else body,
            # An officer: resolving, stopping and returning are not a clerk's.
            headers=self.auth(center, role="officer") | (headers or {}),
        )

    async def drive(self, dossier_id: str, ops: list[str], *, center: str = CENTER) -> None:
        for op in ops:
            r = await self.op(dossier_id, op, center=center)
            assert r.status_code == 200, r.text

    async def dossier(self, dossier_id: str, *, center: str = CENTER) -> dict[str, Any]:
        r = await self.http.get(f"/v1/dossiers/{dossier_id}", headers=self.auth(center))
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    async def lookup(self, code: str, secret: str) -> httpx.Response:
        return await self.http.post("/v1/public/lookup", json={"code": code, "secret": secret})

    # ------------------------------------------------------------ database

    async def state(self, dossier_id: str) -> tuple[Any, ...]:
        """What a refused change must leave untouched."""
        row = await self.pg.fetchrow(
            "SELECT status, version, updated_at, assignee, outcome FROM dossiers WHERE id = $1",
            uuid.UUID(dossier_id),
        )
        history = await self.pg.fetchval(
            "SELECT count(*) FROM dossier_history WHERE dossier_id = $1", uuid.UUID(dossier_id)
        )
        return (*row.values(), history)

    async def force_status(self, dossier_id: str, code: int) -> None:
        """Put a dossier in a status intake's own operations never lead to."""
        await self.pg.execute(
            "UPDATE dossiers SET status = $2 WHERE id = $1", uuid.UUID(dossier_id), code
        )

    async def history_types(self, dossier_id: str) -> list[str]:
        rows = await self.pg.fetch(
            "SELECT event_type FROM dossier_history WHERE dossier_id = $1 ORDER BY seq",
            uuid.UUID(dossier_id),
        )
        return [r["event_type"] for r in rows]

    # ------------------------------------------------------------ bus

    @property
    def bootstrap(self) -> str:
        return self.settings.kafka.bootstrap_servers

    def topic(self, stream: Any) -> str:
        return str(stream.topic(self.settings.kafka.topic_prefix))

    async def send(
        self, *commands: Command[Any] | bytes, key: str | None = None, role: Role | None = None
    ) -> None:
        """Publish commands to intake.commands, keyed by dossier, as a clerk app does:
        each signed by its author with a token of ``role`` (by default the first role the
        policy table lets do it) unless it carries a token already. Raw bytes go as
        they are."""
        for c in commands:
            if isinstance(c, Command) and c.token is None:
                c = self.sign(c, role=role or least_role_for(c))
            value = c if isinstance(c, bytes) else c.to_bytes()
            k = key or (str(c.dossier_id) if isinstance(c, Command) and c.dossier_id else "k")
            await produce(self.bootstrap, self.topic(INTAKE_COMMANDS), [value], key=k.encode())

    async def dossier_events(self, dossier_id: uuid.UUID | str) -> list[dict[str, Any]]:
        messages = await read_all(self.bootstrap, self.topic(DOSSIERS))
        key = str(dossier_id).encode()
        return [json.loads(m.value) for m in messages if m.key == key]

    async def wait_events(self, dossier_id: uuid.UUID | str, n: int) -> list[dict[str, Any]]:
        return await eventually(
            lambda: self.dossier_events(dossier_id),
            until=lambda events: len(events) >= n,
            what=f"{n} events of dossier {dossier_id}",
        )

    async def rejections(self) -> list[dict[str, Any]]:
        messages = await read_all(self.bootstrap, self.topic(INTAKE_RESULTS))
        return [json.loads(m.value) for m in messages]

    async def rejections_of(self, command_id: str) -> list[dict[str, Any]]:
        return [r for r in await self.rejections() if r["data"]["command_id"] == command_id]


def command(
    command_type: str,
    data: dict[str, Any],
    *,
    dossier_id: uuid.UUID | None,
    center: str = CENTER,
    issued_at: datetime | None = None,
    command_id: uuid.UUID | None = None,
) -> Command[Any]:
    """A clerk app's command, built the way a clerk app would."""
    model = COMMANDS[command_type]
    return model.model_validate(
        {
            "command_id": command_id or uuid.uuid4(),
            "command_type": command_type,
            "center_id": center,
            "issued_by": "clerk-app-1",
            "issued_at": issued_at or datetime.now(UTC),
            "dossier_id": dossier_id,
            "data": data,
        }
    )


def least_role_for(c: Command[Any]) -> Role:
    """The first role, in the table's order (clerk first), that may issue ``c``."""
    holders = POLICY[COMMAND_OPERATIONS[c.COMMAND_TYPE]]
    return next(r for r in ROLES if r in holders)
