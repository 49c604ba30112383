"""The four services: queue, intake, deadlines, notify. Each has the same shape
(docs/service-shape.md) and imports none of the others."""
