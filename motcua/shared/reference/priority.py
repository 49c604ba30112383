"""Why a citizen is served first at the queue: the one list of reasons.

The design brief's list: the elderly, people with disabilities, pregnant women,
people with young children and people of meritorious service. The kiosk's HTTP
request and the (deprecated) ``priority_reason`` of ticket events are typed with
:data:`PriorityReason`; the queue's domain checks a reason against
:data:`PRIORITY_REASONS`. Adding a reason is an additive contract change.
"""

from __future__ import annotations

from typing import Literal, get_args

PriorityReason = Literal["elderly", "disability", "pregnancy", "young_child", "meritorious"]

PRIORITY_REASONS: tuple[PriorityReason, ...] = get_args(PriorityReason)
