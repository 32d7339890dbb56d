"""Turn a scenario file and its varied fields into the list of runs of a sweep, every one checked before any starts.

How this works: the runs are the cartesian product of the varied fields'
values (the first field outermost), times the seeds (innermost), counted
up from the scenario's ``run.seed``. Each combination is loaded as
``joinsim run --set`` would load it, so a bad path or value gets the
loader's own message with the file and the field path; first each value
alone (the message is that value's), then every combination (fields that
only clash together: the message names the combination). Each run keeps
its fully resolved scenario, with the ``sweep`` section emptied so that the
run's scenario is a plain one ``joinsim run`` can repeat. A run's id is a
hash of that scenario, so a run is recognised in an output directory by
what it is, not by where it stood in a list: a sweep resumed with more
values reuses the runs it shares with the first.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from sim.scenario.load import load_scenario
from sim.scenario.problems import Problem, ScenarioError
from sim.scenario.schema import engine_config, resolved
from sim.scenario.sections.run import RUN
from sim.scenario.sections.sweep import SWEEP
from sim.scenario.tree import Scenario
from sim.sweep.spec import Vary, merge

__all__ = ["ID_LENGTH", "Plan", "PlannedRun", "make_plan", "run_id"]

ID_LENGTH = 16
"""Hex digits of a run id (64 bits: no two runs of one sweep collide)."""
_EMPTY_SWEEP = "sweep={}"


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedRun:
    """Describe one run of a sweep: its id, its varied values, its seed, its resolved scenario."""

    id: str
    values: tuple[tuple[str, object], ...]
    """(field path, value), in the order the fields are varied."""
    seed: int
    scenario: Mapping[str, Any]

    def label(self) -> str:
        """Return ``nodes[0].count=10, seed=2``: the run as a reader names it."""
        return ", ".join([*(f"{path}={json.dumps(value)}" for path, value in self.values), f"seed={self.seed}"])


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """Hold a sweep's runs in table order, with the fields it varies and the seeds each combination runs."""

    source: str
    """The scenario file's base name (for messages and the table)."""
    name: str
    vary: tuple[Vary, ...]
    seeds: tuple[int, ...]
    runs: tuple[PlannedRun, ...]


def run_id(scenario: Mapping[str, Any]) -> str:
    """Return the id of a run: a hash of its resolved scenario (module docstring)."""
    text = json.dumps(scenario, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:ID_LENGTH]


def _assignment(path: str, value: object) -> str:
    return f"{path}={json.dumps(value, ensure_ascii=False, default=str)}"


def _load(path: str, overrides: Sequence[str]) -> Scenario:
    scenario = load_scenario(path, overrides)
    engine_config(scenario)  # a check only the engine makes is still found before any run
    return scenario


def _check_each_value(path: str, base: Sequence[str], vary: Sequence[Vary]) -> list[Problem]:
    problems: dict[Problem, None] = {}
    for field in vary:
        for value in field.values:
            try:
                _load(path, [*base, _assignment(field.path, value)])
            except ScenarioError as err:
                for problem in err.problems:  # the loader names the flag --set; this value came from field.origin
                    message = problem.message
                    if message.startswith("--set "):
                        message = f"{field.origin} {message.removeprefix('--set ')}"
                    problems[Problem(path=problem.path, message=message)] = None
    return list(problems)


def _combinations(vary: Sequence[Vary]) -> Iterable[tuple[tuple[str, object], ...]]:
    for values in itertools.product(*(field.values for field in vary)):
        yield tuple(zip((field.path for field in vary), values))


def make_plan(path: str, overrides: Sequence[str] = (), flags: Sequence[Vary] = (), seeds: int | None = None) -> Plan:
    """Return every run of the sweep, or raise ``ScenarioError`` with every problem before any run (module docstring).

    ``overrides`` are ``--set`` assignments applied to every run; ``flags``
    and ``seeds`` come from the command line and win over the file's
    ``sweep`` section.
    """
    scenario = load_scenario(path, overrides)
    vary, count = merge(scenario.source, scenario.get(SWEEP), flags, seeds)
    base = [*overrides, _EMPTY_SWEEP]
    alone = _check_each_value(path, base, vary)
    if alone:
        raise ScenarioError(scenario.source, alone)
    first_seed = scenario.get(RUN).seed
    seed_list = tuple(range(first_seed, first_seed + count))
    runs: list[PlannedRun] = []
    problems: list[Problem] = []
    seen: dict[str, PlannedRun] = {}
    for values in _combinations(vary):
        try:
            combination = _load(path, [*base, *(_assignment(p, v) for p, v in values)])
        except ScenarioError as err:
            where = ", ".join(f"{p}={json.dumps(v, default=str)}" for p, v in values)
            problems += [Problem(path=p.path, message=f"{p.message} (with {where})") for p in err.problems]
            continue
        doc = resolved(combination)
        for seed in seed_list:
            one = copy.deepcopy(doc)
            one["run"]["seed"] = seed
            run = PlannedRun(id=run_id(one), values=values, seed=seed, scenario=one)
            if run.id in seen:
                problems.append(Problem(path=(), message=f"{seen[run.id].label()} and {run.label()} are the same "
                                        "run: is one field varied under two paths?"))
            seen.setdefault(run.id, run)
            runs.append(run)
    if problems:
        raise ScenarioError(scenario.source, problems)
    return Plan(source=scenario.source, name=scenario.name, vary=vary, seeds=seed_list, runs=tuple(runs))

