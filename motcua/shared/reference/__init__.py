"""Reference data, defined once: the portal's dossier statuses, the service lines
and the priority reasons at the queue.

Each piece has one home, chosen by what it is:

* **Portal statuses** (``portal_statuses.json``, read by :mod:`.statuses`): the
  national public-service portal's dossier steps, with their names in Vietnamese
  and English, whether the legal clock runs in each, and the citizen-facing labels
  of the dossier events. Data, not contract: the events carry only the numeric
  code, so the names live in a file that intake (receipts, the citizen's lookup)
  and deadlines (the leaders' worklist) both read. intake may still be pointed at
  a deployment's own file (``MOTCUA_INTAKE_STATUSES_FILE``).
* **Service lines** (``service_lines.json``, read by :mod:`.lines`): the codes
  and names of the fields (lĩnh vực) a center's queue and its procedures are
  grouped by. Data, not contract: events carry a line code as a plain string.
  queue's centers file says which lines a center opens (ticket letter, counters);
  intake's procedure catalog says which line a procedure belongs to; both refer
  to these codes and take the names from here.
* **Priority reasons** (:mod:`.priority`): part of two contracts (the kiosk's HTTP
  request and, deprecated, the ticket events), so a ``Literal`` type that the
  event catalog imports, rather than a data file: a type checker sees every use.
  It sits here, not in ``motcua.shared.events``, so that the queue's pure domain
  can check a reason without importing pydantic.

Every module here imports only the standard library. Nothing is read at import
time: each file is read on first use and kept for the life of the process.
"""
