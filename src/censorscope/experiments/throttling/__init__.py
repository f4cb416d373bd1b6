"""The ``throttling`` experiment: is a target slowed down, compared with a control?

A fixed-size download (``size``, default 512 KiB) from the target URL and then from a control
URL serving the same object, each recorded event by event (OONI's ``queries``,
``tcp_connect``, ``tls_handshakes``, ``requests`` and ``network_events`` with the
``bytes_received_cumulative`` samples of OONI's throttling sampler, here at a fixed
``sample_interval``). Per download: TLS handshake time, time to first byte, throughput over
time, the plateau rate (a policer's steady rate), total time and bytes; the verdict
(``throttled`` / ``ok`` / ``inconclusive``) with the ratio of the plateaus. OONI has no such
test (dd-007 analyses Web Connectivity's events offline); its method is the floor here:
``censorscope.model.throughput``. Names: ``experiment.py`` (registration), ``options.py``,
``download.py`` (one traced download), ``testkeys.py``, ``measurer.py``.
"""
