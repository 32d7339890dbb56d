"""Describe the ``sweep`` section: which fields ``joinsim sweep`` varies, and over how many seeds.

A scenario can carry the sweep it is meant for, so ``joinsim sweep FILE``
needs no flags; ``--vary`` and ``--seeds`` on the command line win over it,
field by field. ``vary`` maps a field path, in the syntax of ``--set``
(``nodes[0].count``, ``nodes[worker].count``), to the values it takes; the
runs are every combination of them, each run ``seeds`` times with seeds
counted up from ``run.seed``. A path is checked here for its syntax; whether
it names a field and each value fits it is checked by loading every
combination before any run starts (``sim.sweep.plan``). ``joinsim run``
runs the scenario once and leaves this section alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Iterable

from sim.scenario.kinds import Integer
from sim.scenario.problems import INVALID, Path, Problem, got
from sim.scenario.records import ListOf, MapOf, Record, option
from sim.scenario.tree import Section

__all__ = ["SEED_PATH", "SWEEP", "SweepSpec", "sweep_problems", "vary_path_problem"]

SEED_PATH: Final = "run.seed"
"""The field ``seeds`` counts up: varying it as well would run the same seeds twice over."""


def vary_path_problem(text: str) -> str | None:
    """Return why a field path cannot be varied (bad syntax, or the sweep itself), or None if it can."""
    from sim.scenario.load import parse_path  # load imports the section table, which imports this module

    try:
        parts = parse_path(text)
    except ValueError as err:
        return str(err)
    if parts[0] == "sweep":
        return "the sweep cannot vary itself"
    return None


@dataclass(frozen=True, slots=True)
class _FieldPath:
    """Accept a field path that ``--set`` would accept (``nodes[0].count``)."""

    def parse(self, raw: object, path: Path, problems: list[Problem]) -> Any:
        """Return the path text, or record why it cannot be varied."""
        if not isinstance(raw, str):
            problems.append(Problem(path=path, message=f"must be a field path such as nodes[0].count {got(raw)}"))
            return INVALID
        problem = vary_path_problem(raw)
        if problem is not None:
            problems.append(Problem(path=path, message=problem))
            return INVALID
        return raw

    def dump(self, value: Any) -> object:
        """Return the path text."""
        return value


@dataclass(frozen=True, slots=True)
class _Value:
    """Accept any YAML value: whether it fits the varied field is the field's own check, run per combination."""

    def parse(self, raw: object, path: Path, problems: list[Problem]) -> Any:
        """Return the value as written."""
        return raw

    def dump(self, value: Any) -> object:
        """Return the value as written."""
        return value


@dataclass(frozen=True, slots=True, kw_only=True)
class SweepSpec:
    """Say which fields a sweep varies, over which values, and how many seeds each combination runs."""

    vary: tuple[tuple[str, tuple[object, ...]], ...] = option(
        MapOf(_FieldPath(), ListOf(_Value(), min_items=1)), "field path -> the values it takes (every combination "
        "runs)", ())
    seeds: int = option(Integer(1), "runs per combination, with seeds run.seed, run.seed + 1, ...", 1)

    def problems(self) -> Iterable[tuple[str, str]]:
        """Report what ``sweep_problems`` finds, under ``vary`` or ``seeds``."""
        for path, message in sweep_problems(self.vary, self.seeds):
            yield ("vary", f"{path}: {message}") if path else ("seeds", message)


def sweep_problems(vary: Iterable[tuple[str, tuple[object, ...]]], seeds: int) -> Iterable[tuple[str, str]]:
    """Yield ``(path, message)`` for what would run one scenario twice over (empty path: the whole sweep).

    A value listed twice is one run twice; ``run.seed`` varied while ``seeds``
    counts it up gives runs whose seeds overlap.
    """
    varied = []
    for path, values in vary:
        varied.append(path)
        twice = [v for i, v in enumerate(values) if v in values[:i]]
        if twice:
            yield path, f"{twice[0]!r} is listed twice"
    if seeds > 1 and SEED_PATH in varied:
        yield "", f"{SEED_PATH} is varied and seeds is {seeds}: list every seed in {SEED_PATH} and leave seeds at 1"


SWEEP: Section[SweepSpec] = Section(key="sweep", kind=Record(SweepSpec), default=SweepSpec(),
                                    doc="the fields joinsim sweep varies and the seeds per combination")
