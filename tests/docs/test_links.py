"""The documentation's links hold, and the English guides keep pace with the Vietnamese.

Every relative link and image in ``docs/**/*.md`` and the ``README*.md`` files must name a
file of the repository, and every ``#anchor`` a heading of the page it points to, as GitHub
spells anchors (lower case, Vietnamese letters kept, punctuation dropped, spaces as dashes).
The documentation site (``make docs-site``, MkDocs with ``--strict``) checks the pages under
``docs/`` again with the same anchors; this test also covers the READMEs, which the site does
not hold, and runs with the unit tests.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = sorted([*ROOT.glob("README*.md"), *DOCS.rglob("*.md")])

FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
HTML_ID = re.compile(r"""\bid=["']([^"']+)["']""")
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)  # http:, https:, mailto:


def prose(text: str) -> str:
    """The page without its code blocks, where brackets and hashes are not markdown."""
    return FENCE.sub("", text)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading (and the site's: see the toc slugify in mkdocs.yml)."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


@cache
def anchors(page: Path) -> frozenset[str]:
    """The anchors of a page: its headings' slugs (a repeated one gets -1, -2, ...) and ids."""
    text = prose(page.read_text(encoding="utf-8"))
    seen: Counter[str] = Counter()
    found: set[str] = set(HTML_ID.findall(text))
    for heading in HEADING.findall(text):
        base = slug(heading)
        found.add(base if not seen[base] else f"{base}-{seen[base]}")
        seen[base] += 1
    return frozenset(found)


def links(page: Path) -> list[str]:
    return LINK.findall(INLINE_CODE.sub("", prose(page.read_text(encoding="utf-8"))))


def broken(page: Path) -> list[str]:
    problems = []
    for target in links(page):
        if EXTERNAL.match(target):
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            problems.append(f"{target}: no such file")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            problems.append(f"{target}: no heading with that anchor in {file.name}")
    return problems


def test_there_are_pages_to_check() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in PAGES}
    assert {"README.md", "README.vi.md", "docs/vi/operator.md", "docs/en/operator.md"} <= names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_and_anchor_resolves(page: Path) -> None:
    assert broken(page) == []


def test_the_checker_finds_a_broken_anchor_and_file(tmp_path: Path) -> None:
    page = tmp_path / "a.md"
    (tmp_path / "b.md").write_text("# Lịch làm việc\n\n## Sao lưu (pg_dump)\n", encoding="utf-8")
    page.write_text(
        "[ok](b.md#lịch-làm-việc) [ok](b.md#sao-lưu-pg_dump) [ok](#tiêu-đề)\n"
        "[bad](b.md#lich-lam-viec) [gone](c.md) `[code](d.md)`\n\n# Tiêu đề\n",
        encoding="utf-8",
    )
    assert broken(page) == [
        "b.md#lich-lam-viec: no heading with that anchor in b.md",
        "c.md: no such file",
    ]


def test_each_vietnamese_page_has_its_english_twin() -> None:
    vi = {p.relative_to(DOCS / "vi") for p in (DOCS / "vi").rglob("*.md")}
    en = {p.relative_to(DOCS / "en") for p in (DOCS / "en").rglob("*.md")}
    assert {"index.md", "operator.md", "clerk.md", "leader.md"} <= {p.as_posix() for p in vi}
    assert sorted(map(str, vi - en)) == [], "Vietnamese pages without an English version"
    assert sorted(map(str, en - vi)) == [], "English pages without a Vietnamese version"


def test_twins_show_the_same_screenshots() -> None:
    for vi in (DOCS / "vi").rglob("*.md"):
        en = DOCS / "en" / vi.relative_to(DOCS / "vi")
        images = [sorted(t for t in links(p) if t.endswith(".png")) for p in (vi, en)]
        assert images[0] == images[1], vi.name


def test_every_screenshot_is_in_a_guide() -> None:
    shown = {Path(t).name for p in (DOCS / "vi").rglob("*.md") for t in links(p)}
    taken = {p.name for p in (DOCS / "assets" / "screenshots").glob("*.png")}
    assert taken, "no screenshots: run make screenshots"
    assert sorted(taken - shown) == []


def test_the_api_pages_link_every_generated_document() -> None:
    generated = {
        p.relative_to(DOCS).as_posix()
        for folder in ("openapi", "asyncapi", "events")
        for p in (DOCS / folder).glob("*.json")
    }
    for lang in ("vi", "en"):
        page = DOCS / lang / "api.md"
        linked = {(page.parent / t).resolve().relative_to(DOCS).as_posix() for t in links(page)}
        assert sorted(generated - linked) == [], f"{lang}/api.md misses documents"
