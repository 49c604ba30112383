"""Container health probe: GET one service's /healthz (or --path) on its own port.

The slim image has no curl, so this is the standard library plus the service
registry for default ports. The service is the argument, or else the one named
by the container's command (``motcua run <service>``). Exit 0 on HTTP 200.
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from motcua.devtools.services import SERVICES


def running_service(cmdline: Path = Path("/proc/1/cmdline")) -> str | None:
    """The service named by PID 1's ``... run <service>``, if that is what runs."""
    try:
        args = cmdline.read_bytes().split(b"\0")
    except OSError:
        return None
    words = [a.decode(errors="replace") for a in args]
    for i, word in enumerate(words[:-1]):
        if word == "run" and words[i + 1] in SERVICES:
            return words[i + 1]
    return None


def url_of(service: str, path: str, environ: Mapping[str, str]) -> str:
    prefix = f"MOTCUA_{service.upper()}_"
    port = int(environ.get(prefix + "PORT", SERVICES[service].port))
    host = environ.get(prefix + "HOST", "127.0.0.1")
    # A wildcard bind is reachable on loopback; a specific address only on itself.
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    return f"http://{host}:{port}{path}"


def main(argv: list[str] | None = None, environ: Mapping[str, str] = os.environ) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("service", nargs="?", choices=sorted(SERVICES))
    parser.add_argument("--path", default="/healthz", choices=["/healthz", "/readyz"])
    parser.add_argument("--timeout", type=float, default=4.0)
    args = parser.parse_args(argv)
    service = args.service or running_service()
    if service is None:
        print("healthcheck: no service named and none found in the command", file=sys.stderr)
        return 1
    url = url_of(service, args.path, environ)
    try:
        with urllib.request.urlopen(url, timeout=args.timeout) as response:
            ok = response.status == 200
    except (urllib.error.URLError, OSError) as exc:
        print(f"healthcheck: {url}: {exc}", file=sys.stderr)
        return 1
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
