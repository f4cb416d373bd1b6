"""Telegram (OONI ``telegram`` 0.3.1, spec ts-020): can the probe reach Telegram's data
centres and ``web.telegram.org``?

HTTP POSTs to each data centre on ports 80 and 443 (plain HTTP on 443, as OONI does) and a GET
of ``https://web.telegram.org/`` (an HTTP status from 400 on is a failure there). Modules:
``testkeys`` (targets and OONI's verdict keys), ``experiment`` (options, registration).
"""
