"""One attempt of the A/B test: connect to ``ip:port`` and run a TLS handshake, traced.

:func:`run_attempt` does the I/O through :class:`censorscope.trace.trace.Trace` (so the
``tcp_connect``, ``tls_handshakes`` and ``network_events`` records are OONI's) and never
raises for a network failure. :func:`attempt_facts` reads back from those records what the
decision needs: the connect's failure, the handshake's failure, and the bytes written
(the ClientHello) and read (the server's answer) between ``tls_handshake_start`` and
``tls_handshake_done``. The target's handshake validates the certificate for the name; the
control and no-SNI handshakes only need to complete, so they do not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from censorscope.model import failures as F
from censorscope.model.tls_sni import CERTIFICATE_FAILURES, Attempt, Role
from censorscope.net.conn import TCPConn
from censorscope.net.errors import NetError
from censorscope.net.tls import TLSConfig
from censorscope.trace.trace import Trace

from .options import TLSSNIOptions

__all__ = ["AttemptPlan", "attempt_facts", "attempt_record", "run_attempt"]

# what the target offers (OONI's TLS-only probes offer the same)
ALPN = ["h2", "http/1.1"]


@dataclass(frozen=True)
class AttemptPlan:
    """One handshake to make: where, in which role, with which server name ("" = none)."""

    ip: str
    port: int
    role: Role
    server_name: str


async def run_attempt(plan: AttemptPlan, options: TLSSNIOptions, trace: Trace) -> None:
    """Connect and handshake as ``plan`` says, recording everything in ``trace``."""
    t = options.timeouts
    tcp: TCPConn | None = None
    try:
        tcp = await trace.connect_tcp(plan.ip, plan.port, timeout=t.tcp)
        verify = plan.role == "target"
        config = TLSConfig(server_name=plan.server_name or None, alpn=list(ALPN),
                           ca_file=options.ca_file, verify=verify)
        tls = await trace.tls_handshake(tcp, config, timeout=t.tls)
        tls.close()
    except NetError:
        pass
    finally:
        if tcp is not None:
            tcp.close()


def _handshake_bytes(trace: Trace) -> tuple[int, int]:
    """(bytes written, bytes read) between ``tls_handshake_start`` and ``_done``."""
    written = read = 0
    inside = False
    for ev in trace.network_events:
        op = ev.get("operation")
        if op == "tls_handshake_start":
            inside = True
        elif op == "tls_handshake_done":
            break
        elif inside and op in (F.WRITE, F.READ):
            n = ev.get("num_bytes") or 0
            if op == F.WRITE:
                written += n
            else:
                read += n
    return written, read


def attempt_facts(plan: AttemptPlan, trace: Trace) -> Attempt:
    """What the decision needs from ``trace`` (the records of one :func:`run_attempt`)."""
    connect = trace.tcp_connect[0]["status"]["failure"] if trace.tcp_connect else F.INTERRUPTED
    if not trace.tls_handshakes:
        return Attempt(plan.role, connect, tls_attempted=False)
    written, read = _handshake_bytes(trace)
    return Attempt(plan.role, connect, tls_attempted=True,
                   tls_failure=trace.tls_handshakes[0]["failure"],
                   hello_bytes=written, answer_bytes=read)


def attempt_record(plan: AttemptPlan, trace: Trace, facts: Attempt) -> dict[str, Any]:
    """The per-attempt entry of ``results[]``: its server name, transaction, failure and
    failed operation, whether the ClientHello was written, the bytes read back and, for the
    target, whether the certificate was valid for the name (None: no certificate was
    checked, e.g. the handshake never got one)."""
    failed_operation: str | None = None
    failure: str | None = None
    if facts.connect_failure is not None:
        failed_operation, failure = F.CONNECT, facts.connect_failure
    elif facts.tls_failure is not None:
        failed_operation, failure = F.TLS_HANDSHAKE, facts.tls_failure
    record: dict[str, Any] = {
        "server_name": plan.server_name,
        "transaction_id": trace.transaction_id,
        "failure": failure,
        "failed_operation": failed_operation,
        "client_hello_written": facts.hello_written,
        "bytes_written": facts.hello_bytes,
        "bytes_read": facts.answer_bytes,
        "handshake_completed": facts.completed,
    }
    if plan.role == "target":
        record["cert_valid_for_name"] = (
            True if facts.completed else
            False if facts.tls_failure in CERTIFICATE_FAILURES else None)
    return record
