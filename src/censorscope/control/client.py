"""The control client, re-exported from :mod:`censorscope.net.control_client` (its home).

The client is the probe's side of the protocol and lives in ``net`` so that experiments can
call a control without importing this package; see that module's docstring.
"""

from censorscope.net.control_client import MAX_RESPONSE, ControlError, call_control

__all__ = ["MAX_RESPONSE", "ControlError", "call_control"]
