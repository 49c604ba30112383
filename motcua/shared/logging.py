"""structlog configuration: JSON in production, pretty in development.

Every line passes through ``mask_pii``, which hides phone numbers (Vietnamese and
international), 9/12-digit identity numbers and e-mail addresses wherever they appear, and
whole fields named for a person's name or contact, so a careless log call cannot leak them.
Standard-library lines are masked whole, tracebacks included.
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


class _MaskingFilter(logging.Filter):
    """The same masking for stdlib loggers (uvicorn, aiokafka, faststream)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_text(record.getMessage())
        record.args = None
        return True


class _MaskingFormatter(logging.Formatter):
    """Masks the whole formatted line: the filter sees only the message, while the
    formatter appends the traceback (whose frames show local values and exception texts,
    e.g. a failed insert naming the phone it held) after it."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_text(super().format(record))


class _Stderr:
    """Resolves ``sys.stderr`` at write time (it may be swapped, e.g. by a test runner)."""

    def write(self, text: str) -> None:
        sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(service: str, fmt: str = "json", level: int = logging.INFO) -> None:
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            mask_pii,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(_Stderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)
    handler = logging.StreamHandler(_Stderr())
    handler.addFilter(_MaskingFilter())
    handler.setFormatter(
        _MaskingFormatter(f"%(asctime)s {service} %(name)s %(levelname)s %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)
