"""The kiosk's form: what it accepts (exactly what the API's request model does) and which
message each bad field shows. Pure."""

from __future__ import annotations

from motcua.services.queue.schemas import IssueTicketIn


def issue_request(form: dict[str, str]) -> IssueTicketIn:
    """The form as the API's own request model, so the page accepts exactly what it does."""
    contact = None
    if form.get("contact_value") or form.get("consent"):
        contact = {
            "kind": form.get("contact_kind") or "phone",
            "value": form.get("contact_value", ""),
            "consent": form.get("consent") == "yes",
            "language": form.get("contact_language") or "vi",
        }
    return IssueTicketIn.model_validate(
        {
            "line_code": form.get("line_code", ""),
            "priority_reason": form.get("priority_reason") or None,
            "contact": contact,
        }
    )


_KIOSK_ERRORS = frozenset(
    {
        "line_code",
        "line_again",
        "priority_reason",
        "contact.value",
        "contact.consent",
        "contact.limit",
    }
)
# Errors shown beside another field than the one named.
_SHOWN_AT = {"line_again": "line_code", "contact.limit": "contact.value"}


def error_keys(fields: list[str]) -> list[tuple[str, str]]:
    """For each offending field, where its message shows and which message (the catalog's
    ``kiosk_error.<key>``); a contact's kind or language counts as its value."""
    shown: list[tuple[str, str]] = []
    for field in fields:
        key = field if field in _KIOSK_ERRORS else "line_code"
        if field.startswith("contact.") and key == "line_code":
            key = "contact.value"
        shown.append((_SHOWN_AT.get(key, key), key))
    return shown
