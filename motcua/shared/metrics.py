"""Prometheus series shared by every service (served at ``/metrics``)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

CONSUMED = Counter(
    "motcua_events_consumed_total", "Events consumed", ["consumer", "event_type", "outcome"]
)
PUBLISHED = Counter(
    "motcua_events_published_total", "Events published from the outbox", ["schema", "event_type"]
)
DEAD_LETTERED = Counter(
    "motcua_dlq_total", "Messages sent to a dead-letter topic", ["consumer", "topic"]
)
HANDLER_SECONDS = Histogram(
    "motcua_handler_seconds",
    "Time to apply one consumed batch, transaction included",
    ["consumer"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
OUTBOX_BACKLOG = Gauge("motcua_outbox_backlog", "Unpublished outbox rows", ["schema"])
OUTBOX_OLDEST_AGE = Gauge(
    "motcua_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row", ["schema"]
)
CONSUMER_LAG = Gauge(
    "motcua_consumer_lag", "Records behind the log end", ["consumer", "topic", "partition"]
)
QUEUE_WAITING = Gauge(
    "motcua_queue_waiting", "Tickets waiting now, per center and service line", ["center", "line"]
)
DOSSIERS_OPEN = Gauge("motcua_dossiers_open", "Dossiers with a running legal clock", ["center"])
DOSSIERS_OVERDUE = Gauge("motcua_dossiers_overdue", "Open dossiers past their due time", ["center"])
HTTP_RESPONSES = Counter(
    "motcua_http_responses_total",
    "HTTP answers given, by route template and status code",
    ["service", "method", "route", "code"],
)
# Always 1: the labels are the point. ``count by (version) (motcua_build_info)`` shows
# which releases are running, e.g. during a rolling upgrade.
BUILD_INFO = Gauge(
    "motcua_build_info", "The release a service process runs (always 1)", ["service", "version"]
)


def record_build_info(service: str, version: str) -> None:
    BUILD_INFO.labels(service=service, version=version).set(1)
