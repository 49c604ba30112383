"""Replay a planned history into the running services, then check their report.

The history goes in as a data migration would: clerk-app commands on
``intake.commands`` with backdated business times, each carrying an admin token
of its center (backdating is for admins, on the bus as over HTTP), keyed by
dossier so each dossier's steps stay in order. Every id is derived from the seed, so replaying
the same scenario again has no second effect. The on-time report is then read
from the deadlines service and compared with the planner's ground truth.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from motcua.shared.auth import issue_token
from motcua.shared.bus.kafka import open_producer
from motcua.shared.calendar import WorkingCalendar
from motcua.shared.events.commands import (
    ProvideSupplement,
    ProvideSupplementData,
    ReceiveData,
    ReceiveDossier,
    RequestSupplement,
    RequestSupplementData,
    ResolveData,
    ResolveDossier,
)
from motcua.shared.events.topics import INTAKE_COMMANDS
from motcua.shared.settings import KafkaSettings
from motcua.simulator.workload import DossierPlan, Scenario, Truth, by_time

NAMESPACE = uuid.UUID("6d6f7463-7561-4e61-6d43-756f6e672025")  # fixed: ids repeat across runs
CLERK = "migration"
FIGURES = (
    ("received", "received"),
    ("resolved_early", "resolved_early"),
    ("resolved_on_time", "resolved_on_time"),
    ("resolved_late", "resolved_late"),
    ("in_progress_within", "in_progress_within_deadline"),
    ("in_progress_overdue", "in_progress_overdue"),
)


def dossier_id(plan: DossierPlan, seed: int) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"{plan.center_id}:{seed}:{plan.seq}")


def migration_tokens(scenario: Scenario, auth_secret: str, ttl: int) -> dict[str, str]:
    """One admin token per center of the scenario, for the migration's author."""
    return {
        center: issue_token(auth_secret, center_id=center, subject=CLERK, role="admin", ttl=ttl)
        for center in scenario.centers
    }


def commands(
    scenario: Scenario, seed: int, auth_secret: str, *, ttl: int = 3600
) -> list[tuple[uuid.UUID, bytes]]:
    """Every command of the scenario in business-time order, with its key, signed with
    an admin token of its center valid for ``ttl`` seconds (it is checked when intake
    consumes the command, so it must outlast the replay)."""
    tokens = migration_tokens(scenario, auth_secret, ttl)
    out = []
    for at, action, plan in by_time(scenario.plans):
        did = dossier_id(plan, seed)
        cid = uuid.uuid5(did, action)
        common: dict[str, Any] = {
            "command_id": cid,
            "center_id": plan.center_id,
            "issued_by": CLERK,
            "issued_at": at,
            "dossier_id": did,
            "token": tokens[plan.center_id],
        }
        cmd: Any
        if action == "receive":
            data = ReceiveData(procedure_code=plan.procedure.code, channel="counter")
            cmd = ReceiveDossier(**common, data=data)
        elif action == "request_supplement":
            reason = "Thiếu giấy tờ / missing documents"
            cmd = RequestSupplement(**common, data=RequestSupplementData(reason=reason))
        elif action == "provide_supplement":
            cmd = ProvideSupplement(**common, data=ProvideSupplementData())
        else:
            cmd = ResolveDossier(**common, data=ResolveData(outcome="approved"))
        out.append((did, cmd.to_bytes()))
    return out


@dataclass
class Progress:
    """Prints a line at each tenth of the work, so a long replay shows it is alive."""

    label: str
    total: int
    say: Callable[[str], None] = print
    _next: int = 1

    def update(self, done: int) -> None:
        while self.total and done * 10 >= self._next * self.total and self._next <= 10:
            self.say(f"  {self.label}: {done:,}/{self.total:,} ({self._next * 10}%)")
            self._next += 1


async def publish(
    kafka: KafkaSettings, items: list[tuple[uuid.UUID, bytes]], progress: Progress
) -> None:
    producer = await open_producer(kafka)
    topic = INTAKE_COMMANDS.topic(kafka.topic_prefix)
    try:
        for start in range(0, len(items), 2000):
            chunk = items[start : start + 2000]
            futures = [
                await producer.send(topic, value, key=str(key).encode()) for key, value in chunk
            ]
            await asyncio.gather(*futures)
            progress.update(start + len(chunk))
    finally:
        await producer.stop()


def truth_row(truth: Truth) -> dict[str, int]:
    return {name: getattr(truth, attr) for attr, name in FIGURES}


async def read_report(
    client: httpx.AsyncClient, deadlines_url: str, token: str, scenario: Scenario
) -> dict[str, Any]:
    params: dict[str, str] = {
        "from": scenario.start.isoformat(),
        "to": WorkingCalendar.default().local_date(scenario.as_of).isoformat(),
        "as_of": scenario.as_of.isoformat(),
    }
    if len(scenario.centers) == 1:
        params["center"] = scenario.centers[0]
    r = await client.get(
        f"{deadlines_url}/v1/statistics/on-time",
        params=params,
        headers={"Authorization": f"Bearer {token}"},
    )
    r.raise_for_status()
    total: dict[str, Any] = r.json()["total"]
    return total


async def replay(
    scenario: Scenario,
    *,
    seed: int,
    kafka: KafkaSettings,
    deadlines_url: str,
    auth_secret: str,
    timeout: float = 600,
    say: Callable[[str], None] = print,
) -> tuple[dict[str, int], dict[str, int]]:
    """Send the scenario, wait until the report has taken it all in, return
    ``(report, truth)`` as rows of the same figures."""
    cal = WorkingCalendar.default()
    truth = truth_row(scenario.truth(cal))
    items = commands(scenario, seed, auth_secret, ttl=int(timeout) + 600)
    say(f"Replaying {len(scenario.plans):,} dossiers ({len(items):,} commands) into intake…")
    started = time.monotonic()
    await publish(kafka, items, Progress("commands sent", len(items), say))
    token = issue_token(
        auth_secret,
        center_id=scenario.centers[0],
        subject="replay",
        role="province" if len(scenario.centers) > 1 else "leader",
    )
    say("Waiting for the deadlines service to take everything in…")
    resolved_target = truth["resolved_early"] + truth["resolved_on_time"] + truth["resolved_late"]
    progress = Progress("dossiers counted", truth["received"] + resolved_target, say)
    report: dict[str, Any] = {}
    async with httpx.AsyncClient(timeout=30) as client:
        while time.monotonic() - started < timeout:
            try:
                report = await read_report(client, deadlines_url, token, scenario)
            except httpx.HTTPError as exc:
                say(f"  deadlines not answering yet ({type(exc).__name__}); retrying")
                await asyncio.sleep(2)
                continue
            counted = int(report["received"]) + int(report["resolved"])
            progress.update(counted)
            if counted >= truth["received"] + resolved_target:
                break
            await asyncio.sleep(1)
    got = {name: int(report.get(name, 0)) for _, name in FIGURES}
    say(f"Replay took {time.monotonic() - started:.0f} s.")
    return got, truth


def render(report: dict[str, int], truth: dict[str, int], as_of: str) -> str:
    labels = {
        "received": "Received / Tiếp nhận",
        "resolved_early": "Resolved early / Trước hạn",
        "resolved_on_time": "Resolved on time / Đúng hạn",
        "resolved_late": "Resolved late / Quá hạn",
        "in_progress_within_deadline": "In progress, within deadline / Đang xử lý trong hạn",
        "in_progress_overdue": "In progress, overdue / Đang xử lý quá hạn",
    }
    lines = [f"On-time report as of {as_of}", f"{'':<52}{'system':>10}{'truth':>10}"]
    for key, label in labels.items():
        mark = "" if report[key] == truth[key] else "   <-- differs"
        lines.append(f"{label:<52}{report[key]:>10,}{truth[key]:>10,}{mark}")
    on_time = report["resolved_early"] + report["resolved_on_time"]
    in_progress = report["in_progress_within_deadline"] + report["in_progress_overdue"]
    lines.append(
        f"\n{report['received']:,} dossiers received, {on_time:,} resolved on time or early, "
        f"{in_progress:,} in progress."
    )
    return "\n".join(lines)
