"""The one error of ``censorscope.cost``: inputs no estimate can be made from."""

from __future__ import annotations

from typing import Final, Literal

__all__ = ["REASONS", "CostInputError", "Reason"]

Reason = Literal["country", "year", "value", "options"]
REASONS: Final = ("country", "year", "value", "options")


class CostInputError(ValueError):
    """Inputs no estimate can be made from; the message says which and what would do.

    ``reason`` tells the kind apart (the CLI maps each to its exit status): ``country`` (not
    in the World Bank table), ``year`` (no GDP for that year), ``value`` (days not positive, a
    percentage out of range), ``options`` (a combination that does not fit the kind, an
    unknown service).
    """

    def __init__(self, message: str, reason: Reason = "value") -> None:
        super().__init__(message)
        self.reason: Reason = reason
