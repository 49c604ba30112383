"""The image: multi-stage, pinned base, non-root, no secrets, health-checked."""

from __future__ import annotations

import fnmatch
import http.server
import importlib.util
import json
import os
import re
import shlex
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from motcua.devtools.services import ROOT, SERVICES

DOCKERFILE = ROOT / "Dockerfile"
SECRETISH = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|CREDENTIAL|(?:^|_)KEY(?:$|_)", re.I)


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        full = pending + stripped
        pending = ""
        word, _, rest = full.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def stages(steps: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for step in steps:
        if step[0] == "FROM":
            result.append([])
        if result:
            result[-1].append(step)
    return result


def key_values(args: str) -> dict[str, str]:
    """ENV/ARG arguments: ``A=1 B="x y"`` or the legacy ``A value`` form."""
    parts = shlex.split(args)
    if parts and "=" not in parts[0]:
        return {parts[0]: " ".join(parts[1:])}
    return dict(p.split("=", 1) if "=" in p else (p, "") for p in parts)


@pytest.fixture(scope="module")
def steps() -> list[tuple[str, str]]:
    return instructions(DOCKERFILE.read_text(encoding="utf-8"))


def global_args(steps: list[tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for word, args in steps:
        if word == "FROM":
            break
        if word == "ARG":
            out |= key_values(args)
    return out


def test_multi_stage_with_small_runtime_stage(steps: list[tuple[str, str]]) -> None:
    built = stages(steps)
    assert len(built) >= 2, "a builder stage and a runtime stage"
    aliases = [re.search(r"\bAS\s+(\S+)", s[0][1], re.I) for s in built]
    assert all(aliases[:-1]), "every stage but the last is named"
    runtime = built[-1]
    copies = [args for word, args in runtime if word == "COPY"]
    assert any("--from=" in c and "/opt/motcua" in c for c in copies), "venv copied from builder"
    # The runtime stage installs nothing and never copies the whole context.
    assert not any(word == "RUN" and "pip install" in args for word, args in runtime)
    assert not any(re.fullmatch(r"(--\S+\s+)*\.\s+\S+", c) for c in copies)


def test_dependencies_come_from_the_lock_file(steps: list[tuple[str, str]]) -> None:
    """The builder installs the locked versions, hashes checked, before copying the source."""
    builder = stages(steps)[0]
    installs = [args for word, args in builder if word == "RUN" and "-r requirements.lock" in args]
    assert installs, "the builder installs from requirements.lock"
    assert all("--require-hashes" in args for args in installs)
    copies = [shlex.split(args)[:-1] for word, args in builder if word == "COPY"]
    lock_copy = next(i for i, c in enumerate(copies) if "requirements.lock" in c)
    source_copy = next(i for i, c in enumerate(copies) if "motcua" in c)
    assert lock_copy < source_copy, "a source edit must not invalidate the dependency layer"
    assert not any("tomllib" in args for word, args in builder if word == "RUN")
    assert (ROOT / "requirements.lock").is_file()


def test_base_image_is_pinned_to_a_patch_release_and_a_digest(
    steps: list[tuple[str, str]],
) -> None:
    defaults = global_args(steps)
    names = {m[1] for s in stages(steps) if (m := re.search(r"\bAS\s+(\S+)", s[0][1], re.I))}
    for stage in stages(steps):
        ref = stage[0][1].split()[0]
        ref = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: defaults[m[1] or m[2]], ref)
        if ref in names:
            continue
        ref, at, digest = ref.partition("@")
        assert at, f"{ref}: pin the digest too"
        assert re.fullmatch(r"sha256:[0-9a-f]{64}", digest), f"{ref}: {digest!r} is no digest"
        assert ":" in ref, f"{ref}: no tag"
        assert not ref.endswith(":latest"), ref
        tag = ref.rsplit(":", 1)[1]
        assert re.match(r"\d+\.\d+\.\d+", tag), f"{ref}: pin an exact patch version"
        assert ref.startswith("python:3.11."), ref


def test_runs_as_numeric_non_root_user(steps: list[tuple[str, str]]) -> None:
    runtime = stages(steps)[-1]
    users = [args for word, args in runtime if word == "USER"]
    assert users, "the runtime stage sets USER"
    user = users[-1]
    assert re.fullmatch(r"\d+(:\d+)?", user), f"USER {user}: numeric uid[:gid]"
    assert int(user.split(":")[0]) >= 1000
    # The Kubernetes securityContext names the same uid.
    uids = {
        m
        for p in (ROOT / "deploy" / "k8s" / "base").glob("*.yaml")
        for m in re.findall(r"runAsUser: (\d+)", p.read_text(encoding="utf-8"))
    }
    assert uids == {user.split(":")[0]}


def test_no_secrets_in_env_or_args(steps: list[tuple[str, str]]) -> None:
    for word, args in steps:
        if word in ("ENV", "ARG"):
            for key, value in key_values(args).items():
                assert not SECRETISH.search(key), f"{word} {key} looks like a secret"
                assert not re.search(r"://[^/\s:@]+:[^/\s@]+@", value), f"{word} {key} has creds"


def test_entrypoint_command_ports_and_healthcheck(steps: list[tuple[str, str]]) -> None:
    runtime = dict((w, a) for w, a in stages(steps)[-1])
    assert json.loads(runtime["ENTRYPOINT"]) == ["motcua"]
    cmd = json.loads(runtime["CMD"])
    assert cmd[0] == "run"
    assert cmd[1] in SERVICES
    exposed = {int(p.split("/")[0]) for p in runtime["EXPOSE"].split()}
    assert exposed == {s.port for s in SERVICES.values()}
    assert "HEALTHCHECK" in runtime
    assert "healthcheck.py" in runtime["HEALTHCHECK"]
    # Services must listen beyond loopback inside a container.
    env: dict[str, str] = {}
    for word, args in stages(steps)[-1]:
        if word == "ENV":
            env |= key_values(args)
    for name in SERVICES:
        assert env.get(f"MOTCUA_{name.upper()}_HOST") == "0.0.0.0"


def _ignored(patterns: list[str], path: str) -> bool:
    """Docker's rule: the last matching pattern wins; ``!`` re-includes."""
    result = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        p = pattern[1:] if negate else pattern
        p = p.strip("/")
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(
            fnmatch.fnmatchcase(x, p) or fnmatch.fnmatchcase(x, p.replace("**/", ""))
            for x in prefixes
        ):
            result = not negate
    return result


def test_dockerignore_keeps_the_context_small_and_complete() -> None:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    patterns = [x.strip() for x in lines if x.strip() and not x.startswith("#")]
    for excluded in (
        ".venv",
        ".motcua",
        "tests/artifacts/x.json",
        ".git/HEAD",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        "motcua/shared/__pycache__/a.pyc",
        "deploy/.env",
    ):
        assert _ignored(patterns, excluded), excluded
    for needed in (
        "pyproject.toml",
        "requirements.lock",
        "README.md",
        "LICENSE",
        "NOTICE",
        "motcua/shared/settings.py",
        "motcua/services/queue/app.py",
        "deploy/healthcheck.py",
    ):
        assert not _ignored(patterns, needed), needed
    # Everything the Dockerfile copies from the context survives the ignore file.
    for word, args in instructions(DOCKERFILE.read_text(encoding="utf-8")):
        if word == "COPY" and "--from" not in args:
            for src in shlex.split(args)[:-1]:
                assert not _ignored(patterns, src.rstrip("/")), src


# -- the health probe the image runs -----------------------------------------------------


def _healthcheck() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "motcua_healthcheck", ROOT / "deploy" / "healthcheck.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        statuses: dict[str, int] = getattr(self.server, "statuses", {})
        self.send_response(statuses.get(self.path, 404))
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fake_service() -> Iterator[tuple[int, dict[str, int]]]:
    """A loopback HTTP server whose answers per path the test sets."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    statuses = {"/healthz": 200, "/readyz": 503}
    server.statuses = statuses  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], statuses
    server.shutdown()
    server.server_close()


def test_healthcheck_probes_the_named_service_port(
    fake_service: tuple[int, dict[str, int]],
) -> None:
    hc = _healthcheck()
    port, statuses = fake_service
    env = {"MOTCUA_NOTIFY_PORT": str(port), "MOTCUA_NOTIFY_HOST": "0.0.0.0"}
    assert hc.main(["notify"], env) == 0
    assert hc.main(["notify", "--path", "/readyz"], env) == 1  # 503 is not healthy
    statuses["/healthz"] = 500
    assert hc.main(["notify"], env) == 1


def test_healthcheck_fails_when_nothing_listens() -> None:
    hc = _healthcheck()
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))  # reserved, never listening: connections are refused
        env = {"MOTCUA_QUEUE_PORT": str(bound.getsockname()[1])}
        assert hc.main(["queue", "--timeout", "2"], env) == 1


def test_healthcheck_finds_the_service_from_the_command(tmp_path: Path) -> None:
    hc = _healthcheck()
    cmdline = tmp_path / "cmdline"
    cmdline.write_bytes(b"/opt/motcua/bin/python\0/opt/motcua/bin/motcua\0run\0deadlines\0")
    assert hc.running_service(cmdline) == "deadlines"
    cmdline.write_bytes(b"/opt/motcua/bin/motcua\0migrate\0")
    assert hc.running_service(cmdline) is None
    # With no argument and no service in the command there is nothing to probe.
    hc.running_service = lambda: None
    assert hc.main([], {}) == 1


PIN = ROOT / "deploy" / "pin-base-image.sh"
DIGEST = "sha256:" + "ab" * 32


def pin(dockerfile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DOCKERFILE": str(dockerfile), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        ["bash", str(PIN), *args], env=env, capture_output=True, text=True, check=False
    )


def test_the_pin_script_rewrites_tag_and_digest_together(tmp_path: Path) -> None:
    copy = tmp_path / "Dockerfile"
    copy.write_text(DOCKERFILE.read_text(encoding="utf-8"), encoding="utf-8")
    done = pin(copy, "python:3.11.99-slim-bookworm", DIGEST)
    assert done.returncode == 0, done.stderr
    lines = copy.read_text(encoding="utf-8").splitlines()
    assert f"ARG PYTHON_IMAGE=python:3.11.99-slim-bookworm@{DIGEST}" in lines
    # Only that line changed.
    before = DOCKERFILE.read_text(encoding="utf-8").splitlines()
    assert [a for a, b in zip(before, lines, strict=True) if a != b] == [
        line for line in before if line.startswith("ARG PYTHON_IMAGE=")
    ]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("python:3.11.99-slim-bookworm", "sha256:short"), "not a sha256 digest"),
        ((f"python:3.11.99-slim-bookworm@{DIGEST}", DIGEST), "without a digest"),
        (("python",), "without a digest"),
        # No crane and no docker on this PATH: the look-up cannot happen.
        (("python:3.11.99-slim-bookworm",), "need 'crane' or 'docker buildx'"),
    ],
)
def test_the_pin_script_refuses_what_it_cannot_pin(
    tmp_path: Path, args: tuple[str, ...], says: str
) -> None:
    copy = tmp_path / "Dockerfile"
    original = DOCKERFILE.read_text(encoding="utf-8")
    copy.write_text(original, encoding="utf-8")
    done = pin(copy, *args)
    assert done.returncode == 2
    assert says in done.stderr
    assert copy.read_text(encoding="utf-8") == original
