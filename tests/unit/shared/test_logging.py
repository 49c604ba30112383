"""Personal data never reaches a log line."""

from __future__ import annotations

import json
import logging
import sys
import warnings

import pytest
import structlog
from faststream._internal.logger.formatter import ColourizedFormatter

from motcua.shared.logging import FOREIGN_LOGGERS, configure_logging, mask_text


@pytest.mark.parametrize(
    "secret",
    [
        "0912345678",
        "+84912345678",
        "091 234 5678",
        "001203004567",
        "123456789",
        "an.nguyen@example.vn",
    ],
)
def test_personal_data_is_masked(secret: str) -> None:
    masked = mask_text(f"citizen {secret} filed")
    assert secret not in masked
    assert "***" in masked


@pytest.mark.parametrize(
    "harmless",
    ["3f2b8c1e-9a7d-4c55-8e3a-0b6f1d2c4e5a", "A007", "NC-20260302-0001", "offset 12345"],
)
def test_identifiers_survive(harmless: str) -> None:
    assert mask_text(f"x {harmless} y") == f"x {harmless} y"


def test_structlog_and_stdlib_lines_are_masked(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("test", "json")
    structlog.get_logger("t").warning("sms", to="0912345678", nested={"cccd": "001203004567"})
    logging.getLogger("aiokafka").warning("sending to %s", "0987654321")
    err = capsys.readouterr().err
    for secret in ("0912345678", "001203004567", "0987654321"):
        assert secret not in err
    line = json.loads(err.splitlines()[0])
    assert line["service"] == "test"
    assert line["to"] == "***phone***"


@pytest.mark.parametrize(
    "foreign", ["+44 20 7946 0958", "+1-202-555-0143", "+8613812345678", "0033612345678"]
)
def test_foreign_phone_numbers_are_masked(foreign: str) -> None:
    masked = mask_text(f"contact {foreign} given")
    assert foreign not in masked
    assert "***phone***" in masked


def test_names_are_masked_by_the_field_that_holds_them(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("test", "json")
    structlog.get_logger("t").warning(
        "dossier.received", applicant_name="Nguyễn Thị Lan", name="Trần Văn B", code="HS-1"
    )
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["applicant_name"] == line["name"] == "***"
    assert line["code"] == "HS-1"


def test_a_stdlib_traceback_is_masked_too(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("test", "json")
    try:
        raise ValueError("cannot store 0912345678 for an.nguyen@example.vn")
    except ValueError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    err = capsys.readouterr().err
    assert "Traceback" in err
    assert "ValueError" in err
    assert "0912345678" not in err
    assert "an.nguyen@example.vn" not in err


@pytest.mark.parametrize("name", [None, *FOREIGN_LOGGERS])
def test_every_library_logger_writes_one_json_object_a_line(
    name: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    # FastStream's own logger comes with a colour handler that does not propagate; so
    # may any library's: configuring must take them over.
    logger = logging.getLogger(name)
    own = logging.StreamHandler(sys.stderr)
    own.setFormatter(ColourizedFormatter("%(levelname)s %(message)s", use_colors=True))
    if name is not None:
        logger.addHandler(own)
        logger.propagate = False
    configure_logging("test", "json")
    logger.warning("\x1b[33mcannot reach\x1b[0m %s for 0912345678", "node-1")
    try:
        raise ConnectionError("refused by an.nguyen@example.vn")
    except ConnectionError:
        logger.exception("Unexpected error")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]
    assert len(lines) == 2
    first, second = lines
    assert first["event"] == "cannot reach node-1 for ***phone***"
    assert first["level"] == "warning"
    assert first["logger"] == (name or "root")
    assert first["service"] == "test"
    assert "timestamp" in first
    assert second["level"] == "error"
    assert "ConnectionError: refused by ***email***" in second["exception"]


def test_faststream_context_is_kept_as_fields(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("test", "json")
    logging.getLogger("faststream.access.kafka").warning(
        "Received", extra={"topic": "queue.events", "group_id": "motcua-intake"}
    )
    line = json.loads(capsys.readouterr().err)
    assert (line["event"], line["topic"], line["group_id"]) == (
        "Received",
        "queue.events",
        "motcua-intake",
    )


def test_console_lines_carry_no_colour_off_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("test", "console")
    structlog.get_logger("motcua.t").info("ticket.issued", ticket="A007")
    logging.getLogger("faststream").warning("\x1b[31mERROR\x1b[0m gone")
    err = capsys.readouterr().err
    assert "ticket.issued" in err
    assert "ERROR gone" in err
    assert "\x1b[" not in err


def test_a_python_warning_is_a_json_line(capsys: pytest.CaptureFixture[str]) -> None:
    # pytest takes the warnings over again around each test: hand them back to Python
    # first, as a process that has not configured its logging yet has them.
    logging.captureWarnings(False)
    configure_logging("test", "json")
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("coroutine 'send' was never awaited", RuntimeWarning, stacklevel=1)
    line = json.loads(capsys.readouterr().err)
    assert line["logger"] == "py.warnings"
    assert "was never awaited" in line["event"]
