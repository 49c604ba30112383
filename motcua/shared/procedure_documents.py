"""A procedure as a file or a request gives it: the shared contract
(``ProcedureConfig`` in the event catalog) with every unknown field refused.

On the bus, consumers ignore the fields they do not know (a newer registry may add
some); in a province's file, intake's packaged catalog or an admin's request, an
unknown field is a typo that would silently fall back to a default. The registry
validates its ``procedures.json`` and ``PUT`` bodies with :class:`ProcedureDocument`;
intake's catalog builds on it.
"""

from __future__ import annotations

from pydantic import ConfigDict, Field

from motcua.shared.events.catalog import (
    ProcedureConfig,
    ProcedureFee,
    ProcedureText,
    ProcedureTimeLimit,
)

STRICT = ConfigDict(extra="forbid", frozen=True)


# Named as intake's API has always named them, so that its OpenAPI document keeps its
# component names (a generated client keeps its types).
class Text(ProcedureText):
    """A text in Vietnamese and English."""

    model_config = STRICT


class Fee(ProcedureFee):
    model_config = STRICT


class TimeLimitDocument(ProcedureTimeLimit):
    model_config = STRICT


class ProcedureDocument(ProcedureConfig):
    """One procedure, whole, with no unknown field."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="Procedure")

    name: Text
    time_limit: TimeLimitDocument
    required_documents: tuple[Text, ...] = Field(default=(), max_length=50)
    fee: Fee
