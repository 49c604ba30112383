"""The ``motcua`` command: dev stack, migrations, one service, docs, tokens."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from datetime import datetime
from typing import get_args

from motcua.devtools.services import SERVICES
from motcua.shared.auth import Role
from motcua.shared.version import motcua_version


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="motcua", description=__doc__)
    parser.add_argument("--version", action="version", version=f"motcua {motcua_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    dev = sub.add_parser("dev", help="run the whole system locally (embedded servers by default)")
    dev.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    dev.add_argument("--kafka", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS"))
    dev.add_argument("--state-dir", default=".motcua", help="embedded data and logs")
    dev.add_argument("--pg-port", type=int, default=15432)
    dev.add_argument("--kafka-port", type=int, default=19092)
    dev.add_argument(
        "--broker",
        choices=["tansu", "kafka"],
        default=os.environ.get("MOTCUA_BROKER", "tansu"),
        help="the embedded broker when --kafka is not given: tansu (PyPI only, memory) "
        "or kafka (Apache Kafka, needs Java 17+, log kept in <state-dir>/kafka)",
    )
    dev.add_argument("--port-offset", type=int, default=0, help="shift the services' ports")
    dev.add_argument(
        "--simulate",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="animate the center: citizens, clerks and officers through the public APIs",
    )
    dev.add_argument("--speed", type=float, default=60.0, help="simulation time compression")

    kaf = sub.add_parser("kafka", help="Apache Kafka's jars for --broker kafka and the tests")
    kaf.add_argument("action", choices=["fetch", "where"])

    kc = sub.add_parser(
        "keycloak", help="Keycloak, a real OpenID Connect provider for trying single sign-on"
    )
    kc.add_argument("action", choices=["fetch", "check", "run"])
    kc.add_argument("--port", type=int, default=8080, help="HTTP port of `run` (loopback)")

    mig = sub.add_parser("migrate", help="apply every service's migrations")
    mig.add_argument(
        "--database-url", default=os.environ.get("MOTCUA_DB_URL") or os.environ.get("DATABASE_URL")
    )
    mig.add_argument("--service", choices=sorted(SERVICES), action="append")

    out = sub.add_parser(
        "outbox",
        help="publish the outbox journal again (after a Kafka disaster or a database restore)",
        description="Operators only: it needs the database URL of the services' schemas. "
        "'replay' asks each service's relay to publish again, in order and before any newer "
        "event, every journal row published since a time; 'status' shows what is owed.",
    )
    out.add_argument("action", choices=["replay", "status"])
    out.add_argument(
        "--since",
        type=_aware_time,
        help="ISO time with its zone, e.g. 2026-12-06T03:00:00+07:00 (replay only)",
    )
    out.add_argument("--service", choices=sorted(SERVICES), action="append")
    out.add_argument(
        "--database-url", default=os.environ.get("MOTCUA_DB_URL") or os.environ.get("DATABASE_URL")
    )

    run = sub.add_parser("run", help="run one service (migrations are a separate step)")
    run.add_argument("service", choices=sorted(SERVICES))

    topics = sub.add_parser("topics", help="create every topic and its dead-letter topic")
    topics.add_argument("--replication", type=int, default=1)

    acls = sub.add_parser(
        "acls", help="print the script creating one Kafka user per service and its ACLs"
    )
    acls.add_argument("--prefix", default="", help="the deployment's topic prefix")

    docs = sub.add_parser("docs", help="generate or check the committed schema documents")
    docs.add_argument("action", choices=["gen", "check"])

    tok = sub.add_parser("token", help="issue a clerk token scoped to one center")
    tok.add_argument("--center", required=True)
    tok.add_argument("--subject", required=True)
    tok.add_argument("--role", default="clerk", choices=get_args(Role))
    tok.add_argument("--ttl", type=int, default=12 * 3600)

    sim = sub.add_parser("simulate", help="replay a scenario into the running services")
    sim.add_argument("scenario", choices=["nam-cuong-2025"])
    sim.add_argument("--seed", type=int, default=2025)
    sim.add_argument("--scale", type=int, default=1, help="number of centers")
    sim.add_argument(
        "--deadlines",
        default=os.environ.get("MOTCUA_DEADLINES_URL", "http://127.0.0.1:8003"),
        help="the running deadlines service (or MOTCUA_DEADLINES_URL)",
    )

    rep = sub.add_parser(
        "report",
        help="on-time statistics ('motcua report on-time -h'), the 766 scorecard "
        "('motcua report score766 -h') and the breach forecast's "
        "backtest ('motcua report backtest -h')",
    )
    rep.add_argument("rest", nargs=argparse.REMAINDER)

    reg = sub.add_parser("registry", help="center registry files (see 'motcua registry -h')")
    reg.add_argument("rest", nargs=argparse.REMAINDER)

    args = parser.parse_args(argv)
    if args.command == "simulate":
        from motcua.shared.settings import KafkaSettings, ServiceSettings
        from motcua.simulator.replay import render, replay
        from motcua.simulator.workload import nam_cuong_2025

        print(f"Planning {args.scenario} (seed {args.seed}, {args.scale} center(s))…", flush=True)
        scenario = nam_cuong_2025(seed=args.seed, scale=args.scale)
        report, truth = asyncio.run(
            replay(
                scenario,
                seed=args.seed,
                kafka=KafkaSettings(),
                deadlines_url=args.deadlines,
                auth_secret=ServiceSettings().auth_secret.get_secret_value(),
                say=lambda line: print(line, flush=True),
            )
        )
        print(render(report, truth, "2025-11-27 17:00 (Asia/Ho_Chi_Minh)"))
        same = report == truth
        verdict = "The report equals the ground truth." if same else "MISMATCH with the truth."
        print("\n" + verdict)
        return 0 if same else 1
    if args.command == "report" and args.rest[:1] == ["backtest"]:
        # The backtest replays the simulator's histories: tooling, not the service's CLI.
        from motcua.simulator import backtest

        return backtest.main(args.rest[1:])
    if args.command == "report":
        import importlib

        report_cli = importlib.import_module("motcua.services.deadlines.cli")
        code: int = report_cli.main(args.rest)
        return code
    if args.command == "registry":
        import importlib

        registry_cli = importlib.import_module("motcua.services.registry.cli")
        registry_code: int = registry_cli.main(args.rest)
        return registry_code
    if args.command == "dev":
        from pathlib import Path

        from motcua.devtools.devstack import DevStack, run_dev

        return run_dev(
            DevStack(
                database_url=args.database_url,
                kafka=args.kafka,
                state_dir=Path(args.state_dir),
                pg_port=args.pg_port,
                kafka_port=args.kafka_port,
                broker_kind=args.broker,
                port_offset=args.port_offset,
                simulate=args.simulate,
                speed=args.speed,
            )
        )
    if args.command == "kafka":
        from motcua.devtools.embedded import EmbeddedError, java_binary, kafka_home, kafka_jars

        try:
            if args.action == "fetch":
                java_binary()  # say now, not at the first start, that Java is missing
                libs = kafka_jars(say=lambda line: print(line, flush=True))
                print(f"Apache Kafka jars ready in {libs}")
            else:
                print(kafka_home())
        except EmbeddedError as exc:
            print(f"motcua kafka: {exc}", file=sys.stderr)
            return 1
        return 0
    if args.command == "keycloak":
        from motcua.devtools.keycloak import keycloak_command

        return keycloak_command(args.action, port=args.port)
    if args.command == "migrate":
        from motcua.devtools.devstack import migrate_all

        if not args.database_url:
            parser.error("--database-url or DATABASE_URL is required")
        done = asyncio.run(migrate_all(args.database_url, args.service))
        for name, versions in done.items():
            print(f"{name}: {len(versions)} applied {versions}")
        return 0
    if args.command == "outbox":
        if not args.database_url:
            parser.error("--database-url or DATABASE_URL is required")
        if args.action == "replay" and args.since is None:
            parser.error("replay needs --since, e.g. --since 2026-12-06T03:00:00Z")
        for line in asyncio.run(
            outbox_command(args.action, args.database_url, args.service, args.since)
        ):
            print(line)
        return 0
    if args.command == "run":
        import runpy

        sys.argv = [f"motcua.services.{args.service}"]
        runpy.run_module(f"motcua.services.{args.service}", run_name="__main__")
        return 0
    if args.command == "topics":
        from motcua.shared.bus.kafka import ensure_topics
        from motcua.shared.settings import KafkaSettings

        created = asyncio.run(ensure_topics(KafkaSettings(), replication=args.replication))
        print(f"created {len(created)} topics")
        return 0
    if args.command == "acls":
        from motcua.shared.events.access import script

        sys.stdout.write(script(args.prefix))
        return 0
    if args.command == "docs":
        from motcua.devtools.docs import check_docs, generate_docs

        if args.action == "gen":
            for path in generate_docs():
                print(f"wrote {path}")
            return 0
        drift = check_docs()
        for line in drift:
            print(line)
        return 1 if drift else 0
    if args.command == "token":
        from motcua.shared.auth import issue_token, token_id
        from motcua.shared.settings import ServiceSettings, UnsafeSecret

        settings = ServiceSettings()
        try:
            # A token signed with a public secret is a token anyone can forge.
            settings.check_production()
            token = issue_token(
                settings.auth_secret.get_secret_value(),
                center_id=args.center,
                subject=args.subject,
                role=args.role,
                ttl=args.ttl,
                max_ttl=settings.token_max_seconds,
            )
        except (UnsafeSecret, ValueError) as exc:
            print(f"motcua token: {exc}", file=sys.stderr)
            return 2
        print(token)
        print(f"token id (to revoke it): {token_id(token)}", file=sys.stderr)
        return 0
    return 2


def _aware_time(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO time: {text!r}") from None
    if when.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} has no time zone: add one, e.g. {text}Z or {text}+07:00"
        )
    return when


async def outbox_command(
    action: str, database_url: str, services: list[str] | None, since: datetime | None
) -> list[str]:
    """Ask each service's relay for a replay (or show what is owed), one line a service.
    Each relay picks the request up from its schema, so the services may be running."""
    import asyncpg

    from motcua.shared.bus import journal

    lines = []
    conn = await asyncpg.connect(database_url)
    try:
        for name in services or list(SERVICES):
            await conn.execute(f'SET search_path TO "{name}"')
            if action == "replay":
                assert since is not None
                rows = await journal.request_replay(conn, since)
                lines.append(
                    f"{name}: {rows} journal rows published since {since.isoformat()} "
                    "will be published again"
                    if rows
                    else f"{name}: nothing published since {since.isoformat()} is in the journal"
                )
            else:
                start = min((x for x in await journal.pending(conn) if x is not None), default=None)
                owed = 0
                if start is not None:
                    owed = await conn.fetchval(
                        "SELECT count(*) FROM outbox_journal WHERE id > $1", start
                    )
                kept = await conn.fetchval("SELECT min(published_at) FROM outbox_journal")
                lines.append(
                    f"{name}: {owed} rows owed to a replay; "
                    f"journal holds events published since {kept or '(empty)'}"
                )
    finally:
        await conn.close()
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
