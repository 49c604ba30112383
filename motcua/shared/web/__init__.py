"""The web kit every service's pages share: one Jinja environment per service over the
kit's base, 404 and 503 templates; languages and message catalogs; the stylesheet and
favicon; the security headers."""

from motcua.shared.web.headers import content_security_policy, page_headers
from motcua.shared.web.i18n import Catalog, Lang, Translate, catalog, language
from motcua.shared.web.pages import Pages, here, page_url, read_form, templates, with_lang

__all__ = [
    "Catalog",
    "Lang",
    "Pages",
    "Translate",
    "catalog",
    "content_security_policy",
    "here",
    "language",
    "page_headers",
    "page_url",
    "read_form",
    "templates",
    "with_lang",
]
