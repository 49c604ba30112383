"""Personal data must never reach the bus or a log line: scan both for it.

Looks for every phone number and ID number the ledger handed to the system (in
the forms a phone number takes: national, E.164, bare digits) and, as a net for
data the ledger did not know about, for any Vietnamese mobile number or 9/12-digit
ID-number pattern. A hit names where it was found, never the number itself.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from chaos.ledger import Ledger
from motcua.devtools import bus
from motcua.shared.settings import KafkaSettings

# The same shapes the log masking hides (motcua.shared.logging): if one shows, masking failed
# or the data went somewhere it should not.
PHONE = re.compile(r"(?<![\w-])(?:\+?84|0)[1-9](?:[ .-]?\d){8}(?![\w-])")
ID_NUMBER = re.compile(r"(?<![\w-])(?:\d{12}|\d{9})(?![\w-])")


@dataclass
class ScanResult:
    topics: int = 0
    records: int = 0
    log_files: int = 0
    log_lines: int = 0
    known: int = 0  # phone and ID numbers looked for verbatim
    hits: Counter[str] = field(default_factory=Counter)  # "where: what" -> count

    @property
    def clean(self) -> bool:
        return not self.hits


def _needles(ledger: Ledger) -> dict[str, str]:
    """Each known number, in every form it may take, with the kind it is."""
    out: dict[str, str] = {}
    for phone in ledger.phones():
        for form in (phone, "+84" + phone[1:], "84" + phone[1:]):
            out[form] = "a ledger phone number"
    for number in ledger.id_numbers():
        if number:
            out[number] = "a ledger ID number"
    return out


DIGITS = re.compile(r"\+?\d+")


def _look(text: str, needles: dict[str, str], where: str, result: ScanResult) -> None:
    for token in DIGITS.findall(text):
        kind = needles.get(token)
        if kind is not None:
            result.hits[f"{where}: {kind}"] += 1
    if PHONE.search(text):
        result.hits[f"{where}: a phone-number pattern"] += 1
    if ID_NUMBER.search(text):
        result.hits[f"{where}: a 9/12-digit ID pattern"] += 1


async def scan(kafka: KafkaSettings, logs: list[Path], ledger: Ledger) -> ScanResult:
    result = ScanResult()
    needles = _needles(ledger)
    result.known = len(needles)
    for topic, records in (await bus.read_topics(kafka, bus.topics(kafka), timeout=120)).items():
        result.topics += 1
        for record in records:
            result.records += 1
            parts = [record.value, record.key or b""]
            parts += [v.encode() for v in record.headers.values()]
            text = b"\n".join(parts).decode("utf-8", errors="replace")
            _look(text, needles, f"topic {topic}", result)
    for path in logs:
        result.log_files += 1
        with path.open(encoding="utf-8", errors="replace") as lines:
            for line in lines:
                result.log_lines += 1
                _look(line, needles, f"log {path.stem}", result)
    return result


def merged(results: list[ScanResult | None]) -> ScanResult | None:
    """One result for the scans of several stacks (None if any of them did not finish)."""
    if not results or any(r is None for r in results):
        return None
    out = ScanResult()
    for r in results:
        assert r is not None
        out.topics += r.topics
        out.records += r.records
        out.log_files += r.log_files
        out.log_lines += r.log_lines
        out.known += r.known
        out.hits.update(r.hits)
    return out
