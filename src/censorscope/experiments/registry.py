"""The experiments the probe can run, by name: the one place ``probe run --experiment`` looks.

Built-in experiments are found, not listed: every package ``censorscope.experiments.<name>``
with an ``experiment.py`` that defines ``EXPERIMENT`` is registered when this module is
imported (:func:`_builtin`); :func:`register` adds one at run time (a plug-in, or a test's own small
experiment) and :func:`unregister` removes it again. Names are unique; registering a taken
name is an error unless ``replace=True``. See CONTRIBUTING.md, "Adding an experiment".
"""

from __future__ import annotations

import importlib
import pkgutil

import censorscope.experiments as _package
from censorscope.experiments.interface import Experiment

__all__ = [
    "UnknownExperiment",
    "get_experiment",
    "register",
    "registered",
    "unregister",
]

_EXPERIMENTS: dict[str, Experiment] = {}


class UnknownExperiment(LookupError):
    """No experiment has this name; ``known`` lists the registered ones."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        self.known = known
        listed = ", ".join(known) if known else "none"
        super().__init__(f"unknown experiment {name!r}; registered experiments: {listed}")

    def __str__(self) -> str:
        return str(self.args[0])


def register(experiment: Experiment, *, replace: bool = False) -> Experiment:
    """Make ``experiment`` runnable under ``experiment.name``; returns it."""

    if not experiment.name or experiment.name != experiment.name.strip():
        raise ValueError(f"experiment name {experiment.name!r} is empty or padded")
    if experiment.name in _EXPERIMENTS and not replace:
        raise ValueError(f"an experiment named {experiment.name!r} is already registered")
    _EXPERIMENTS[experiment.name] = experiment
    return experiment


def unregister(name: str) -> None:
    """Forget the experiment called ``name`` (nothing happens if there is none)."""

    _EXPERIMENTS.pop(name, None)


def get_experiment(name: str) -> Experiment:
    """The experiment called ``name``; :class:`UnknownExperiment` listing the others."""

    try:
        return _EXPERIMENTS[name]
    except KeyError:
        raise UnknownExperiment(name, sorted(_EXPERIMENTS)) from None


def registered() -> list[Experiment]:
    """Every registered experiment, by name."""

    return [_EXPERIMENTS[name] for name in sorted(_EXPERIMENTS)]


def _builtin() -> list[Experiment]:
    """The ``EXPERIMENT`` of every sub-package's ``experiment`` module, by package name."""

    found: list[Experiment] = []
    for info in sorted(pkgutil.iter_modules(_package.__path__), key=lambda i: i.name):
        if not info.ispkg:
            continue
        try:
            module = importlib.import_module(f"{_package.__name__}.{info.name}.experiment")
        except ModuleNotFoundError as exc:
            if exc.name != f"{_package.__name__}.{info.name}.experiment":
                raise  # a broken experiment must fail loudly, not vanish
            continue
        found.append(module.EXPERIMENT)
    return found


for _experiment in _builtin():
    register(_experiment)
