"""schemathesis, with every check, against each live service's own OpenAPI document,
once with a clerk's, a leader's and an admin's token (and the registry once more with
the province's IT team's, which alone reaches the catalog): every status, media type, header
and constraint the service answers with must be in its document, and every request the
document allows must be accepted (tests/api/schemathesis.toml names the few refusals
that depend on data no schema can state).

Bounded: a fixed seed, a few examples per operation and a time budget per run, so the
sixteen runs take about five minutes on two cores.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from motcua.devtools.stack import Stack
from tests.api.conftest import ROLES, staff_token

pytestmark = pytest.mark.slow

CONFIG = Path(__file__).with_name("schemathesis.toml")
SECONDS_PER_RUN = 15
# An event stream never ends, so no response to check ever arrives.
ENDLESS = "/centers/{center_id}/display/stream"


def schemathesis(url: str, token: str, workdir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG),
            "run", f"{url}/openapi.json",
            "--checks", "all",
            "--header", f"Authorization: Bearer {token}",
            "--phases", "examples,coverage,fuzzing",
            "--max-examples", "10",
            "--max-time", str(SECONDS_PER_RUN),
            "--request-timeout", "10",
            "--seed", "20251127",
            "--no-shrink",
            "--exclude-path", ENDLESS,
            "--report", "junit", "--report-junit-path", str(workdir / "junit.xml"),
        ],
        cwd=workdir,  # its cache folder, .schemathesis, lands there
        capture_output=True, text=True, timeout=SECONDS_PER_RUN * 8,
    )  # fmt: skip


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("service", ["queue", "intake", "deadlines", "notify", "registry"])
async def test_the_document_holds(
    stack: Stack, tokens: dict[str, str], service: str, role: str, tmp_path: Path
) -> None:
    url = stack.url(service)
    run = await asyncio.to_thread(schemathesis, url, tokens[role], tmp_path)
    assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-2000:]
    # And the service is still whole afterwards.
    async with httpx.AsyncClient(timeout=10) as client:
        assert (await client.get(f"{url}/readyz")).status_code == 200


async def test_the_registry_document_holds_for_the_provinces_it_team(
    stack: Stack, tmp_path: Path
) -> None:
    """Only ``province_admin`` writes the procedure catalog and other centers, so only
    its token reaches those writes. Last, and against the registry alone: what it
    creates, changes or retires is published to the other services, whose runs are
    over by now."""
    url = stack.url("registry")
    run = await asyncio.to_thread(schemathesis, url, staff_token("province_admin"), tmp_path)
    assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-2000:]
    async with httpx.AsyncClient(timeout=10) as client:
        assert (await client.get(f"{url}/readyz")).status_code == 200
