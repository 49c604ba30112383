"""``python -m chaos`` (``make chaos``): every fault scenario, then ``docs/reliability.md``.

    python -m chaos                      # all scenarios, rewrite docs/reliability.md
    python -m chaos poison sigkill-queue # a selection (written only with --output)
    python -m chaos --list

Exit status 0 only when every scenario balanced (0 lost, 0 duplicated), the scan
found no personal data, and each scenario marked with a known bug still fails.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from chaos import report, scan, scenarios
from chaos.ledger import Ledger
from motcua.devtools.stack import ROOT, Stack

DOC = ROOT / "docs" / "reliability.md"


async def main(names: list[str], *, keep: bool, output: Path | None) -> int:
    chosen = scenarios.all_scenarios()
    if names:
        unknown = set(names) - {s.name for s in chosen}
        if unknown:
            print(f"unknown scenario(s): {', '.join(sorted(unknown))}", file=sys.stderr)
            return 2
        chosen = [s for s in chosen if s.name in names]
    started, t0 = datetime.now(UTC), time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="motcua-chaos-"))
    outcomes = []
    results: list[scan.ScanResult | None] = []
    try:
        # One stack a broker, in the order the scenarios first name it: each starts
        # fresh, so what one broker's faults leave behind never counts against another.
        for broker in dict.fromkeys(s.broker for s in chosen):
            on_it = [s for s in chosen if s.broker == broker]
            found = await run_on(broker, on_it, workdir / broker, outcomes)
            results.append(found)
    finally:
        if keep:
            print(f"kept the logs and data in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    result = scan.merged(results)
    wall = time.monotonic() - t0
    if output is not None:
        page = report.render(outcomes, result, started=started, wall=wall)
        await asyncio.to_thread(output.write_text, page)
        print(f"\nwrote {output}")
    # A scenario of a known bug must fail (like a strict xfail): passing means the bug
    # is fixed and the scenario should lose its mark.
    passed = all(o.as_expected for o in outcomes) and result is not None and result.clean
    print(f"{'PASS' if passed else 'FAIL'} in {wall / 60:.1f} minutes")
    return 0 if passed else 1


async def run_on(
    broker: str,
    chosen: list[scenarios.Scenario],
    workdir: Path,
    outcomes: list[scenarios.Outcome],
) -> scan.ScanResult | None:
    """Run ``chosen`` on a stack of its own with ``broker``; scan it afterwards."""
    t0 = time.monotonic()
    stack = Stack(workdir, broker_kind=broker)
    ledger = Ledger()
    try:
        print(
            f"\nstarting PostgreSQL, the broker ({broker}; each server behind a proxy) "
            "and the five services…"
        )
        await stack.start()
        print(f"   ready after {time.monotonic() - t0:.0f}s")
        for scenario in chosen:
            outcomes.append(await scenarios.run(stack, ledger, scenario))
        print(f"\n== scanning every topic and every log line ({broker}) for personal data")
        assert stack.kafka is not None
        result = await scan.scan(stack.kafka, stack.log_files(), ledger)
        print(f"   {'clean' if result.clean else 'FOUND: ' + ', '.join(result.hits)}")
        return result
    finally:
        await stack.stop()


def cli(argv: list[str]) -> int:
    # The run's own clients retry through every outage on purpose; their complaints
    # about it would drown the report's progress lines.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__)
    parser.add_argument("scenarios", nargs="*", help="run only these")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    parser.add_argument("--keep", action="store_true", help="keep the logs and data directory")
    parser.add_argument(
        "--output",
        type=Path,
        help="where to write the report (default: docs/reliability.md, for a full run only)",
    )
    args = parser.parse_args(argv)
    if args.list:
        for s in scenarios.all_scenarios():
            print(f"{s.name:<22} {s.broker:<14} {s.title}")
        return 0
    output = args.output or (None if args.scenarios else DOC)
    return asyncio.run(main(args.scenarios, keep=args.keep, output=output))


if __name__ == "__main__":
    raise SystemExit(cli(sys.argv[1:]))
