"""How the Kafka faults pick their victim: from the quorum's own records and the
partitions' leaders (no cluster needed to check the reading of both)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from chaos.cluster import Partitions, quorum_leader
from motcua.devtools.embedded import kafka_cluster


def _record(node_dir: Path, leader: int, epoch: int) -> None:
    state = node_dir / "log" / "__cluster_metadata-0" / "quorum-state"
    state.parent.mkdir(parents=True)
    state.write_text(
        json.dumps({"clusterId": "", "leaderId": leader, "leaderEpoch": epoch, "votedId": -1})
    )


def test_the_active_controller_is_the_leader_of_the_latest_epoch(tmp_path: Path) -> None:
    nodes = kafka_cluster(tmp_path, 3)
    _record(nodes[0].datadir, leader=1, epoch=4)  # behind: it has not seen the election
    _record(nodes[1].datadir, leader=3, epoch=5)
    _record(nodes[2].datadir, leader=3, epoch=5)
    assert quorum_leader(nodes) == 3


def test_no_quorum_records_means_no_known_controller(tmp_path: Path) -> None:
    nodes = kafka_cluster(tmp_path, 3)
    _record(nodes[0].datadir, leader=-1, epoch=2)  # an election under way
    assert quorum_leader(nodes) is None


def test_the_busiest_node_leads_most_partitions_and_ties_go_to_the_lowest_id() -> None:
    assert Partitions(Counter({1: 10, 2: 18, 3: 18}), 46, 0, 0).busiest() == 2
    assert Partitions(Counter({3: 5, 1: 7}), 12, 0, 0).busiest() == 1
