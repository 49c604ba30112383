"""The pages' languages and their text: one catalog per language, keyed by message id.

Vietnamese by default, English with ``?lang=en``. Each service keeps its own strings in
``<service>/i18n/<lang>.json``; the strings every service shares (the header, the 404 and
503 pages) are the kit's, in ``shared/web/i18n/<lang>.json``. A service's catalog is read
once, merged over the kit's, and looked up by key, so a missing key fails loudly in tests
instead of showing a blank on a kiosk.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from importlib import resources
from typing import Any, Literal, Protocol

from fastapi import Request

Lang = Literal["vi", "en"]
LANGUAGES: tuple[Lang, ...] = ("vi", "en")
KIT_PACKAGE = "motcua.shared.web"


class Translate(Protocol):
    def __call__(self, key: str, /, **params: Any) -> str: ...


def language(request: Request) -> Lang:
    """``?lang=en`` for English; anything else is Vietnamese."""
    return "en" if request.query_params.get("lang") == "en" else "vi"


def other(lang: Lang) -> Lang:
    return "en" if lang == "vi" else "vi"


def read_catalog(package: str, lang: Lang) -> dict[str, str]:
    """One package's strings in one language; none when it has no catalog."""
    path = resources.files(package).joinpath(f"i18n/{lang}.json")
    if not path.is_file():
        return {}
    data: dict[str, str] = json.loads(path.read_text("utf-8"))
    return data


class Catalog:
    """The strings of one service's pages in every language, the kit's beneath them."""

    def __init__(self, package: str) -> None:
        self.package = package
        self.texts: dict[Lang, dict[str, str]] = {
            lang: read_catalog(KIT_PACKAGE, lang) | read_catalog(package, lang)
            for lang in LANGUAGES
        }

    def text(self, lang: Lang, key: str, **params: Any) -> str:
        """The message ``key`` in ``lang``; ``{name}`` placeholders filled from ``params``."""
        text = self.texts[lang][key]
        return text.format_map(params) if params else text

    def translator(self, lang: Lang) -> Translate:
        def t(key: str, /, **params: Any) -> str:
            return self.text(lang, key, **params)

        return t

    def pick(self, lang: Lang, prefix: str, key: str, default: str | None = None) -> str:
        """``prefix.key`` when the catalog has it (a status, a reason), else ``default``
        or the key itself: data the catalog does not know shows as it is."""
        found: Mapping[str, str] = self.texts[lang]
        return found.get(f"{prefix}.{key}", key if default is None else default)


@functools.cache
def catalog(package: str) -> Catalog:
    """The catalog of ``package``'s pages, read once per process."""
    return Catalog(package)
