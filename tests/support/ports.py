"""Ports for a whole dev stack started by a test."""

from __future__ import annotations

import contextlib
import random
import socket

from motcua.devtools.services import SERVICES


def free_stack_offset() -> int:
    """A ``motcua dev --port-offset`` whose every port is free now: PostgreSQL and the
    broker (offset + 1, + 2), the landing page and the services (8000 + offset on).

    All of them stay below the kernel's ephemeral range (from 32768): an outgoing
    connection takes its local port from there, and could take one of ours between this
    check and the stack's start (a service then dies with "address already in use")."""
    for _ in range(200):
        offset = random.randrange(10_000, 24_700, 10)
        ports = [
            offset + 1,
            offset + 2,
            8000 + offset,
            *(s.port + offset for s in SERVICES.values()),
        ]
        try:
            with contextlib.ExitStack() as held:
                for port in ports:
                    sock = held.enter_context(socket.socket())
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return offset
    raise RuntimeError("no free port offset below the ephemeral range for a dev stack")
