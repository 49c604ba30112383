"""One Kafka principal per service, allowed to write only the topics it owns: on Apache
Kafka with SASL/SCRAM and the standard authorizer, with the grants deploy/ ships.

The broker has two client listeners: PLAINTEXT for the operator (``User:ANONYMOUS``,
the test's super user, standing in for deploy's admin) and SASL_PLAINTEXT with
SCRAM-SHA-512 for the services. The SCRAM users are created when the log is formatted;
the ACLs are ``motcua.shared.events.access.grants()``, the same list ``motcua acls`` turns
into the script deploy/ runs, applied here through Kafka's own admin client.
"""

from __future__ import annotations

import asyncio
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka.errors import TopicAuthorizationFailedError

from motcua.devtools.embedded import KAFKA_LOG4J, ApacheKafka, free_port, java_binary, kafka_jars
from motcua.shared.bus.kafka import ensure_topics, open_producer
from motcua.shared.events.access import WRITERS, grants, user_of
from motcua.shared.events.topics import DOSSIERS, INTAKE_COMMANDS, QUEUE, Owner
from motcua.shared.settings import KafkaSettings

pytestmark = pytest.mark.slow

PREFIX = "acl."
PASSWORDS = {owner: secrets.token_urlsafe(24) for owner in WRITERS}

# Kafka's Admin API, fed the grants as tab-separated lines: the broker's jars carry the
# client, not the kafka-acls tool, and the Python clients speak no CreateAcls v2+.
APPLY_ACLS = """
import java.io.*;
import java.util.*;
import org.apache.kafka.clients.admin.*;
import org.apache.kafka.common.acl.*;
import org.apache.kafka.common.resource.*;

public class ApplyAcls {
    public static void main(String[] args) throws Exception {
        List<AclBinding> bindings = new ArrayList<>();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        for (String line; (line = in.readLine()) != null; ) {
            if (line.isBlank()) continue;
            String[] raw = line.split("\\t"), f = line.toUpperCase(Locale.ROOT).split("\\t");
            bindings.add(new AclBinding(
                new ResourcePattern(ResourceType.fromString(f[2]), raw[3],
                                    PatternType.fromString(f[4])),
                new AccessControlEntry(raw[0], "*", AclOperation.fromString(f[1]),
                                       AclPermissionType.ALLOW)));
        }
        Properties props = new Properties();
        props.put("bootstrap.servers", args[0]);
        try (Admin admin = Admin.create(props)) {
            admin.createAcls(bindings).all().get();
            System.out.println(admin.describeAcls(AclBindingFilter.ANY).values().get().size());
        }
    }
}
"""


def apply_acls(bootstrap: str, source: Path) -> int:
    """Create every grant on the cluster; the number of ACLs it then holds."""
    lines = "".join(
        f"{g.principal}\t{g.operation}\t{g.resource}\t{g.name}\t{g.pattern}\n"
        for g in grants(PREFIX)
    )
    run = subprocess.run(
        [java_binary(), "-cp", f"{kafka_jars()}/*", f"-Dlog4j2.configurationFile={KAFKA_LOG4J}",
         str(source), bootstrap],
        input=lines, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    return int(run.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def secured_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A SASL/SCRAM, ACL-enforcing Kafka with the topics and the grants: (admin, sasl)."""
    try:
        kafka_jars(fetch=False)
        java_binary()
    except Exception as exc:
        pytest.skip(f"Apache Kafka is not available here: {exc}")
    state = tmp_path_factory.mktemp("acl-kafka")
    port, controller, sasl = free_port(), free_port(), free_port()
    node = ApacheKafka(
        port,
        state / "kafka",
        controller_port=controller,
        scram_users={user_of(owner): PASSWORDS[owner] for owner in WRITERS},
        properties={
            "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller},"
            f"SASL_PLAINTEXT://127.0.0.1:{sasl}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port},"
            f"SASL_PLAINTEXT://127.0.0.1:{sasl}",
            "sasl.enabled.mechanisms": "SCRAM-SHA-512",
            "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config": (
                "org.apache.kafka.common.security.scram.ScramLoginModule required;"
            ),
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            # The operator's listener and the quorum; the services get no such pass.
            "super.users": "User:ANONYMOUS",
            "allow.everyone.if.no.acl.found": "false",
        },
    ).start()
    try:
        admin = KafkaSettings(bootstrap_servers=node.bootstrap, topic_prefix=PREFIX)
        asyncio.run(ensure_topics(admin))
        source = state / "ApplyAcls.java"
        source.write_text(APPLY_ACLS)
        assert apply_acls(node.bootstrap, source) == len(grants(PREFIX))
        yield node.bootstrap, f"127.0.0.1:{sasl}"
    finally:
        node.stop()


def as_service(bootstrap: str, owner: Owner) -> KafkaSettings:
    """The client settings a service runs with: its own SCRAM user and password."""
    return KafkaSettings(
        bootstrap_servers=bootstrap,
        topic_prefix=PREFIX,
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username=user_of(owner),
        sasl_password=PASSWORDS[owner],
        request_timeout_ms=15_000,
    )


async def _write(settings: KafkaSettings, topic: str) -> None:
    producer = await open_producer(settings)
    try:
        await producer.send_and_wait(topic, b"{}", key=b"k")
    finally:
        await producer.stop()


async def test_the_queue_service_writes_its_own_topic_and_is_refused_intakes(
    secured_kafka: tuple[str, str],
) -> None:
    _, sasl = secured_kafka
    queue = as_service(sasl, "queue")
    await _write(queue, QUEUE.topic(PREFIX))  # its own: allowed
    with pytest.raises(TopicAuthorizationFailedError):
        await _write(queue, DOSSIERS.topic(PREFIX))  # intake's: refused by the broker


async def test_a_clerk_app_writes_commands_and_cannot_forge_a_dossier_event(
    secured_kafka: tuple[str, str],
) -> None:
    _, sasl = secured_kafka
    clerk_app = as_service(sasl, "clerk-apps")
    await _write(clerk_app, INTAKE_COMMANDS.topic(PREFIX))
    with pytest.raises(TopicAuthorizationFailedError):
        await _write(clerk_app, DOSSIERS.topic(PREFIX))
    # intake itself may write its own stream, and the DLQ of a stream it reads.
    intake = as_service(sasl, "intake")
    await _write(intake, DOSSIERS.topic(PREFIX))
    await _write(intake, QUEUE.dlq(PREFIX))
    with pytest.raises(TopicAuthorizationFailedError):
        await _write(intake, QUEUE.topic(PREFIX))
