"""structlog configuration: JSON in production, pretty in development.

Every line passes through ``mask_pii``, which hides phone numbers (Vietnamese and
international), 9/12-digit identity numbers and e-mail addresses wherever they appear, and
whole fields named for a person's name or contact, so a careless log call cannot leak them.
Standard-library lines (uvicorn, FastStream, aiokafka, asyncio) go through the same
formatter: in JSON mode every line on stderr is one JSON object, tracebacks masked too.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog

# Vietnamese mobiles (0xxxxxxxxx / +84xxxxxxxxx) and 9- or 12-digit ID numbers.
# UUIDs and long numeric ids are hex/dashed or another length, so they survive.
_PHONE = re.compile(r"(?<![\w-])(?:\+?84|0)[1-9](?:[ .-]?\d){8}(?![\w-])")
_ID_NUMBER = re.compile(r"(?<![\w-])(?:\d{12}|\d{9})(?![\w-])")
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Any other country's number in international form: + or 00, then 8 to 15 digits
# (E.164), spaces, dots or dashes between them.
_FOREIGN_PHONE = re.compile(r"(?<![\w+-])(?:\+|00)[1-9](?:[ .-]?\d){7,14}(?![\w-])")
# Fields that hold a person's name or contact whatever their text looks like: a name has
# no pattern to find, so it is masked by the field that carries it.
_PERSONAL_FIELDS = frozenset(
    {
        "name",
        "full_name",
        "applicant_name",
        "citizen_name",
        "phone",
        "phone_number",
        "email",
        "address",
        "contact",
        "id_number",
    }
)
MASKED = "***"


def mask_text(text: str) -> str:
    text = _PHONE.sub("***phone***", text)
    text = _FOREIGN_PHONE.sub("***phone***", text)
    text = _ID_NUMBER.sub("***id***", text)
    return _EMAIL.sub("***email***", text)


def _mask(value: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: _mask_field(k, v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_mask(v) for v in value)
    return value


def _mask_field(key: object, value: Any) -> Any:
    if isinstance(key, str) and key.lower() in _PERSONAL_FIELDS and value not in (None, ""):
        return MASKED
    return _mask(value)


def mask_pii(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> Mapping[str, Any]:
    """structlog processor: mask personal data in every field."""
    return {k: _mask_field(k, v) for k, v in event_dict.items()}


# Libraries that log through the standard library, some with handlers of their own:
# FastStream installs a colour formatter on "faststream" at import and one on
# "faststream.access.<broker>" at start-up, neither propagating. Each is made to
# propagate to the one root handler below, so every line has the same shape.
FOREIGN_LOGGERS = (
    "uvicorn",
    "uvicorn.error",
    "uvicorn.access",
    "faststream",
    "faststream.access",
    "faststream.access.kafka",
    "aiokafka",
    "asyncio",
)
# Terminal colour codes, which some libraries put in the message itself.
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class _MaskingFilter(logging.Filter):
    """The same masking for stdlib loggers (uvicorn, aiokafka, faststream), on the record
    itself, so a handler someone adds later cannot print the unmasked message either."""

    def filter(self, record: logging.LogRecord) -> bool:
        # structlog's own records carry their event dict, which ``mask_pii`` masks.
        if not isinstance(record.msg, dict):
            record.msg = mask_text(_ANSI.sub("", record.getMessage()))
            record.args = None
        return True


def _strip_ansi(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> Mapping[str, Any]:
    """structlog processor: no colour codes in a field (a traceback, a library's text)."""
    return {k: _ANSI.sub("", v) if isinstance(v, str) else v for k, v in event_dict.items()}


def _with_service(service: str) -> Any:
    """structlog processor: the service's name on every line, also on a library's line
    logged from a thread or a task that does not see the context variables."""

    def add(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> Mapping[str, Any]:
        event_dict.setdefault("service", service)
        return event_dict

    return add


class _Stderr:
    """Resolves ``sys.stderr`` at write time (it may be swapped, e.g. by a test runner)."""

    def write(self, text: str) -> None:
        sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


class _LoggerFactory:
    """structlog's loggers are standard-library loggers of the same name, at the
    service's level, so that both kinds of line meet in one handler. The root logger
    stays at WARNING, which keeps the libraries' INFO chatter out."""

    def __init__(self, level: int) -> None:
        self.level = level

    def __call__(self, *args: Any) -> logging.Logger:
        logger = logging.getLogger(args[0] if args and args[0] else "motcua")
        logger.setLevel(self.level)
        return logger


def configure_logging(service: str, fmt: str = "json", level: int = logging.INFO) -> None:
    """Send every line, ours and every library's, to stderr through one formatter: a
    JSON object per line (``event``, ``level``, ``logger``, ``timestamp``, ``service``)
    with ``fmt="json"``, a readable line with ``"console"``; personal data masked in
    both."""
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    # What a line gets before it is rendered, whichever logger wrote it.
    enrich: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*enrich, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=_LoggerFactory(level),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)
    handler = logging.StreamHandler(_Stderr())
    handler.addFilter(_MaskingFilter())
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            # FastStream passes where a message came from as the record's extras.
            foreign_pre_chain=[
                *enrich,
                structlog.stdlib.ExtraAdder(allow=("topic", "group_id", "message_id")),
            ],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                _with_service(service),
                # The traceback becomes a field, so that masking reaches it too: its
                # frames and exception texts may name the phone a failed insert held.
                structlog.processors.format_exc_info,
                _strip_ansi,
                mask_pii,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    for name in FOREIGN_LOGGERS:
        foreign = logging.getLogger(name)
        foreign.handlers.clear()
        foreign.propagate = True
    # A library's warning (a coroutine never awaited, a deprecation) would otherwise be
    # printed to stderr as two lines of plain text; as "py.warnings" it is one line more.
    logging.captureWarnings(True)


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)
