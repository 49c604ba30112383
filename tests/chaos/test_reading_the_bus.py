"""The checker reads whole topics without a consumer group, on either broker."""

from __future__ import annotations

from motcua.devtools import bus
from motcua.shared.events.topics import DEADLINES
from motcua.shared.settings import KafkaSettings


async def test_a_topic_is_read_whole_from_a_fresh_client(kafka_settings: KafkaSettings) -> None:
    """A client that has not seen the topic before (as the checker's, made anew for each
    look) must still find its partitions and read every record of each."""
    topic = DEADLINES.topic(kafka_settings.topic_prefix)
    sent = [(topic, f"r{i}".encode(), f"k{i}".encode(), None) for i in range(12)]
    await bus.send(kafka_settings, sent)
    records = await bus.read_topic(kafka_settings, topic)
    assert sorted(r.value for r in records) == sorted(value for _, value, _, _ in sent)
    assert len({r.partition for r in records}) > 1  # spread over the topic's partitions
