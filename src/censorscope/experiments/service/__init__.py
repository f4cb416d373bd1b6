"""The ``service`` experiment: is a named service (TikTok, WhatsApp, YouTube …) reachable from
this network? NetBlocks' per-ISP view, measured endpoint by endpoint.

A service is a set of endpoints (host, port, protocol, path) shipped with the package
(``censorscope/data/services/``; TikTok's from the bundled Citizen Lab list) or given in a file
(option ``endpoints_file``). For each endpoint, concurrently with a bound: DNS (system
resolver), TCP connect, TLS handshake with the endpoint's name as SNI and certificate
validation, and an HTTP GET of its path, every step recorded with ``trace`` in OONI's
``queries``/``tcp_connect``/``tls_handshakes``/``requests``/``network_events``. Any HTTP status
counts as reachable (a 404 comes from the real server); a failed step does not. The service is
``available`` (every endpoint ok), ``restricted`` (some fail) or ``unavailable`` (all fail).
There is no OONI specification of this test: ``test_name`` ``service``, ``test_version`` 0.1.0.
"""
