"""The web kit's rules for every service's pages: catalogs complete in both languages,
templates with no inline code, every page built on the kit's base."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
from starlette.requests import Request

from motcua.shared.web import Catalog, language, page_url, with_lang
from motcua.shared.web.i18n import LANGUAGES, read_catalog

ROOT = Path(__file__).resolve().parents[3] / "motcua"
KIT = ROOT / "shared" / "web"
SERVICES = ("queue", "intake", "deadlines", "notify", "registry")
PACKAGES = {name: f"motcua.services.{name}" for name in SERVICES}
TEMPLATES = sorted(
    [*KIT.glob("templates/**/*.html"), *ROOT.glob("services/*/templates/pages/*.html")]
)
# A message id as the code names it: t("key"), t_other("key"), PAGES.t(lang, "key"), and
# the kit's 503 page's detail="key" / aside="key".
USES = re.compile(
    r"""\bt(?:_other)?\(\s*["']([\w.]+)["']"""
    r"""|\.t\(\s*\w+\s*,\s*["']([\w.]+)["']"""
    r"""|\b(?:detail|aside)\s*=\s*["']([\w.]+)["']"""
)


def _sources(service: str) -> list[Path]:
    folder = ROOT / "services" / service
    return [*folder.glob("*.py"), *folder.glob("templates/pages/*.html")]


def _used(paths: list[Path]) -> set[str]:
    return {next(g for g in m.groups() if g) for p in paths for m in USES.finditer(p.read_text())}


@pytest.mark.parametrize("package", ["motcua.shared.web", *PACKAGES.values()])
def test_every_catalog_has_the_same_keys_and_placeholders_in_every_language(
    package: str,
) -> None:
    vi, en = (read_catalog(package, lang) for lang in LANGUAGES)
    assert vi, package
    assert set(vi) == set(en), set(vi) ^ set(en)
    for key in vi:
        assert vi[key].strip(), key
        assert en[key].strip(), key
        fields = (set(re.findall(r"{(\w+)}", text)) for text in (vi[key], en[key]))
        assert next(fields) == next(fields), key


@pytest.mark.parametrize("service", SERVICES)
def test_every_message_a_page_uses_exists_in_every_language(service: str) -> None:
    catalog = Catalog(PACKAGES[service])
    used = _used(_sources(service)) | _used(sorted(KIT.glob("templates/**/*.html")))
    assert used
    for lang in LANGUAGES:
        keys = set(catalog.texts[lang])
        # A key built in the template ("rating." ~ value) names a family of messages.
        families = {key for key in used if key.endswith(".")}
        assert used - families <= keys, sorted(used - families - keys)
        for family in families:
            assert any(key.startswith(family) for key in keys), family


def test_catalog_files_are_plain_string_maps() -> None:
    for path in [*KIT.glob("i18n/*.json"), *ROOT.glob("services/*/i18n/*.json")]:
        data = json.loads(path.read_text("utf-8"))
        assert all(isinstance(v, str) for v in data.values()), path


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_template_holds_inline_code_or_style(path: Path) -> None:
    text = path.read_text()
    assert "<style" not in text
    assert not re.search(r"\sstyle\s*=", text)
    assert not re.search(r"\son[a-z]+\s*=", text)
    for attributes in re.findall(r"<script([^>]*)>", text):
        # Code comes from a static file; a script element may only carry JSON data.
        assert " src=" in attributes or 'type="application/json"' in attributes, attributes


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_page_extends_the_kits_base(path: Path) -> None:
    text = path.read_text()
    if path.name == "base.html":
        assert path.parent == KIT / "templates" / "kit"
        return
    extends = re.findall(r'{%\s*extends\s+"([^"]+)"', text)
    if extends:
        assert extends == ["kit/base.html"], path
    else:  # a fragment fetched into a page (a live panel), never a document of its own
        assert "<html" not in text, path
        assert "<!doctype" not in text.lower(), path


def test_no_service_keeps_a_base_404_or_503_page_of_its_own() -> None:
    for name in ("base.html", "not_found.html", "unavailable.html"):
        assert list(ROOT.glob(f"services/*/templates/**/{name}")) == []


def _request(query: str) -> Request:
    return Request({"type": "http", "query_string": query.encode(), "headers": []})


def test_the_language_is_english_only_when_asked() -> None:
    assert language(_request("lang=en")) == "en"
    assert language(_request("")) == "vi"
    assert language(_request("lang=fr")) == "vi"


def test_addresses_keep_the_language() -> None:
    assert page_url("/kiosk", "en", center="c", empty="") == "/kiosk?center=c&lang=en"
    assert page_url("/kiosk", "vi") == "/kiosk"
    assert with_lang("/dashboard?center=c", "en") == "/dashboard?center=c&lang=en"
    assert with_lang("/dashboard", "vi") == "/dashboard"


def test_a_service_catalog_sits_over_the_kits() -> None:
    kit = Catalog("motcua.shared.web")
    deadlines = Catalog("motcua.services.deadlines")
    assert kit.text("en", "site.name") == "One-stop desk"
    assert deadlines.text("en", "site.name") == "Leaders' dashboard"
    assert deadlines.text("vi", "kit.skip") == kit.text("vi", "kit.skip")
    assert kit.text("en", "kit.unavailable.reloads_in", seconds=10).endswith("10 seconds.")
    with pytest.raises(KeyError):
        kit.text("vi", "no.such.message")


VIETNAMESE = re.compile(
    r"[àáạảãâầấậẩẫăằắặẳẵèéẹẻẽêềếệểễìíịỉĩòóọỏõôồốộổỗơờớợởỡùúụủũưừứựửữỳýỵỷỹđ]", re.I
)
PAGE_MODULES = sorted(
    [
        *ROOT.glob("services/*/pages.py"),
        *(ROOT / "services" / "queue").glob("labels.py"),
        *(ROOT / "services" / "queue").glob("kiosk_form.py"),
        *(ROOT / "services" / "deadlines").glob("dashboard.py"),
        *(ROOT / "services" / "deadlines").glob("sign_in.py"),
        *(ROOT / "services" / "deadlines").glob("charts.py"),
        *KIT.glob("*.py"),
    ]
)


@pytest.mark.parametrize("path", PAGE_MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_page_modules_hold_no_vietnamese_text(path: Path) -> None:
    """Text shown on a page lives in the catalogs; docstrings may quote it."""
    tree = ast.parse(path.read_text())
    documented = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, documented) and node.body and isinstance(node.body[0], ast.Expr)
    }
    texts = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]
    assert [text for text in texts if VIETNAMESE.search(text)] == []
