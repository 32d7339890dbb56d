"""Read ``--vary path=v1,v2,...`` and ``--seeds N`` and merge them with a scenario's own ``sweep`` section.

The values after ``=`` are read as one YAML flow list (``[v1,v2,...]``), so
each is a number, a string or a mapping exactly as ``--set`` would read it,
and a value may hold commas inside brackets or quotes
(``network.latency=2ms,{uniform: [1ms, 5ms]}``). The command line wins over
the file: a path given with ``--vary`` replaces the file's list for that
path, in place; new paths come after the file's. The merged sweep is
checked by the section's own rules (``sweep_problems``), so a file and
a command line are held to the same ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import yaml

from sim.scenario.problems import Problem, ScenarioError
from sim.scenario.sections.sweep import SweepSpec, sweep_problems, vary_path_problem

__all__ = ["Vary", "merge", "parse_vary"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Vary:
    """Hold one varied field: its path and the values it takes, and where it was given (for messages)."""

    path: str
    values: tuple[object, ...]
    origin: str = "--vary"
    """``--vary`` or ``sweep.vary``: which the messages name."""


def parse_vary(text: str) -> Vary:
    """Return the field and values of ``path=v1,v2,...``; raise ValueError saying what is wrong."""
    path, equals, values_text = text.partition("=")
    path = path.strip()
    if not equals or not path:
        raise ValueError(f"--vary {text!r}: want path=v1,v2,..., such as nodes[0].count=10,100")
    problem = vary_path_problem(path)
    if problem is not None:
        raise ValueError(f"--vary {path}: {problem}")
    try:
        values = yaml.safe_load(f"[{values_text}]")
    except yaml.YAMLError as err:
        reason = getattr(err, "problem", None) or str(err)
        raise ValueError(f"--vary {path}: cannot read the values {values_text!r}: {reason}") from None
    if not values or values_text.strip() == "":
        raise ValueError(f"--vary {path}: no values (want path=v1,v2,...)")
    return Vary(path=path, values=tuple(values))


def merge(source: str, file_spec: SweepSpec, flags: Sequence[Vary], seeds: int | None) -> tuple[tuple[Vary, ...], int]:
    """Return the varied fields and the seed count: the file's, overridden by the command line's (module docstring).

    Raise ``ScenarioError`` (naming ``source``) for a path given twice on the
    command line, or for what ``sweep_problems`` finds in the merged sweep.
    """
    problems: list[Problem] = []
    merged = {path: Vary(path=path, values=values, origin="sweep.vary") for path, values in file_spec.vary}
    given: set[str] = set()
    for vary in flags:
        if vary.path in given:
            problems.append(Problem(path=(), message=f"--vary {vary.path}: given twice"))
        given.add(vary.path)
        merged[vary.path] = vary
    count = file_spec.seeds if seeds is None else seeds
    if count < 1:
        problems.append(Problem(path=(), message=f"--seeds: must be a positive integer (got {count})"))
    for path, message in sweep_problems(((v.path, v.values) for v in merged.values()), count):
        where = f"{merged[path].origin} {path}" if path else "--seeds" if seeds is not None else "sweep.seeds"
        problems.append(Problem(path=(), message=f"{where}: {message}"))
    if problems:
        raise ScenarioError(source, problems)
    return tuple(merged.values()), count
