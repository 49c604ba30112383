"""A comma-separated list of brokers, as a cluster is named, reaches every client."""

from __future__ import annotations

from motcua.devtools.embedded import free_port
from motcua.shared.bus.kafka import make_router
from motcua.shared.settings import KafkaSettings


async def test_a_service_router_bootstraps_from_a_list_of_brokers(
    kafka_settings: KafkaSettings,
) -> None:
    """Nothing listens at the first address: only a router that got the list split
    tries the second, the real broker."""
    listed = f"127.0.0.1:{free_port()}, {kafka_settings.bootstrap_servers}"
    settings = kafka_settings.model_copy(update={"bootstrap_servers": listed})
    router = make_router(settings, client_id="bootstrap-list")
    await router.broker.start()
    try:
        assert await router.broker.ping(timeout=10)
    finally:
        await router.broker.stop()
