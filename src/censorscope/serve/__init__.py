"""Strict HTTP/1.1 for internet-facing services: the control, the collector and the coming API.

One foundation, so that every server censorscope exposes to the internet frames, refuses and
answers requests the same way:

- :mod:`~censorscope.serve.limits`: :class:`Limits`, the one size/time policy (request line,
  header count and bytes, body, head/body/idle timeouts, connections, lingering close).
- :mod:`~censorscope.serve.request`: :func:`read_request`, the one request-validation policy:
  request line ``METHOD /absolute-path HTTP/1.x`` (other versions and targets: 400; too long:
  414), header lines ending in CRLF, token names, no obsolete line folding (400), no control
  characters in a header value or the target (400), at most ``max_headers`` lines and
  ``max_header_bytes`` (431), ``Host`` required in HTTP/1.1 and never twice (400),
  ``Content-Length`` digits only and never twice (400), ``Transfer-Encoding``: chunked 411 (send
  a length), any other coding 501, together with ``Content-Length`` 400; a body above
  ``max_body`` 413 (answered before the body is read, without ``100 Continue``), slow head or body
  408. No ``Content-Length`` and no ``Transfer-Encoding`` means no body (RFC 9112 §6.3).
- :mod:`~censorscope.serve.budget`: :class:`BodyBudget`, request bytes held per client address
  and in total (429/503 with ``Retry-After`` beyond), with per-address connection caps (429)
  and head/idle timeouts that shrink near the connection cap (:meth:`Limits.shrink`).
- :mod:`~censorscope.serve.errors`: :class:`HTTPError` and the one JSON error envelope
  ``{"error": {"code": <HTTP status>, "message": "<what to fix>"}}``.
- :mod:`~censorscope.serve.response`: :class:`Response` and :func:`render_response`.
- :mod:`~censorscope.serve.server`: :class:`HTTPServer`, the connection loop: keep-alive and
  pipelining (or one request per connection), 503 above ``max_connections``, one JSON
  access-log line per request, and after a framing error (4xx from :func:`read_request`) an
  answer followed by a *lingering close*: the write side is shut, and what the client is still
  sending (an oversized body, the rest of a huge head) is read and discarded for at most
  ``linger_timeout`` s / ``linger_bytes``, so the client reads the 413/431 instead of a
  connection reset.

Every error a service built on this package sends is the envelope above. Success bodies are
each service's own; two keep OONI's shapes because OONI clients parse them: the collector's
submission answers (``POST /report`` → ``{backend_version, report_id, supported_formats}``,
``POST /report/{id}`` and ``/api/v1/submit_measurement`` → ``{measurement_uid, report_id,
verification_status, error}``, ``{}`` for a discarded or closed report) and the control's Web
Connectivity answers (``POST /`` → the THResponse, ``GET /`` → ``{"message": "Hello
OONItarian!"}``). OONI clients only look at the status of an error, so errors need no OONI shape.

Layering: ``serve`` imports only ``model`` (and the standard library and ``orjson``); the
services (``control``, ``collector``, ``api``) import ``serve``, never each other's servers.
"""

from censorscope.serve.budget import BodyBudget
from censorscope.serve.errors import REASONS, HTTPError, error_body
from censorscope.serve.limits import Limits
from censorscope.serve.request import Request, read_request
from censorscope.serve.response import Response, json_response, render_response
from censorscope.serve.server import AccessRecord, HTTPServer

__all__ = [
    "REASONS",
    "AccessRecord",
    "BodyBudget",
    "HTTPError",
    "HTTPServer",
    "Limits",
    "Request",
    "Response",
    "error_body",
    "json_response",
    "read_request",
    "render_response",
]
