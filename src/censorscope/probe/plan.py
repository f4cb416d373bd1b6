"""What a run measures: one :class:`Step` (experiment + its inputs) per experiment.

``probe run --experiment a,b`` gives each experiment the inputs it takes: a URL experiment
the inputs that are URLs, a target experiment the inputs its ``parse_input`` accepts, an
input-less one nothing (it runs once). ``probe run --preset NAME`` takes its steps from
``probe/presets.py``. Everything is checked here, before anything is measured: unknown
experiments and presets, a preset experiment that is not registered, targets an experiment
refuses, bad test lists and categories, and an experiment left without anything to measure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from censorscope.experiments.interface import Experiment, InputKind
from censorscope.experiments.registry import UnknownExperiment, get_experiment, registered

from .inputs import InputError, InputSourceError, MeasurementInput, parse_input
from .presets import PRESETS, TEST_LISTS, preset_lists
from .sources import list_inputs
from .testlists import available_lists

__all__ = ["PlanError", "Step", "experiment_names", "experiment_steps", "preset_steps"]

Item = str | MeasurementInput


class PlanError(ValueError):
    """The run cannot be planned as asked (a usage error; nothing was measured)."""


@dataclass
class Step:
    """One experiment of a run and its inputs (empty for an input-less experiment)."""

    experiment: Experiment
    inputs: list[Item] = field(default_factory=list)


def experiment_names(values: Sequence[str]) -> list[str]:
    """``("a,b", "c")`` → ``["a", "b", "c"]`` (first occurrence kept)."""

    out: list[str] = []
    for value in values:
        for part in value.split(","):
            name = part.strip()
            if name and name not in out:
                out.append(name)
    return out


def _text(item: Item) -> str:
    return item.input if isinstance(item, MeasurementInput) else item


def accepts(experiment: Experiment, item: Item) -> bool:
    """Whether ``experiment`` can measure ``item``."""

    if experiment.inputs is InputKind.NONE:
        return False
    if experiment.inputs is InputKind.URLS:
        if isinstance(item, MeasurementInput):
            return True
        try:
            parse_input(item)
        except InputError:
            return False
        return True
    try:
        experiment.parse_input(_text(item).strip())
    except ValueError:
        return False
    return True


def _lookup(names: Sequence[str]) -> list[Experiment]:
    try:
        return [get_experiment(name) for name in names]
    except UnknownExperiment as exc:
        raise PlanError(str(exc)) from exc


def experiment_steps(names: Sequence[str], items: list[Item]) -> tuple[list[Step], list[str]]:
    """Steps for ``--experiment`` names (comma-separated or repeated) over ``items``, and the
    inputs no experiment takes (warned about and skipped). One experiment gets every input
    (its run reports the ones it cannot measure, as before)."""

    experiments = _lookup(experiment_names(names))
    if len(experiments) == 1:
        return [Step(experiments[0], list(items))], []
    steps: list[Step] = []
    for exp in experiments:
        if exp.inputs is InputKind.NONE:
            steps.append(Step(exp))
            continue
        mine = [item for item in items if accepts(exp, item)]
        if not mine:
            what = "URL" if exp.inputs is InputKind.URLS else "target"
            raise PlanError(f"nothing to measure for {exp.name}: none of the inputs is a {what} "
                            "it takes (give --input/--input-file/--test-list)")
        steps.append(Step(exp, mine))
    unused = [_text(item) for item in items if not any(accepts(e, item) for e in experiments)]
    return steps, unused


def preset_steps(
    name: str, *, probe_cc: str, test_lists: Sequence[str] = (),
    categories: tuple[str, ...] = (),
) -> list[Step]:
    """The steps of preset ``name`` for ``probe_cc``; ``test_lists`` replace the preset's
    lists (the country's and the global one), ``categories`` filter them."""

    preset = PRESETS.get(name)
    if preset is None:
        raise PlanError(f"unknown preset {name!r}; presets: {', '.join(PRESETS)}")
    known = {exp.name for exp in registered()}
    missing = [s.experiment for s in preset.steps if s.experiment not in known]
    if missing:
        raise PlanError(f"preset {name} needs experiment(s) {', '.join(missing)}, which "
                        f"are not registered (registered: {', '.join(sorted(known))})")
    uses_lists = any(s.inputs == TEST_LISTS for s in preset.steps)
    if (categories or test_lists) and not uses_lists:
        raise PlanError(f"--test-list/--category choose web sites; preset {name} measures none")
    steps: list[Step] = []
    for spec in preset.steps:
        exp = get_experiment(spec.experiment)
        if spec.inputs == TEST_LISTS:
            lists = list(test_lists) or preset_lists(probe_cc, available_lists())
            try:
                urls: list[Item] = list(list_inputs(lists, categories))
            except InputSourceError as exc:
                raise PlanError(str(exc)) from exc
            if not urls:
                raise PlanError(f"preset {name}: no URL in {', '.join(lists)} of categories "
                                f"{', '.join(categories)}")
            steps.append(Step(exp, urls))
            continue
        for target in spec.targets:
            if not accepts(exp, target):
                raise PlanError(f"preset {name}: {exp.name} does not take the target {target!r}")
        steps.append(Step(exp, list(spec.targets)))
    return steps
