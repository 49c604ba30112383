"""A MinIO server for the S3 document backend's tests and benchmark.

``s3_server()`` yields an endpoint and credentials: the server named by
``MOTCUA_TEST_S3_ENDPOINT`` (with ``MOTCUA_TEST_S3_ACCESS_KEY`` and
``MOTCUA_TEST_S3_SECRET_KEY``) when set; otherwise a local ``minio`` binary (on
``PATH`` or in ``$(go env GOPATH)/bin``), started on loopback with a temporary data
directory and random credentials, and stopped afterwards. Without either it raises
:class:`NoS3`, whose message says how to get one.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

MINIO_MODULE = "github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c"
HOW_TO_GET = (
    f"no S3 server: set MOTCUA_TEST_S3_ENDPOINT (+ _ACCESS_KEY, _SECRET_KEY), or build "
    f"MinIO with `go install {MINIO_MODULE}` (about 9 minutes; .ci/run does it)"
)


class NoS3(RuntimeError):
    """Neither an S3 endpoint nor a MinIO binary is at hand."""


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    access_key: str
    secret_key: str


def minio_binary() -> Path | None:
    found = shutil.which("minio")
    if found:
        return Path(found)
    gopath = os.environ.get("GOPATH") or str(Path.home() / "go")
    if shutil.which("go"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            gopath = subprocess.run(
                ["go", "env", "GOPATH"], capture_output=True, text=True, check=True, timeout=30
            ).stdout.strip()
    candidate = Path(gopath) / "bin" / "minio"
    return candidate if candidate.exists() else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def s3_server(startup_seconds: float = 60.0) -> Iterator[S3Server]:
    """An S3 server for the duration of the block (see the module docstring)."""
    endpoint = os.environ.get("MOTCUA_TEST_S3_ENDPOINT")
    if endpoint:
        yield S3Server(
            endpoint,
            os.environ.get("MOTCUA_TEST_S3_ACCESS_KEY", ""),
            os.environ.get("MOTCUA_TEST_S3_SECRET_KEY", ""),
        )
        return
    binary = minio_binary()
    if binary is None:
        raise NoS3(HOW_TO_GET)
    access, secret = "motcua" + secrets.token_hex(6), secrets.token_urlsafe(24)
    port, console = _free_port(), _free_port()
    with tempfile.TemporaryDirectory(prefix="motcua-minio-") as data:
        env = os.environ | {"MINIO_ROOT_USER": access, "MINIO_ROOT_PASSWORD": secret}
        process = subprocess.Popen(
            [
                str(binary),
                "server",
                data,
                "--address",
                f"127.0.0.1:{port}",
                "--console-address",
                f"127.0.0.1:{console}",
                "--quiet",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_ready(url, process, startup_seconds)
            yield S3Server(url, access, secret)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_ready(url: str, process: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            err = process.stderr.read().decode(errors="replace") if process.stderr else ""
            raise NoS3(f"minio exited with {process.returncode}: {err[-500:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/minio/health/ready", timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    raise NoS3(f"minio did not answer at {url} within {seconds} s")
