"""Charts as inline SVG, rendered on the server: no script, no library, nothing fetched.

Pure functions from figures to markup. Every text is escaped; every bar carries its value
and label as data attributes and a ``<title>`` (a tooltip, and what screen readers say),
and the chart as a whole is an image labelled by its title and description.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    """One bar: its axis label, its value (``None``: no data, drawn as a dash) and a longer
    description for the tooltip."""

    label: str
    value: float | None
    description: str = ""


@dataclass(frozen=True)
class Frame:
    """The drawing's geometry, in SVG user units."""

    width: float
    height: float
    left: float = 84.0
    right: float = 16.0
    top: float = 32.0
    bottom: float = 76.0

    @property
    def plot_width(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_height(self) -> float:
        return self.height - self.top - self.bottom

    @property
    def baseline(self) -> float:
        return self.top + self.plot_height


SLOT = 80.0  # width given to each bar, so labels never overlap
MIN_WIDTH = 600.0
HEIGHT = 360.0


def _n(x: float) -> str:
    """A coordinate, short: at most two decimals, no trailing zeros."""
    return f"{x:.2f}".rstrip("0").rstrip(".")


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def bar_chart(
    bars: Sequence[Bar],
    *,
    title: str,
    description: str,
    x_label: str,
    y_label: str,
    y_max: float = 100.0,
    ticks: Sequence[float] = (0, 25, 50, 75, 100),
    format_value: Callable[[float], str] = lambda v: f"{v:.0f}",
    no_data: str = "–",
    chart_id: str = "chart",
) -> str:
    """A vertical bar chart on a fixed scale ``[0, y_max]`` (values are clipped to it).

    The bar of value ``v`` is ``v / y_max`` of the plot's height, standing on the x axis;
    each bar sits in its own slot, left to right in the given order, with its label below
    and its formatted value above.
    """
    if y_max <= 0:
        raise ValueError("y_max must be positive")
    frame = Frame(width=max(MIN_WIDTH, 100.0 + SLOT * max(len(bars), 1)), height=HEIGHT)
    slot = frame.plot_width / max(len(bars), 1)
    bar_width = slot * 0.6
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_n(frame.width)} '
        f'{_n(frame.height)}" width="100%" role="img" class="chart" '
        f'aria-labelledby="{_e(chart_id)}-title {_e(chart_id)}-desc" '
        f'data-testid="{_e(chart_id)}" font-family="system-ui, sans-serif" font-size="20">',
        f'<title id="{_e(chart_id)}-title">{_e(title)}</title>',
        f'<desc id="{_e(chart_id)}-desc">{_e(description)}</desc>',
    ]
    # Grid lines and the y axis' tick labels.
    for tick in ticks:
        y = frame.baseline - frame.plot_height * min(tick, y_max) / y_max
        out.append(
            f'<line class="grid" x1="{_n(frame.left)}" x2="{_n(frame.width - frame.right)}" '
            f'y1="{_n(y)}" y2="{_n(y)}" stroke="#767676" stroke-width="1" '
            f'stroke-dasharray="{"none" if tick == 0 else "4 4"}"/>'
        )
        out.append(
            f'<text class="tick y-tick" x="{_n(frame.left - 8)}" y="{_n(y + 5)}" '
            f'text-anchor="end" fill="#111">{_e(format_value(tick))}</text>'
        )
    # Axis titles.
    mid_y = frame.top + frame.plot_height / 2
    out.append(
        f'<text class="axis-label y-label" x="20" y="{_n(mid_y)}" text-anchor="middle" '
        f'transform="rotate(-90 20 {_n(mid_y)})" fill="#111" font-weight="700">'
        f"{_e(y_label)}</text>"
    )
    out.append(
        f'<text class="axis-label x-label" x="{_n(frame.left + frame.plot_width / 2)}" '
        f'y="{_n(frame.height - 8)}" text-anchor="middle" fill="#111" font-weight="700">'
        f"{_e(x_label)}</text>"
    )
    # The bars, their values and their labels.
    for i, bar in enumerate(bars):
        centre = frame.left + slot * i + slot / 2
        tip = f"<title>{_e(bar.description or bar.label)}</title>"
        if bar.value is None:
            out.append(
                f'<text class="bar-value no-data" data-testid="chart-bar" '
                f'data-label="{_e(bar.label)}" data-value="" x="{_n(centre)}" '
                f'y="{_n(frame.baseline - 8)}" text-anchor="middle" fill="#111">'
                f"{tip}{_e(no_data)}</text>"
            )
        else:
            value = max(0.0, min(bar.value, y_max))
            height = frame.plot_height * value / y_max
            top = frame.baseline - height
            out.append(
                f'<rect class="bar" data-testid="chart-bar" data-label="{_e(bar.label)}" '
                f'data-value="{_n(bar.value)}" x="{_n(centre - bar_width / 2)}" y="{_n(top)}" '
                f'width="{_n(bar_width)}" height="{_n(height)}" fill="#0b3d91">{tip}</rect>'
            )
            out.append(
                f'<text class="bar-value" x="{_n(centre)}" y="{_n(top - 6)}" '
                f'text-anchor="middle" fill="#111" font-weight="700">'
                f"{_e(format_value(bar.value))}</text>"
            )
        out.append(
            f'<text class="tick x-tick" x="{_n(centre)}" y="{_n(frame.baseline + 26)}" '
            f'text-anchor="middle" fill="#111">{_e(bar.label)}</text>'
        )
    out.append("</svg>")
    return "".join(out)
