"""Web Connectivity 0.5 "classic" analysis: OONI's compatibility verdict keys (``blocking``,
``accessible``, ``dns_consistency``, HTTP-diff keys, extended flags) computed from recorded
facts exactly as probe-cli LTE 0.5.28 does (``reference/ooni-probe.md`` §1.4)."""

from censorscope.experiments.web_connectivity.classic.keys import compute_classic_keys

__all__ = ["compute_classic_keys"]
