"""Server-rendered pages of the registry: the public list of centers and their lines.

A center's names, lines and counters are what its kiosk and board show anyway: nothing
here is personal or secret. Vietnamese by default, ``?lang=en`` for English.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from motcua.services.registry.usecases import Registry
from motcua.shared.reference.lines import service_lines
from motcua.shared.runtime import from_app_state
from motcua.shared.web import Pages

router = APIRouter(tags=["pages"], include_in_schema=False)

PAGES = Pages("motcua.services.registry")

Service = Annotated[Registry, from_app_state("registry")]


@router.get("/centers", response_class=HTMLResponse)
async def centers_page(request: Request, registry: Service) -> HTMLResponse:
    """Every active center with its lines and counters."""
    standard = service_lines()
    centers = []
    for stored in await registry.centers():
        doc = stored.document
        if not doc.get("active", True):
            continue
        lines = []
        for line in doc["lines"]:
            known = standard.get(line["code"])
            lines.append(
                {
                    "prefix": line["prefix"],
                    "name": line.get("name") or (known.name.vi if known else line["code"]),
                    "name_en": line.get("name_en") or (known.name.en if known else line["code"]),
                }
            )
        centers.append({**doc, "lines": lines, "revision": stored.revision})
    return PAGES.render(request, "pages/centers.html", {"centers": centers})
