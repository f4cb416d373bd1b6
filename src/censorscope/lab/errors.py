"""Errors raised by the lab runtime (the CLI turns them into messages and exit codes)."""

from __future__ import annotations


class LabError(Exception):
    """Something the user can act on: a bad scenario, a busy prefix, a failed step."""

    exit_code = 1


class NeedsRoot(LabError):
    """The lab needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN to create namespaces)."""

    exit_code = 2

    def __init__(self) -> None:
        super().__init__(
            "censorscope lab needs root (CAP_NET_ADMIN) to build network namespaces; "
            "run it with sudo or as root"
        )


class ScenarioError(LabError):
    """A scenario file that does not load or does not validate; the message names the field."""

    exit_code = 2
