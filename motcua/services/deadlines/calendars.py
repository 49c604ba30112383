"""Per-center working calendars of the deadlines service.

The merge of a center's overrides onto the national calendar lives in
``motcua.shared.center_calendar``, because intake prints the receipt's appointment on the
same calendar the legal clock runs on; this module keeps the names the service uses.
"""

from __future__ import annotations

from motcua.shared.center_calendar import OVERRIDE_KEYS, build, default_config, merge, normalise

__all__ = ["OVERRIDE_KEYS", "build", "default_config", "merge", "normalise"]
