"""Signal (OONI ``signal`` 0.2.5, spec ts-029): can the probe reach Signal's backend?

HTTPS GETs of Signal's service URLs, trusting Signal's own CA on top of the usual roots (the
bundled ``censorscope/data/signal/signal_ca.pem``, or the ``ca_file`` option), and a lookup of
``uptime.signal.org`` that does not count. Modules: ``testkeys``, ``experiment``.
"""
