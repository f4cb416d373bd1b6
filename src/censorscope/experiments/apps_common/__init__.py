"""What the instant-messaging experiments share (``telegram``, ``whatsapp``, ``signal``,
``facebook_messenger``): not an experiment itself (no ``experiment.py``).

OONI writes these tests on top of ``urlgetter``: a list of targets (``https://…``,
``http://…``, ``tcpconnect://host:port``, ``dnslookup://host``) measured a few at a time, each
leaving OONI's raw-event lists and a ``failure`` / ``failed_operation``; the test then folds
the per-target outcomes into its own keys. Modules: ``getter`` (one target, every event
recorded by ``trace``), ``collect`` (targets in parallel, the shared test keys), ``options``
(parsing the experiments' own options), ``measurer`` (the run and OONI's envelope).
"""
