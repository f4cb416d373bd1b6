"""Why a report cannot be written, each with the exit status ``censorscope report`` gives it.

The statuses follow ``censorscope detect``'s (2 usage or a store that cannot be opened, 3 a busy
store, 4 no verdicts, 5 unknown country, 6 empty window) and add 7: the window holds scored
measurements but no incident or outage of the country (and target) to report.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "EXIT_EMPTY_WINDOW", "EXIT_NOTHING_TO_REPORT", "EXIT_NO_VERDICTS", "EXIT_STORE_BUSY",
    "EXIT_UNKNOWN_COUNTRY", "EXIT_USAGE", "EmptyWindow", "NoVerdicts", "NothingToReport",
    "ReportProblem", "UnknownCountry",
]

EXIT_USAGE: Final = 2
EXIT_STORE_BUSY: Final = 3
EXIT_NO_VERDICTS: Final = 4
EXIT_UNKNOWN_COUNTRY: Final = 5
EXIT_EMPTY_WINDOW: Final = 6
EXIT_NOTHING_TO_REPORT: Final = 7


class ReportProblem(Exception):
    """The store cannot give a report; ``code`` is the exit status, ``str()`` the message."""

    code: int = EXIT_USAGE


class NoVerdicts(ReportProblem):
    code = EXIT_NO_VERDICTS


class UnknownCountry(ReportProblem):
    code = EXIT_UNKNOWN_COUNTRY


class EmptyWindow(ReportProblem):
    code = EXIT_EMPTY_WINDOW


class NothingToReport(ReportProblem):
    code = EXIT_NOTHING_TO_REPORT
