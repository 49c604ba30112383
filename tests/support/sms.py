"""What a phone number received at the test SMS gateway."""

from __future__ import annotations

from motcua.devtools.samples import e164
from motcua.devtools.sinks import HttpSink
from tests.support.waiting import eventually


async def bodies(sink: HttpSink, phone: str, count: int) -> list[str]:
    """Wait until ``phone`` (national format) has ``count`` messages; fail if it has more."""

    async def now() -> list[str]:
        return [m.body for m in sink.to(e164(phone))]

    got = await eventually(now, until=lambda m: len(m) >= count, what=f"{count} messages")
    assert len(got) == count, got
    return got
