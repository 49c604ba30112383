"""What the services find out from the broker itself, not from a setting."""

from __future__ import annotations

from shared.bus.kafka import open_producer, takes_idempotence
from shared.settings import KafkaSettings
from tests.support.backends import Servers
from tests.support.kafka import read_all


async def test_the_broker_says_whether_it_grants_the_idempotent_producer(
    test_servers: Servers, kafka_settings: KafkaSettings
) -> None:
    """Apache Kafka grants a producer id; the embedded Tansu broker refuses it. Nobody
    tells the process which broker it talks to."""
    assert kafka_settings.idempotence == "auto"
    assert await takes_idempotence(kafka_settings) is (test_servers.broker == "kafka")


async def test_a_producer_opened_on_either_broker_delivers_with_acks_all(
    test_servers: Servers, kafka_settings: KafkaSettings
) -> None:
    topic = f"{kafka_settings.topic_prefix}probe"
    producer = await open_producer(kafka_settings)
    try:
        assert (producer._txn_manager is not None) is (test_servers.broker == "kafka")
        for i in range(5):
            await producer.send_and_wait(topic, f"m{i}".encode(), key=b"k")
    finally:
        await producer.stop()
    got = await read_all(kafka_settings.bootstrap_servers, topic)
    assert [m.value for m in got] == [f"m{i}".encode() for i in range(5)]
