"""``dns_consistency``: is a name's DNS answer a lie, a CDN, or the truth?

For one domain: the system resolver (getaddrinfo, and its nameserver over UDP), UDP to
several public resolvers, DNS over HTTPS and the control (test helper) resolve it; every
query is recorded (OONI's ``queries``, late replies included: two different replies to one
query are injection). Every distinct answer IP gets a TLS handshake with the domain as
server name and certificate validation, and each resolver's answer is classified against the
control's (``censorscope.model.dns_consistency``): ``consistent``, ``cdn_valid_cert``,
``lie``, ``nxdomain``, ``injected``, ``bogon``, or a failure. A whoami lookup names the
resolver the system really uses. Not an OONI nettest (OONI's legacy ``dns_consistency``
compared resolvers by IP only); the records follow OONI's data formats (df-002, df-005,
df-006, df-008).

Modules: ``options`` (settings, target), ``records`` (the collected archival records),
``lookups`` (system, UDP, DoH), ``reference`` (the control's answer), ``whoami``,
``tlscheck``, ``results`` (classification per resolver), ``measurer``, ``summary`` (the
probe's summary table), ``experiment``.
"""
