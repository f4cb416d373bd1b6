"""TLS SNI A/B (censorscope's ``tls_sni``, test version 0.1.0; no OONI spec: OONI's
``sni_blocking`` is the nearest, and this records its events with OONI's data formats).

For each IP of a target, a TLS handshake with the target's server name, one with a control
name and one without SNI tell a name-triggered block (``sni_triggered``) from a blocked IP
(``ip_blocked``), a working one (``ok``) and what the facts cannot settle (``inconclusive``):
the IP × server-name matrix of the seed report, measured on purpose.

Modules: ``options`` (settings, target normal form), ``handshakes`` (one traced attempt and
its facts), ``measurer`` (orchestration, test keys, envelope), ``summary`` (the probe's summary
table row), ``experiment`` (registry entry). The per-IP decision is
``censorscope.model.tls_sni`` (shared with the pipeline).
"""
