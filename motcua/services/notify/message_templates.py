"""Message texts: one Jinja2 template per kind and language, Vietnamese by default.

Each template has a ``subject`` block (e-mail subject, webhook title) and a
``body`` block (the SMS text). Every body ends with the language's footer,
which carries the opt-out link, so no message can leave without one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from jinja2.runtime import new_context

from motcua.services.notify.contacts import opt_out_token
from motcua.services.notify.domain import Channel, Kind
from motcua.services.notify.sms import sms_length

TEMPLATES = Path(__file__).parent / "templates"
LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


def vnd(amount: int, language: str) -> str:
    """An amount in dong as each language writes it: "1.250.000 đồng", "VND 1,250,000"."""
    grouped = f"{amount:,}"
    return f"{grouped.replace(',', '.')} đồng" if language == "vi" else f"VND {grouped}"


def language_of(requested: str | None) -> str:
    return requested if requested in LANGUAGES else DEFAULT_LANGUAGE


class Renderer:
    """Renders a kind's template in a language; missing context is an error, not a blank."""

    def __init__(self, timezone: str = "Asia/Ho_Chi_Minh", directory: Path = TEMPLATES) -> None:
        self.tz = ZoneInfo(timezone)
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(directory),
            undefined=jinja2.StrictUndefined,
            autoescape=False,  # plain text for SMS and e-mail; HTML pages escape on their own
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,  # they ship with the code: no file check per message
        )
        self.env.filters["local_datetime"] = self._local_datetime
        self.env.filters["vnd"] = vnd
        self._globals = dict(self.env.globals)
        self._templates: dict[tuple[Kind, str], tuple[jinja2.Template, jinja2.Template]] = {}

    def _local_datetime(self, value: datetime | str) -> str:
        at = datetime.fromisoformat(value) if isinstance(value, str) else value
        return at.astimezone(self.tz).strftime("%H:%M %d/%m/%Y")

    def render(self, kind: Kind, language: str, context: Mapping[str, Any]) -> Rendered:
        lang = language_of(language)
        template, footer = self._compiled(kind, lang)
        # One context serves the subject, the body and the footer (which uses only the
        # message's own values); built from a plain copy of the globals, as jinja's own
        # ``new_context`` would from their chain of mappings, only cheaper per message.
        ctx = new_context(
            self.env, template.name, template.blocks, {**context, "language": lang}, False,
            self._globals,
        )  # fmt: skip
        subject = "".join(template.blocks["subject"](ctx)).strip()
        body = "".join(template.blocks["body"](ctx)).strip()
        closing = "".join(footer.root_render_func(ctx)).strip()
        return Rendered(subject=subject, body=f"{body}\n{closing}")

    def _compiled(self, kind: Kind, lang: str) -> tuple[jinja2.Template, jinja2.Template]:
        """A kind's template and its language's footer, looked up once."""
        found = self._templates.get((kind, lang))
        if found is None:
            found = (
                self.env.get_template(f"{lang}/{kind.value}.j2"),
                self.env.get_template(f"{lang}/_footer.j2"),
            )
            self._templates[(kind, lang)] = found
        return found


@dataclass(frozen=True)
class Composed:
    title: str
    body: str
    segments: int | None  # SMS only


class Composer:
    """A message ready to store: the kind's text for one recipient on one channel.

    The opt-out link is per recipient, so composing happens once the recipient
    (and thus its reference) is known.
    """

    def __init__(self, renderer: Renderer, *, public_url: str, link_secret: str) -> None:
        self.renderer = renderer
        self.public_url = public_url.rstrip("/")
        self.link_secret = link_secret

    def link(self, path: str) -> str:
        return f"{self.public_url}/{path}"

    def compose(
        self,
        kind: Kind,
        channel: Channel,
        recipient_ref: str,
        language: str,
        context: Mapping[str, Any],
    ) -> Composed:
        token = opt_out_token(self.link_secret, recipient_ref)
        rendered = self.renderer.render(
            kind, language, {**context, "optout_url": self.link(f"optout/{token}")}
        )
        segments = sms_length(rendered.body).segments if channel == Channel.SMS else None
        return Composed(rendered.subject, rendered.body, segments)
