"""Alerts: incidents and outages announced once, as an Atom feed and as signed webhooks.

Detection (``censorscope detect``) recomputes incidents and outages over a trailing window,
so the same story comes back on every run, sometimes with a new id (a late upload moves its
start) or flapping (blocked, clean for a moment, blocked again). This package turns that
stream of states into a few *alerts* a person can subscribe to:

- :mod:`.episodes` — an incident or outage as the alerts see it (subject, span, scope,
  networks, evidence);
- :mod:`.hysteresis` — which alerts to make: ``opened`` once, ``updated`` on a material
  change (new networks, a scope change that holds), ``closed`` once the end has held for the
  quiet period; flapping inside that window makes none;
- :mod:`.state` — what was announced when, and the delivery log, in a JSON state file next
  to the feed (locked, replaced atomically);
- :mod:`.atom` — the Atom feed (RFC 4287);
- :mod:`.webhook` — HTTP POSTs signed with HMAC-SHA256, retried with backoff;
- :mod:`.run` — one ``censorscope alerts`` run; :mod:`.cli` — the command.

It imports only ``censorscope.model``, ``censorscope.store`` and ``censorscope.durable``
(the import-linter contract ``alerts`` in ``pyproject.toml``).
"""
