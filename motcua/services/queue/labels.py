"""How the queue's pages name things: lines, counters, statuses, priority reasons, waits and
times, in the page's language; and the status page's QR code."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import segno

from motcua.services.queue.directory import Center
from motcua.shared.web import Catalog, Lang


def line_name(center: Center, code: str, lang: Lang) -> str:
    line = center.lines.get(code)
    if line is None:
        return code
    return line.name_en if lang == "en" else line.name


def counter_name(center: Center, counter_id: str | None) -> str:
    if counter_id is None:
        return ""
    spec = center.counters.get(counter_id)
    return spec.name if spec else counter_id


def minutes(seconds: int | None) -> int | None:
    """A wait as whole minutes, rounded up: never promise less than the estimate."""
    return None if seconds is None else -(-seconds // 60)


def local_time(center: Center, at: datetime | None) -> str:
    return "" if at is None else f"{at.astimezone(center.tz):%H:%M}"


def helpers(catalog: Catalog, center: Center, lang: Lang) -> dict[str, Any]:
    """What the templates use to name the center's things."""
    return {
        "center": center,
        "line_name": lambda code: line_name(center, code, lang),
        "counter_name": lambda cid: counter_name(center, cid),
        "status_label": lambda s: catalog.pick(lang, "status", s),
        "priority_label": lambda r: catalog.pick(lang, "priority", r),
        "minutes": minutes,
        "clock": lambda at: local_time(center, at),
    }


def qr_svg(url: str, title: str) -> str:
    """The status page's address as an inline SVG QR code, made here without any network."""
    return segno.make(url, error="m").svg_inline(
        scale=5, border=2, dark="#000", light="#fff", title=title, omitsize=True
    )
