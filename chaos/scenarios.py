"""The fault scenarios, and how one is run: steady load, a fault, catch-up, the check.

Each scenario gets its own slice of the ledger (its own tickets and dossiers), so
its verdict says exactly what that fault did. A fault function runs alongside the
load and must have restored the system before the load ends.
"""

from __future__ import annotations

import asyncio
import re
import signal
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import httpx

from chaos import cluster, known, poison
from chaos.check import Verdict, settle
from chaos.ledger import Ledger
from chaos.load import Load, LoadFigures, Traffic
from motcua.devtools import bus
from motcua.devtools.embedded import ApacheKafka
from motcua.devtools.stack import SERVICES, SESSION_TIMEOUT_MS, Stack
from motcua.shared.events.topics import STREAMS, Stream

Say = Callable[[str], None]


@dataclass
class Context:
    stack: Stack
    ledger: Ledger
    say: Say
    started: float = 0.0
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def note(self, text: str) -> None:
        line = f"t+{time.monotonic() - self.started:4.1f}s {text}"
        self.notes.append(line)
        self.say(f"   {line}")

    async def at(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, self.started + seconds - time.monotonic()))


Fault = Callable[[Context], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    injected: str
    seconds: float
    fault: Fault
    setup: Fault | None = None
    teardown: Fault | None = None
    poison: bool = False
    broker: str = "tansu"  # the stack it runs on (motcua.devtools.stack.BROKERS)


@dataclass
class Outcome:
    scenario: Scenario
    load: LoadFigures
    traffic: Traffic
    verdict: Verdict
    catch_up_seconds: float
    notes: list[str]
    dead_letters: dict[str, int]  # new DLQ records per topic during the scenario
    poison: list[poison.TopicAccount] | None
    foreign_tickets: int
    stopped_services: list[str]
    extra: dict[str, Any]
    sink_repeats: int = 0  # sends repeated with the same key (the gateway dropped them)

    def problems(self) -> list[str]:
        """Every way the scenario went wrong, one line each."""
        out = [*self.verdict.problems, *self.traffic.problems()]
        if self.foreign_tickets:
            out.append(f"{self.foreign_tickets} tickets called that the ledger never issued")
        if self.extra.get("under_replicated_at_end"):
            out.append("Kafka partitions still under-replicated when the fault ended")
        if self.stopped_services:
            out.append(f"services not running at the end: {', '.join(self.stopped_services)}")
        if self.poison is not None:
            out += [f"{a.topic}: {m}" for a in self.poison for m in a.misplaced]
        elif any(self.dead_letters.values()):
            dlq = {k: v for k, v in self.dead_letters.items() if v}
            out.append(f"unexpected dead letters: {dlq}")
        return out

    @property
    def ok(self) -> bool:
        return self.verdict.lost == 0 and self.verdict.duplicated == 0 and not self.problems()

    @property
    def unexplained(self) -> list[str]:
        """Problems no known bug accounts for."""
        name = self.scenario.name
        return [p for p in self.problems() if known.explained(p, name) is None]

    @property
    def bugs(self) -> list[known.KnownBug]:
        """Known bugs this run of the scenario showed."""
        name = self.scenario.name
        found = {b.key: b for p in self.problems() if (b := known.explained(p, name)) is not None}
        return list(found.values())

    @property
    def as_expected(self) -> bool:
        """Passed, or failed only in ways a known bug explains."""
        return self.ok or not self.unexplained


async def dead_letter_counts(stack: Stack) -> dict[str, int]:
    assert stack.kafka is not None
    prefix = stack.kafka.topic_prefix
    found = await bus.read_topics(stack.kafka, [s.dlq(prefix) for s in STREAMS])
    return {topic: len(records) for topic, records in found.items()}


async def run(
    stack: Stack,
    ledger: Ledger,
    scenario: Scenario,
    *,
    say: Say = print,
    tickets_per_s: float = 5.0,
    dossiers_per_s: float = 2.0,
    seed: int = 0,
    settle_timeout: float = 180.0,
    flavours: dict[str, int] | None = None,
) -> Outcome:
    say(f"\n== {scenario.name}: {scenario.title}")
    ctx = Context(stack, ledger, say)
    assert stack.kafka is not None
    dlq_before = await dead_letter_counts(stack)
    assert stack.sink is not None
    accepted, delivered = stack.sink.snapshot()
    repeats_before = accepted - len(delivered)
    if scenario.setup is not None:
        await scenario.setup(ctx)
    load = Load(
        stack,
        ledger,
        scenario.name,
        tickets_per_s=tickets_per_s,
        dossiers_per_s=dossiers_per_s,
        seed=seed,
        flavours=flavours,
    )
    ctx.started = time.monotonic()
    await load.start()
    fault = asyncio.create_task(scenario.fault(ctx))
    await ctx.at(scenario.seconds)
    await fault
    ctx.note("load stopped; finishing the started work")
    figures = await load.stop()
    say(
        f"   load: {figures.tickets} tickets, {figures.dossiers} dossiers, "
        f"{figures.requests} requests in {figures.seconds:.0f}s"
    )
    verdict, catch_up = await settle(
        stack, ledger.of(scenario.name), timeout=settle_timeout, say=say
    )
    ahead = {g: a for g, (_, a) in (await bus.lag(stack.kafka)).items() if a}
    if ahead:
        ctx.extra["committed_beyond_log_end"] = ahead
    accounts = None
    if scenario.poison:
        accounts = await poison.account(stack.kafka, ctx.extra["injection"])
    if scenario.teardown is not None:
        await scenario.teardown(ctx)
    dlq_after = await dead_letter_counts(stack)
    stopped = [p.label for p in stack.processes.values() if not p.alive]
    accepted, delivered = stack.sink.snapshot()
    outcome = Outcome(
        scenario=scenario,
        load=figures,
        traffic=load.traffic,
        verdict=verdict,
        catch_up_seconds=catch_up,
        notes=ctx.notes,
        dead_letters={t: dlq_after[t] - dlq_before.get(t, 0) for t in dlq_after},
        poison=accounts,
        foreign_tickets=len(load.foreign_tickets),
        stopped_services=stopped,
        extra=ctx.extra,
        sink_repeats=accepted - len(delivered) - repeats_before,
    )
    for a in accounts or []:
        say(
            f"   {a.topic}: {a.injected} injected, {a.malformed} malformed, dead-lettered "
            f"{a.dead_lettered}/{a.expected_dead_letters}, rejected {a.rejected}"
        )
    verdict_word = "OK" if outcome.ok else "FAILED"
    if outcome.bugs:
        verdict_word += f" (known bug: {', '.join(b.key for b in outcome.bugs)})"
    if not outcome.as_expected:
        verdict_word += " UNEXPECTEDLY"
    say(f"   {verdict_word}: {verdict.summary()}")
    for problem in outcome.problems()[:20]:
        say(f"     - {problem}")
    return outcome


# ------------------------------------------------------------------- faults


async def _kill_and_restart(ctx: Context, label: str, *, down: float = 2.0) -> None:
    proc = ctx.stack.processes[label]
    await proc.kill()
    ctx.note(f"SIGKILL {label} (pid {proc.proc.pid if proc.proc else '?'})")
    await asyncio.sleep(down)
    started = time.monotonic()
    proc.start()
    await proc.wait_ready()
    ctx.note(f"{label} restarted; ready after {time.monotonic() - started:.1f}s")


def sigkill(service: str, at: float = 10.0) -> Fault:
    async def fault(ctx: Context) -> None:
        await ctx.at(at)
        await _kill_and_restart(ctx, service)

    return fault


def _outage(at: float, seconds: float, server: str) -> Fault:
    """Cut the proxy in front of ``server`` (the broker or PostgreSQL) at ``at`` for
    ``seconds``; only a server the stack started itself has one."""

    async def fault(ctx: Context) -> None:
        proxy = ctx.stack.kafka_proxy if server == "broker" else ctx.stack.pg_proxy
        if proxy is None:
            raise RuntimeError(NO_PROXY[server])
        await ctx.at(at)
        await proxy.cut()
        ctx.note(f"{server} unreachable (proxy cut) for {seconds:.0f}s")
        await ctx.at(at + seconds)
        await proxy.restore()
        ctx.note(f"{server} reachable again")

    return fault


NO_PROXY = {
    "broker": "the broker outage needs the stack's own broker behind a proxy",
    "PostgreSQL": "the database outage needs the stack's own PostgreSQL",
}


def broker_outage(at: float, seconds: float) -> Fault:
    return _outage(at, seconds, "broker")


def postgres_restart(at: float) -> Fault:
    async def fault(ctx: Context) -> None:
        await ctx.at(at)
        started = time.monotonic()
        ctx.note("PostgreSQL stopping (fast shutdown: every connection terminated)")
        await ctx.stack.restart_postgres()
        ctx.note(f"PostgreSQL accepting again after {time.monotonic() - started:.1f}s")

    return fault


def postgres_outage(at: float, seconds: float) -> Fault:
    return _outage(at, seconds, "PostgreSQL")


_CONSUMED = re.compile(r'^motcua_events_consumed_total\{consumer="([^"]+)",[^}]*\} ([0-9.e+]+)$')


async def consumed(url: str, consumer: str) -> float:
    """Events a process has consumed so far (applied, duplicate or ignored)."""
    async with httpx.AsyncClient(timeout=5) as client:
        text = (await client.get(f"{url}/metrics")).text
    total = 0.0
    for line in text.splitlines():
        m = _CONSUMED.match(line)
        if m and m[1] == consumer:
            total += float(m[2])
    return total


def second_instance(service: str) -> Fault:
    async def setup(ctx: Context) -> None:
        proc = ctx.stack.add_process(service)
        proc.start()
        await proc.wait_ready()
        ctx.extra["second"] = proc.label
        ctx.say(f"   {proc.label} started and ready: 2 instances share the consumer group")

    return setup


async def stop_second_instance(ctx: Context) -> None:
    await ctx.stack.remove_process(ctx.extra["second"])


def sigstop(service: str, at: float, seconds: float) -> Fault:
    async def fault(ctx: Context) -> None:
        frozen = ctx.stack.processes[service]
        other = ctx.stack.processes[ctx.extra["second"]]
        await ctx.at(at)
        before = await consumed(other.url, service)
        frozen.signal(signal.SIGSTOP)
        ctx.note(
            f"SIGSTOP {frozen.label} for {seconds:.0f}s "
            f"(session timeout {SESSION_TIMEOUT_MS / 1000:.0f}s)"
        )
        await ctx.at(at + seconds)
        during = await consumed(other.url, service) - before
        frozen.signal(signal.SIGCONT)
        ctx.extra["consumed_by_other_while_stopped"] = int(during)
        ctx.note(f"SIGCONT {frozen.label}; {other.label} consumed {during:.0f} events meanwhile")

    return fault


def poison_every_topic(
    at: float, corpus_of: Callable[[Stream], list[poison.Poison]] | None = None
) -> Fault:
    async def fault(ctx: Context) -> None:
        assert ctx.stack.kafka is not None
        await ctx.at(at)
        injection = await poison.inject(ctx.stack.kafka, corpus_of)
        ctx.extra["injection"] = injection
        total = sum(len(v) for v in injection.sent.values())
        ctx.note(f"injected {total} poison and garbage messages on {len(injection.sent)} topics")

    return fault


# ------------------------------------------------------------ Kafka faults


def _nodes(ctx: Context) -> list[ApacheKafka]:
    nodes = [b for b in ctx.stack.brokers if isinstance(b, ApacheKafka)]
    if not nodes or len(nodes) != len(ctx.stack.brokers):
        raise RuntimeError("this fault needs the stack's own Apache Kafka nodes")
    return nodes


def _node(ctx: Context, node_id: int) -> ApacheKafka:
    return next(n for n in _nodes(ctx) if n.node_id == node_id)


async def _replicated(ctx: Context) -> None:
    """Wait for every replica to be back in sync, and say how long that took."""
    assert ctx.stack.kafka is not None
    caught_up, seconds = await cluster.wait_replicated(ctx.stack.kafka)
    if caught_up:
        ctx.note(f"every partition fully replicated again after {seconds:.1f}s")
    else:
        ctx.note(f"partitions still under-replicated after {seconds:.0f}s")
        ctx.extra["under_replicated_at_end"] = True


async def _kill_node(ctx: Context, node: ApacheKafka, why: str, down: float) -> None:
    pid = node.proc.pid if node.proc else "?"
    await ctx.stack.kill_broker(node)
    ctx.note(f"SIGKILL Kafka node {node.node_id} (pid {pid}), {why}")
    await asyncio.sleep(down)
    started = time.monotonic()
    await ctx.stack.start_broker(node)
    ctx.note(f"node {node.node_id} restarted; serving after {time.monotonic() - started:.1f}s")
    await _replicated(ctx)


def kill_busiest_leader(at: float, down: float) -> Fault:
    async def fault(ctx: Context) -> None:
        assert ctx.stack.kafka is not None
        await ctx.at(at)
        view = await cluster.partitions(ctx.stack.kafka)
        victim = view.busiest()
        ctx.extra["leaders_before"] = dict(sorted(view.leaders.items()))
        why = f"leader of {view.leaders[victim]} of {view.total} partitions"
        await _kill_node(ctx, _node(ctx, victim), why, down)

    return fault


def kill_controller(at: float, down: float) -> Fault:
    async def fault(ctx: Context) -> None:
        assert ctx.stack.kafka is not None
        await ctx.at(at)
        victim = cluster.quorum_leader(_nodes(ctx))
        if victim is None:
            raise RuntimeError("no node records a quorum leader")
        reported = await cluster.reported_controller(ctx.stack.kafka)
        ctx.extra["controller"] = {"quorum_leader": victim, "describe_cluster": reported}
        await _kill_node(ctx, _node(ctx, victim), "the active controller (KRaft leader)", down)
        after = cluster.quorum_leader(_nodes(ctx))
        ctx.note(f"node {after} leads the quorum now")

    return fault


def rolling_restart(at: float) -> Fault:
    async def fault(ctx: Context) -> None:
        await ctx.at(at)
        for node in _nodes(ctx):
            started = time.monotonic()
            await ctx.stack.stop_broker(node)
            ctx.note(
                f"node {node.node_id} stopped (SIGTERM, controlled shutdown) "
                f"in {time.monotonic() - started:.1f}s"
            )
            started = time.monotonic()
            await ctx.stack.start_broker(node)
            ctx.note(f"node {node.node_id} serving again after {time.monotonic() - started:.1f}s")
            await _replicated(ctx)

    return fault


def node_cut(at: float, seconds: float) -> Fault:
    """Cut the proxy of the node leading most partitions: clients and the other
    nodes' replica fetchers lose it, while it still talks to the controller quorum
    (that listener is not proxied), so it stays leader of its partitions meanwhile."""

    async def fault(ctx: Context) -> None:
        assert ctx.stack.kafka is not None
        await ctx.at(at)
        view = await cluster.partitions(ctx.stack.kafka)
        victim = view.busiest()
        index = next(i for i, n in enumerate(_nodes(ctx)) if n.node_id == victim)
        proxy = ctx.stack.broker_proxies[index]
        await proxy.cut()
        ctx.note(
            f"Kafka node {victim} (leader of {view.leaders[victim]} of {view.total} "
            f"partitions) unreachable (proxy cut) for {seconds:.0f}s"
        )
        await ctx.at(at + seconds)
        await proxy.restore()
        ctx.note(f"node {victim} reachable again")
        await _replicated(ctx)

    return fault


def power_cut(at: float, down: float) -> Fault:
    """``kill -9`` of every service process and the broker at the same instant, then
    everything started again on the same state: the broker first, as after a reboot."""

    async def fault(ctx: Context) -> None:
        stack = ctx.stack
        await ctx.at(at)
        procs = [p for p in stack.processes.values() if p.name in SERVICES]
        await asyncio.gather(
            *(p.kill() for p in procs), *(stack.kill_broker(b) for b in stack.brokers)
        )
        ctx.note(f"SIGKILL of {len(procs)} service processes and the broker at once")
        await asyncio.sleep(down)
        started = time.monotonic()
        await asyncio.gather(*(stack.start_broker(b) for b in stack.brokers))
        ctx.note(f"broker serving again after {time.monotonic() - started:.1f}s (same log)")
        started = time.monotonic()
        for p in procs:
            p.start()
        await asyncio.gather(*(p.wait_ready() for p in procs))
        ctx.note(f"services restarted; all ready after {time.monotonic() - started:.1f}s")

    return fault


def kafka_scenarios() -> list[Scenario]:
    """Faults of Apache Kafka itself: a three-node cluster, then a single node."""
    on_cluster = "kafka-cluster"
    return [
        Scenario(
            "kafka-kill-leader",
            "SIGKILL of the Kafka node leading most partitions, then a restart",
            "3-node cluster; `kill -9` at t+10s of the node leading most partitions; "
            "restarted 10s later, then replicas caught up",
            40,
            kill_busiest_leader(10, 10),
            broker=on_cluster,
        ),
        Scenario(
            "kafka-kill-controller",
            "SIGKILL of the active KRaft controller, then a restart",
            "3-node cluster; `kill -9` at t+10s of the active controller (the quorum "
            "leader); restarted 10s later, then replicas caught up",
            40,
            kill_controller(10, 10),
            broker=on_cluster,
        ),
        Scenario(
            "kafka-rolling-restart",
            "A rolling restart of all three Kafka nodes",
            "3-node cluster; from t+8s each node in turn stopped (SIGTERM), started, "
            "and waited on until every partition was fully replicated again",
            40,
            rolling_restart(8),
            broker=on_cluster,
        ),
        Scenario(
            "kafka-node-cut",
            "One Kafka node unreachable for 30 s",
            "3-node cluster; every connection to the node leading most partitions (clients' "
            "and the other nodes' replica fetches) dropped and refused for 30s (TCP proxy "
            "cut) from t+8s",
            50,
            node_cut(8, 30),
            broker=on_cluster,
        ),
        Scenario(
            "kafka-power-cut",
            "A power cut: every service process and the broker killed at once",
            "single Kafka node; `kill -9` at t+10s of the five service processes and the "
            "broker together; 3s later the broker, then the services, started again on "
            "the same state",
            40,
            power_cut(10, 3),
            broker="kafka",
        ),
    ]


def all_scenarios() -> list[Scenario]:
    """The full run of ``python -m chaos``."""
    kills = [
        Scenario(
            f"sigkill-{service}",
            f"SIGKILL of {service} mid-load, then a restart",
            f"`kill -9` of the {service} process at t+10s; restarted 2s later",
            30,
            sigkill(service),
        )
        for service in ("queue", "intake", "deadlines", "notify")
    ]
    return [
        *kills,
        Scenario(
            "broker-outage",
            "The broker unreachable for 30 s",
            "every client connection to the broker dropped and refused for 30s (TCP proxy cut)",
            50,
            broker_outage(8, 30),
        ),
        Scenario(
            "postgres-restart",
            "PostgreSQL restarted mid-load",
            "PostgreSQL stopped (fast shutdown) at t+10s and started again on the same data",
            30,
            postgres_restart(10),
        ),
        Scenario(
            "postgres-outage",
            "PostgreSQL unreachable for 15 s",
            "every database connection dropped and refused for 15s (TCP proxy cut)",
            35,
            postgres_outage(8, 15),
        ),
        Scenario(
            "sigstop-deadlines",
            "A consumer frozen past its session timeout, then resumed",
            "2 deadlines instances; SIGSTOP of one for 16s (session timeout 6s), then SIGCONT",
            40,
            sigstop("deadlines", 8, 16),
            setup=second_instance("deadlines"),
            teardown=stop_second_instance,
        ),
        Scenario(
            "poison",
            "Poison and garbage on every topic",
            "11 poison/garbage messages on each event topic and 10 on intake.commands "
            "(among them 4 KB of nested `[` and a time out of range in UTC), at t+10s",
            30,
            poison_every_topic(10),
            poison=True,
        ),
        *kafka_scenarios(),
    ]


def ci_scenarios() -> list[Scenario]:
    """The subset the test suite runs (shorter load, the same code)."""
    return [
        Scenario(
            "sigkill-notify",
            "SIGKILL of notify mid-load, then a restart",
            "`kill -9` of the notify process at t+8s; restarted 2s later",
            18,
            sigkill("notify", at=8),
        ),
        Scenario(
            "poison",
            "Poison and garbage on every topic",
            "poison/garbage on every topic at t+5s",
            12,
            poison_every_topic(5),
            poison=True,
        ),
    ]
