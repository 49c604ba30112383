"""The server-rendered SVG charts: valid markup, labelled axes, values where they belong."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from motcua.services.deadlines import charts
from motcua.services.deadlines.charts import Bar, Frame

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # raises on anything that is not well-formed XML
    assert root.tag == f"{SVG}svg"
    return root


def texts(root: ET.Element, cls: str) -> list[str]:
    return [
        "".join(t.itertext()).strip()
        for t in root.iter(f"{SVG}text")
        if cls in (t.get("class") or "").split()
    ]


def render(bars: list[Bar], **kw: object) -> str:
    options: dict[object, object] = {
        "title": "On-time rate",
        "description": "per week",
        "x_label": "Week",
        "y_label": "Rate (%)",
        "chart_id": "c1",
    }
    return charts.bar_chart(bars, **(options | kw))  # type: ignore[arg-type]


def test_the_chart_is_a_labelled_image_with_both_axis_titles() -> None:
    root = parse(render([Bar("02/03", 50.0)]))
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "c1-title c1-desc"
    assert root.find(f"{SVG}title").text == "On-time rate"  # type: ignore[union-attr]
    assert root.find(f"{SVG}desc").text == "per week"  # type: ignore[union-attr]
    assert texts(root, "y-label") == ["Rate (%)"]
    assert texts(root, "x-label") == ["Week"]
    assert texts(root, "y-tick") == ["0", "25", "50", "75", "100"]


def test_bar_heights_are_proportional_and_bars_stand_on_the_axis_in_order() -> None:
    values = [100.0, 50.0, 0.0, 87.5]
    bars = [Bar(f"w{i}", v) for i, v in enumerate(values)]
    root = parse(render(bars, format_value=lambda v: f"{v:g}%"))
    rects = [r for r in root.iter(f"{SVG}rect") if r.get("data-testid") == "chart-bar"]
    assert [r.get("data-label") for r in rects] == ["w0", "w1", "w2", "w3"]
    assert [float(r.get("data-value", "")) for r in rects] == values

    width = float(root.get("viewBox", "").split()[2])
    frame = Frame(width=width, height=charts.HEIGHT)
    xs = []
    for rect, value in zip(rects, values, strict=True):
        y, height = float(rect.get("y", "")), float(rect.get("height", ""))
        assert height == pytest.approx(frame.plot_height * value / 100, abs=0.01)
        assert y + height == pytest.approx(frame.baseline, abs=0.01)
        xs.append(float(rect.get("x", "")))
    assert xs == sorted(xs)
    assert texts(root, "x-tick") == ["w0", "w1", "w2", "w3"]
    assert [t for t in texts(root, "bar-value")] == ["100%", "50%", "0%", "87.5%"]
    # The 50 % bar's top is level with the 50 % grid line.
    grid = [float(g.get("y1", "")) for g in root.iter(f"{SVG}line")]
    assert float(rects[1].get("y", "")) == pytest.approx(grid[2], abs=0.01)


def test_a_bar_without_data_is_a_dash_not_a_zero() -> None:
    root = parse(render([Bar("w0", None, "nothing resolved"), Bar("w1", 40.0)]))
    assert len([r for r in root.iter(f"{SVG}rect")]) == 1
    [gap] = [t for t in root.iter(f"{SVG}text") if "no-data" in (t.get("class") or "")]
    assert gap.get("data-value") == ""
    assert "".join(gap.itertext()).strip().endswith("–")
    assert gap.find(f"{SVG}title").text == "nothing resolved"  # type: ignore[union-attr]


def test_values_beyond_the_scale_are_clipped_and_text_is_escaped() -> None:
    root = parse(render([Bar("<b>&", 150.0)], title='"quoted" <title>'))
    [rect] = list(root.iter(f"{SVG}rect"))
    frame = Frame(width=float(root.get("viewBox", "").split()[2]), height=charts.HEIGHT)
    assert float(rect.get("height", "")) == pytest.approx(frame.plot_height)
    assert rect.get("data-label") == "<b>&"
    assert root.find(f"{SVG}title").text == '"quoted" <title>'  # type: ignore[union-attr]


def test_many_bars_widen_the_drawing_instead_of_squeezing_the_labels() -> None:
    few = parse(render([Bar("a", 1.0)]))
    many = parse(render([Bar(str(i), 1.0) for i in range(26)]))
    assert float(few.get("viewBox", "").split()[2]) == charts.MIN_WIDTH
    assert float(many.get("viewBox", "").split()[2]) >= 26 * charts.SLOT


def test_an_empty_chart_still_renders_its_axes() -> None:
    root = parse(render([]))
    assert texts(root, "y-tick") == ["0", "25", "50", "75", "100"]
    assert not list(root.iter(f"{SVG}rect"))


def test_a_scale_must_be_positive() -> None:
    with pytest.raises(ValueError, match="y_max"):
        render([Bar("a", 1.0)], y_max=0)
