"""The benchmark's SVG charts: well-formed, labelled, points where the data puts them."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from bench.plot import Series, line_chart

SVG = "{http://www.w3.org/2000/svg}"


def chart(series: list[Series], *, log_x: bool = False, log_y: bool = False) -> ET.Element:
    svg = line_chart(
        series,
        title="Latency <by> load & stage",
        x_label="offered load",
        y_label="ms",
        log_x=log_x,
        log_y=log_y,
    )
    return ET.fromstring(svg)  # raises on malformed XML


def texts(root: ET.Element, cls: str) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text") if t.get("class") == cls]


def points(root: ET.Element, label: str) -> list[tuple[float, float]]:
    return [
        (float(c.attrib["cx"]), float(c.attrib["cy"]))
        for c in root.iter(f"{SVG}circle")
        if c.get("data-series") == label
    ]


def test_the_chart_is_well_formed_and_escapes_its_text() -> None:
    root = chart([Series("a <b> & c", [(1, 2), (2, 3)])])
    assert root.tag == f"{SVG}svg"
    assert texts(root, "title") == ["Latency <by> load & stage"]
    assert texts(root, "legend") == ["a <b> & c"]


def test_both_axes_are_drawn_and_labelled() -> None:
    root = chart([Series("p50", [(25, 10), (50, 20), (100, 400)])], log_x=True, log_y=True)
    assert texts(root, "x-label") == ["offered load"]
    assert texts(root, "y-label") == ["ms"]
    classes = {line.get("class") for line in root.iter(f"{SVG}line")}
    assert {"x-axis", "y-axis"} <= classes
    assert texts(root, "x-tick")
    assert texts(root, "y-tick")


@pytest.mark.parametrize(("log_x", "log_y"), [(False, False), (True, True), (True, False)])
def test_monotone_data_gives_monotone_points(log_x: bool, log_y: bool) -> None:
    data = [(25.0, 100.0), (50.0, 2000.0), (100.0, 5000.0), (200.0, 9000.0)]
    root = chart([Series("rising", data)], log_x=log_x, log_y=log_y)
    placed = points(root, "rising")
    assert len(placed) == len(data)
    xs = [x for x, _ in placed]
    ys = [y for _, y in placed]
    assert xs == sorted(xs)
    assert len(set(xs)) == len(xs)
    # SVG's y grows downwards: a larger value sits higher on the page.
    assert ys == sorted(ys, reverse=True)
    assert len(set(ys)) == len(ys)


def test_every_point_lies_inside_the_plot_area() -> None:
    root = chart(
        [Series("a", [(25, 0.5), (200, 120_000)]), Series("b", [(25, 7), (200, 7)])],
        log_x=True,
        log_y=True,
    )
    width, height = float(root.attrib["width"]), float(root.attrib["height"])
    for label in ("a", "b"):
        for x, y in points(root, label):
            assert 0 < x < width
            assert 0 < y < height


def test_pinned_x_ticks_are_the_ones_drawn() -> None:
    root = ET.fromstring(
        line_chart(
            [Series("s", [(25, 1), (200, 2)])],
            title="t",
            x_label="x",
            y_label="y",
            log_x=True,
            x_ticks=[25, 50, 100, 200],
        )
    )
    assert texts(root, "x-tick") == ["25", "50", "100", "200"]


def test_a_series_without_points_still_renders() -> None:
    root = chart([Series("empty", [])])
    assert points(root, "empty") == []
