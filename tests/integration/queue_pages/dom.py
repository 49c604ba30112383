"""Read a page the way a test needs: elements by ``data-testid``, with attributes and text."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from html.parser import HTMLParser

_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    parts: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.parts).split())


class Page(HTMLParser):
    """Every element carrying a ``data-testid``, and the page's JSON data blocks by id."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.html = html
        self.found: list[Element] = []
        self.data: dict[str, object] = {}
        self._open: list[Element | None] = []
        self._json_id: str | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "script" and values.get("type") == "application/json":
            self._json_id = values.get("id")
        element = Element(tag, values) if "data-testid" in values else None
        if element is not None:
            self.found.append(element)
        if tag not in _VOID:
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        if tag not in _VOID and self._open:
            self._open.pop()
        if tag == "script":
            self._json_id = None

    def handle_data(self, data: str) -> None:
        if self._json_id:
            self.data[self._json_id] = json.loads(data)
        for element in self._open:
            if element is not None:
                element.parts.append(data)

    def all(self, testid: str) -> list[Element]:
        return [e for e in self.found if e.attrs.get("data-testid") == testid]

    def one(self, testid: str) -> Element:
        found = self.all(testid)
        assert len(found) == 1, f"{len(found)} elements with data-testid={testid!r}"
        return found[0]

    def has(self, testid: str) -> bool:
        return bool(self.all(testid))
