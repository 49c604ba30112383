"""motcua: software for the one-stop shops of Vietnamese wards and communes.

* ``motcua.services``: the four services (queue, intake, deadlines, notify); none imports another.
* ``motcua.shared``: what they share: the event contracts, the bus and database plumbing,
  settings, logging and the working-day calendar.
* ``motcua.simulator``: workloads that drive a running system (the Nam Cường replay).
* ``motcua.devtools``: the ``motcua`` command, the dev stack, embedded servers and docs
  generation; the services never import it.
"""
