"""The GitHub workflows run what .ci/run runs, pass actionlint, and pre-commit runs the
checks of `make lint` and `make typecheck`."""

from __future__ import annotations

import re
import subprocess
from typing import Any

import yaml

from motcua.devtools.services import ROOT
from tests.deploy import tools

WORKFLOWS = ROOT / ".github" / "workflows"
CI_RUN = ROOT / ".ci" / "run"
INSTALL = "go install github.com/rhysd/actionlint/cmd/actionlint@{version}"


def workflow(name: str) -> dict[Any, Any]:
    loaded: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    return loaded


def triggers(flow: dict[Any, Any]) -> dict[str, Any]:
    # YAML 1.1 reads the key `on` as True.
    found: dict[str, Any] = flow.get("on", flow.get(True))
    return found


def runs(flow: dict[Any, Any]) -> list[str]:
    return [step["run"] for job in flow["jobs"].values() for step in job["steps"] if "run" in step]


def pinned_actionlint() -> str:
    return tools.pinned("ACTIONLINT_VERSION")


def test_actionlint_passes() -> None:
    actionlint = tools.require("actionlint", INSTALL.format(version=pinned_actionlint()))
    done = subprocess.run(
        [actionlint, "-no-color", "-oneline"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_ci_and_the_local_script_pin_the_same_actionlint() -> None:
    assert workflow("ci.yml")["env"]["ACTIONLINT_VERSION"] == pinned_actionlint()


def test_ci_runs_every_tier_of_the_local_script_on_each_python() -> None:
    flow = workflow("ci.yml")
    assert {"push", "pull_request"} <= set(triggers(flow))
    (job,) = flow["jobs"].values()
    pythons = [str(p) for p in job["strategy"]["matrix"]["python"]]
    assert pythons == ["3.11", "3.12", "3.13"]
    steps = " ".join(runs(flow))
    local = re.findall(r"^make (\S+)$", CI_RUN.read_text(encoding="utf-8"), re.M)
    assert {"kafka", "test", "test-kafka", "test-release"} <= set(local)
    for target in local:
        assert re.search(rf"\bmake {re.escape(target)}\b", steps), f"ci.yml lacks make {target}"
    # The browser tier needs Chromium, the Kafka tier Java 17.
    assert "chromium" in steps
    java = [s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/setup-java")]
    assert java, "ci.yml sets up Java"
    assert str(java[0]["with"]["java-version"]) == "17"


def test_a_version_tag_publishes_the_release_artefacts() -> None:
    flow = workflow("release.yml")
    assert triggers(flow) == {"push": {"tags": ["v*"]}}
    assert flow["permissions"]["contents"] == "write"
    (job,) = flow["jobs"].values()
    uses = [str(s.get("uses", "")) for s in job["steps"]]
    assert any(u.startswith("docker/setup-buildx-action") for u in uses)
    steps = runs(flow)
    assert any(s.startswith("make release") and "buildx" in s for s in steps)
    assert any("gh release create" in s and "dist/*" in s for s in steps)


def test_pre_commit_runs_ruff_the_format_check_and_mypy_offline() -> None:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    hooks = [hook for repo in config["repos"] for hook in repo["hooks"]]
    # Local hooks only: a commit never waits on the network.
    assert all(repo["repo"] == "local" for repo in config["repos"])
    entries = {hook["id"]: hook["entry"] for hook in hooks}
    assert entries["ruff"].startswith(".venv/bin/ruff check")
    assert entries["ruff-format"].startswith(".venv/bin/ruff format --check")
    assert entries["mypy"] == ".venv/bin/mypy"
    mypy = next(hook for hook in hooks if hook["id"] == "mypy")
    assert mypy["pass_filenames"] is False, "strict mypy checks the whole package"
    for hook in hooks:
        assert hook["entry"].split()[0].startswith(".venv/bin/"), hook["id"]
