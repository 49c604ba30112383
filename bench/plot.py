"""Small hand-written SVG line charts for benchmark results (no plotting library).

One chart: a few series of (x, y) points, each drawn as a polyline with a dot per
point and named in a legend. Either axis may be logarithmic, which suits offered
loads that double from step to step and latencies that jump by orders of
magnitude once a stage saturates.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b")


@dataclass(frozen=True)
class Series:
    label: str
    points: Sequence[tuple[float, float]]
    dashed: bool = False
    color: str | None = None


@dataclass(frozen=True)
class Axis:
    """Maps data values to pixels between ``lo_px`` and ``hi_px`` (either order)."""

    lo: float
    hi: float
    lo_px: float
    hi_px: float
    log: bool

    @classmethod
    def fit(
        cls, values: Sequence[float], lo_px: float, hi_px: float, *, log: bool, tight: bool = False
    ) -> Axis:
        """Room for every value: whole decades (log) or from zero to a round number, or
        just a little past the extremes when ``tight``."""
        usable = [v for v in values if math.isfinite(v) and (v > 0 or not log)]
        if not usable:
            return cls(1.0, 10.0, lo_px, hi_px, log)
        lo, hi = min(usable), max(usable)
        if tight:
            if log:
                return cls(lo / 1.25, hi * 1.25, lo_px, hi_px, log)
            pad = (hi - lo) * 0.05 or 1.0
            return cls(lo - pad, hi + pad, lo_px, hi_px, log)
        if log:
            lo, hi = 10 ** math.floor(math.log10(lo)), 10 ** math.ceil(math.log10(hi))
            if lo == hi:
                hi = lo * 10
        else:
            lo = min(lo, 0.0)
            hi = _nice_ceiling(hi) if hi > 0 else 1.0
            if lo == hi:
                hi = lo + 1.0
        return cls(lo, hi, lo_px, hi_px, log)

    def _t(self, v: float) -> float:
        return math.log10(v) if self.log else v

    def px(self, value: float) -> float:
        if self.log:
            value = max(value, self.lo)  # nothing below the floor of a log axis
        share = (self._t(value) - self._t(self.lo)) / (self._t(self.hi) - self._t(self.lo))
        return self.lo_px + share * (self.hi_px - self.lo_px)

    def ticks(self) -> list[float]:
        if self.log:
            first, last = math.floor(math.log10(self.lo)), math.ceil(math.log10(self.hi))
            out = [10.0**e for e in range(first, last + 1)]
            if len(out) <= 4:  # few decades: add the 2s and 5s
                out = sorted({m * t for t in out for m in (1, 2, 5)})
            return [t for t in out if self.lo * (1 - 1e-9) <= t <= self.hi * (1 + 1e-9)]
        step = _nice_ceiling((self.hi - self.lo) / 5)
        start = math.ceil(self.lo / step) * step
        return [start + i * step for i in range(int((self.hi - start) / step + 1e-9) + 1)]


def _nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 or 10 times a power of ten that is >= value."""
    exp = math.floor(math.log10(value))
    for m in (1, 2, 2.5, 5, 10):
        if m * 10**exp >= value * (1 - 1e-9):
            return float(m * 10**exp)
    return float(10 ** (exp + 1))


def _label(value: float) -> str:
    if value >= 1000 and value == int(value):
        return f"{value / 1000:g}k" if value % 1000 == 0 else f"{int(value):,}"
    return f"{value:g}"


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    x_label: str,
    y_label: str,
    log_x: bool = False,
    log_y: bool = False,
    x_ticks: Sequence[float] | None = None,
    width: int = 760,
    height: int = 460,
) -> str:
    """The chart as an SVG document. ``x_ticks`` pins the x ticks (e.g. the offered loads)."""
    left, right, top, bottom = 78, 210, 44, 62
    xs = [x for s in series for x, _ in s.points] + list(x_ticks or ())
    ys = [y for s in series for _, y in s.points]
    ax = Axis.fit(xs, left, width - right, log=log_x, tight=x_ticks is not None)
    ay = Axis.fit(ys, height - bottom, top, log=log_y)
    plot_bottom, plot_right = height - bottom, width - right
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text class="title" x="{width / 2:.1f}" y="24" text-anchor="middle" '
        f'font-size="15">{escape(title)}</text>',
    ]
    for tick in x_ticks if x_ticks is not None else ax.ticks():
        x = ax.px(tick)
        out.append(
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{plot_bottom}" stroke="#eee"/>'
            f'<text class="x-tick" x="{x:.1f}" y="{plot_bottom + 16}" '
            f'text-anchor="middle">{escape(_label(tick))}</text>'
        )
    for tick in ay.ticks():
        y = ay.px(tick)
        out.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{plot_right}" y2="{y:.1f}" stroke="#eee"/>'
            f'<text class="y-tick" x="{left - 6}" y="{y + 4:.1f}" '
            f'text-anchor="end">{escape(_label(tick))}</text>'
        )
    out += [
        f'<line class="x-axis" x1="{left}" y1="{plot_bottom}" x2="{plot_right}" '
        f'y2="{plot_bottom}" stroke="black"/>',
        f'<line class="y-axis" x1="{left}" y1="{top}" x2="{left}" y2="{plot_bottom}" '
        'stroke="black"/>',
        f'<text class="x-label" x="{(left + plot_right) / 2:.1f}" y="{height - 18}" '
        f'text-anchor="middle">{escape(x_label)}</text>',
        f'<text class="y-label" x="18" y="{(top + plot_bottom) / 2:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 18 {(top + plot_bottom) / 2:.1f})">{escape(y_label)}</text>',
    ]
    for i, s in enumerate(series):
        color = s.color or PALETTE[i % len(PALETTE)]
        dash = ' stroke-dasharray="6 4"' if s.dashed else ""
        pts = [(ax.px(x), ay.px(y)) for x, y in s.points]
        name = quoteattr(s.label)
        if len(pts) > 1:
            coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
            out.append(
                f'<polyline class="series" data-series={name} points="{coords}" fill="none" '
                f'stroke="{color}" stroke-width="2"{dash}/>'
            )
        out += [
            f'<circle class="point" data-series={name} cx="{x:.1f}" cy="{y:.1f}" r="3.5" '
            f'fill="{color}"/>'
            for x, y in pts
        ]
        ly = top + 8 + i * 20
        out.append(
            f'<line x1="{plot_right + 14}" y1="{ly}" x2="{plot_right + 40}" y2="{ly}" '
            f'stroke="{color}" stroke-width="2"{dash}/>'
            f'<text class="legend" x="{plot_right + 46}" y="{ly + 4}">{escape(s.label)}</text>'
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"
