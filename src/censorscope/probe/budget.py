"""``--max-runtime``: which URLs first, and when to stop starting new ones.

OONI's backend orders a probe's test list by ``weight = priority / max(count, 0.1)``, where
``priority`` comes from per-category rules and ``count`` is how often the URL was measured
from this network in the current and previous week (``ooniapi/common/prio.py``). The probe
does the same locally: :data:`CATEGORY_PRIORITY` gives each Citizen Lab category a priority
(categories that matter most for press freedom, human rights and communication first), the
probe's own history (``probe/history.py``) gives the count, and ties go to the URL measured
least recently (never measured first), then to the list's order.

:class:`Budget` holds the seconds URL experiments may use in one run: each URL experiment
gets a deadline (what the ones before it left), stops starting new measurements when it
passes, and the measurements it did not start are reported as skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from .history import Seen
from .inputs import MeasurementInput

__all__ = [
    "CATEGORY_PRIORITY",
    "DEFAULT_PRIORITY",
    "Budget",
    "order_inputs",
    "priority_of",
    "weight",
]

# Priority per category code (the legend's new codes). Higher is measured first.
CATEGORY_PRIORITY: dict[str, int] = {
    # news, political criticism, human rights, LGBT, communication, social networks,
    # circumvention: what censors target most and what users most need
    "NEWS": 100, "POLR": 100, "HUMR": 100, "LGBT": 100, "COMT": 100, "GRP": 100, "ANON": 100,
    # media sharing and search engines: big platforms, often blocked wholesale
    "MMED": 80, "SRCH": 80,
    # publishing platforms and public-interest topics
    "HOST": 60, "PUBH": 60, "ENV": 60, "REL": 60, "XED": 60, "FILE": 50,
    # contested content
    "HACK": 40, "MILX": 40, "HATE": 40, "CULTR": 40, "GOVT": 40, "IGO": 40,
    # content often filtered but of lesser public interest
    "ECON": 30, "DATE": 30, "PORN": 30, "PROV": 30, "GMB": 30, "ALDR": 30,
    "GAME": 20, "COMM": 20, "MISC": 20,
    # control content
    "CTRL": 10,
}
DEFAULT_PRIORITY = 50  # a URL given with --input (no category) or a code not in the table

Item = str | MeasurementInput
_NEVER = datetime.min.replace(tzinfo=UTC)


def priority_of(category_code: str) -> int:
    """The priority of a category code (:data:`DEFAULT_PRIORITY` for none/unknown)."""

    return CATEGORY_PRIORITY.get(category_code.upper(), DEFAULT_PRIORITY)


def weight(category_code: str, seen: Seen) -> float:
    """OONI's ``priority / max(count, 0.1)``."""

    return priority_of(category_code) / max(seen.count, 0.1)


def order_inputs(items: Iterable[Item], seen: Callable[[str], Seen]) -> list[Item]:
    """``items`` by weight (highest first), then least recently measured (never first), then
    their given order. ``seen(input)`` says how often and when an input was measured."""

    def key(pair: tuple[int, Item]) -> tuple[float, datetime, int]:
        position, item = pair
        text, code = (item.input, item.category_code) if isinstance(item, MeasurementInput) \
            else (item.strip(), "")
        history = seen(text)
        return (-weight(code, history), history.last or _NEVER, position)

    return [item for _, item in sorted(enumerate(items), key=key)]


@dataclass
class Budget:
    """Seconds the URL experiments of one run may use together (``--max-runtime``)."""

    seconds: float
    used: float = 0.0

    @property
    def remaining(self) -> float:
        return max(0.0, self.seconds - self.used)

    def deadline(self, now: float) -> float:
        """When a URL experiment starting at ``now`` (monotonic) must stop starting new
        measurements."""

        return now + self.remaining

    def charge(self, elapsed: float) -> None:
        """A URL experiment ran ``elapsed`` seconds."""

        self.used += max(0.0, elapsed)
