"""Names, not codes, on the leaders' dashboard: a service line by the shared reference
list, a procedure by the name its receipt carried; the code only where none is known."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.integration.deadlines.conftest import Service
from tests.integration.deadlines.test_apology_letter import received
from tests.support.clock import vn
from tests.support.waiting import eventually


def row_labels(page: str, row_testid: str) -> dict[str, str]:
    """{data-key: the row's label} of one kind of table row."""
    rows = re.findall(
        rf'<tr data-testid="{row_testid}" data-key="([^"]*)">\s*<th scope="row">([^<]*)</th>', page
    )
    return dict(rows)


def worklist_cells(page: str, label: str) -> list[str]:
    """The cells of one column of the worklist table (the forecast's table has the same
    columns, and names too)."""
    worklist = page[page.index('<table data-testid="worklist"') :]
    worklist = worklist[: worklist.index("</table>")]
    return re.findall(rf'<td class="text" data-label="{label}">([^<]*)</td>', worklist)


@pytest.mark.parametrize(
    ("lang", "procedure", "line", "headers"),
    [
        ("vi", "Đăng ký khai sinh", "Tư pháp – Hộ tịch", ("Thủ tục", "Lĩnh vực")),
        ("en", "Birth registration", "Justice &amp; civil status", ("Procedure", "Line")),
    ],
)
async def test_the_dashboard_names_lines_and_procedures(
    service: Service, lang: str, procedure: str, line: str, headers: tuple[str, str]
) -> None:
    center, named, unnamed = f"nm-{uuid.uuid4().hex[:6]}", uuid.uuid4(), uuid.uuid4()
    # An older receipt (no name travelled with it), on a province's own line.
    bare = received(
        center, unnamed, f"{center}-0002", procedure="XX-LOCAL", name=None, line="province-own"
    )
    await service.produce(received(center, named, f"{center}-0001"), bare)
    await eventually(
        lambda: service.count("SELECT count(*) FROM clocks WHERE center_id = $1", center),
        until=lambda n: n == 2,
        what="both receipts applied",
    )
    service.clock.set(vn(2026, 3, 5, 12))  # both due within a working day: on the worklist
    async with service.client() as http:
        r = await http.get(
            "/dashboard",
            params={"center": center, "from": "2026-03-01", "to": "2026-03-31", "lang": lang},
            headers=service.token(center),
        )
    assert r.status_code == 200, r.text
    page = r.text
    assert row_labels(page, "row-procedure") == {"HT-KS": procedure, "XX-LOCAL": "XX-LOCAL"}
    assert row_labels(page, "row-line") == {"justice": line, "province-own": "province-own"}
    assert sorted(worklist_cells(page, headers[0])) == sorted([procedure, "XX-LOCAL"])
    assert "HT-KS" not in re.sub(r'data-key="[^"]*"', "", page)

    # Each dossier on the worklist leads to its timeline.
    links = re.findall(r'href="(/dashboard/dossiers/[^"/]+/timeline[^"]*)"', page)
    assert {link.split("/")[3] for link in links} == {str(named), str(unnamed)}
