"""Asking an Apache Kafka cluster about itself: who leads what, who is the active
controller, whether every replica has caught up. The faults of the cluster scenarios
pick their victim from these answers, and wait on them before they end."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient

from motcua.devtools.embedded import ApacheKafka
from motcua.shared.settings import KafkaSettings


@dataclass(frozen=True)
class Partitions:
    """Every partition of the cluster (internal topics too), as its metadata says."""

    leaders: Counter[int]  # node id -> partitions it leads
    total: int
    under_replicated: int  # fewer in-sync replicas than replicas
    offline: int  # no leader at all

    def busiest(self) -> int:
        """The node leading most partitions (the lowest id on a tie)."""
        return min(self.leaders, key=lambda node: (-self.leaders[node], node))


async def _admin(kafka: KafkaSettings) -> AIOKafkaAdminClient:
    admin = AIOKafkaAdminClient(**kafka.client_options())
    await admin.start()
    return admin


async def partitions(kafka: KafkaSettings) -> Partitions:
    admin = await _admin(kafka)
    try:
        described: list[dict[str, Any]] = await admin.describe_topics()
    finally:
        await admin.close()
    leaders: Counter[int] = Counter()
    total = under = offline = 0
    for topic in described:
        for part in topic["partitions"]:
            total += 1
            leader = part["leader"]
            if leader < 0:
                offline += 1
            else:
                leaders[leader] += 1
            if len(part["isr"]) < len(part["replicas"]):
                under += 1
    return Partitions(leaders, total, under, offline)


async def reported_controller(kafka: KafkaSettings) -> int:
    """The controller id a client is told (DescribeCluster)."""
    admin = await _admin(kafka)
    try:
        return int((await admin.describe_cluster())["controller_id"])
    finally:
        await admin.close()


def quorum_leader(nodes: list[ApacheKafka]) -> int | None:
    """The active controller, as the KRaft quorum itself records it: every voter keeps
    the leader it follows, and the epoch it was elected in, in ``quorum-state``; the
    highest epoch is the current leader. (A client's DescribeCluster answer cannot be
    used for this in KRaft mode: brokers name a random live broker as controller, since
    clients never talk to the controllers.)"""
    best: tuple[int, int] | None = None
    for node in nodes:
        path = Path(node.datadir) / "log" / "__cluster_metadata-0" / "quorum-state"
        try:
            state = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        epoch, leader = int(state.get("leaderEpoch", -1)), int(state.get("leaderId", -1))
        if leader >= 0 and (best is None or epoch > best[0]):
            best = (epoch, leader)
    return None if best is None else best[1]


async def wait_replicated(kafka: KafkaSettings, *, timeout: float = 180) -> tuple[bool, float]:
    """Wait until every partition has a leader and all its replicas in sync. Returns
    whether that happened within ``timeout``, and after how many seconds."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while True:
        try:
            view = await partitions(kafka)
            if view.total and not view.under_replicated and not view.offline:
                return True, loop.time() - started
        except Exception:  # a node restarting answers nothing: ask again
            pass
        if loop.time() - started > timeout:
            return False, loop.time() - started
        await asyncio.sleep(1.0)
