"""The lab's service programs: the servers that make the lab a small internet.

Each runs as ``python -m censorscope.lab.services.<name> --config FILE.json`` inside a lab
namespace, binds only to the IPs of its config, prints one ``READY`` line once listening,
reloads its config on SIGHUP (keeping the sockets still wanted) and exits 0 on SIGTERM.

- ``dns``: authoritative DNS / ISP and public resolvers (UDP, TCP, DoH) — ``DNSServerConfig``.
- ``web``: virtual-host HTTP/HTTPS sites with the QA behaviours, blockpage servers and
  (in-process) transparent proxies — ``WebServerConfig``.
- ``proxy``: the transparent ISP proxy on its own — ``ProxyServerConfig``.

``config`` holds the JSON config models (the lab runtime writes these files); ``ca`` the lab CA.
"""
