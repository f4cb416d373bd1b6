"""The experiments the probe can run, by OONI test name."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["EXPERIMENTS", "ExperimentInfo", "get_experiment"]


@dataclass(frozen=True)
class ExperimentInfo:
    """An experiment: OONI name and version, and where its measurer lives."""

    test_name: str
    test_version: str
    measurer: str  # "module:Class"
    description: str


EXPERIMENTS: dict[str, ExperimentInfo] = {
    "web_connectivity": ExperimentInfo(
        test_name="web_connectivity",
        test_version="0.5.28",
        measurer="censorscope.experiments.web_connectivity.measurer:WebConnectivityMeasurer",
        description="DNS, TCP, TLS and HTTP(S) from the probe compared with the control.",
    ),
}


def get_experiment(name: str) -> ExperimentInfo:
    """The experiment called ``name``; ``KeyError`` listing the known ones otherwise."""

    try:
        return EXPERIMENTS[name]
    except KeyError:
        known = ", ".join(sorted(EXPERIMENTS))
        raise KeyError(f"unknown experiment {name!r}; known: {known}") from None
