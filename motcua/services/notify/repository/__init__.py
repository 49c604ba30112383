"""Explicit SQL of the notify service on an asyncpg connection.

* ``citizens``: contacts, opt-outs, dossiers, feedback and the waiting line;
* ``deliveries``: the deliveries, their attempts and the source events;
* ``held``: messages kept until their dossier's receipt releases them;
* ``staff``: the staff directory, its audit, the escalation ladders and assignees;
* ``delivery_log``: what the staff API and the dev inbox show of a delivery (secrets masked).

Every function runs on the caller's connection and inside the caller's transaction.
"""
