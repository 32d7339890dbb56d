"""Run one scenario of a sweep wherever an executor puts it, and hand back plain data, never an exception.

A task is what crosses to a worker (a process of this machine or a Dask
worker elsewhere): the run's id, the file name for messages, and the
resolved scenario as plain data. The worker validates it again, runs it,
and returns the bytes of ``result.json`` and the row of metrics; it writes
nothing, since a Dask worker need not share a disk with the client, and
the client alone writes the output directory. A run that fails returns its
error as one line (kubeadm-style problems for a scenario the engine
refuses, else the exception's type and message) and the traceback apart,
for the run's status file; the rest of the sweep goes on.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Mapping

from sim.scenario.problems import ScenarioError
from sim.scenario.run import run_scenario
from sim.scenario.schema import parse_document
from sim.sweep.summary import Value, summarize

__all__ = ["Outcome", "Task", "describe", "execute"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Task:
    """Carry one run to a worker: its id, the scenario file's name, the resolved scenario."""

    id: str
    source: str
    scenario: Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """Bring one run back: its result file and metrics, or its error; and how long it took."""

    id: str
    error: str = ""
    """One line; empty when the run finished (whatever its expectations said)."""
    result: bytes = b""
    summary: Mapping[str, Value] = field(default_factory=dict)
    detail: str = ""
    """The traceback of an unexpected error, for the status file."""
    wall_time: float = 0.0

    @property
    def ok(self) -> bool:
        """Tell whether the run finished and has a result file."""
        return not self.error


def describe(error: BaseException) -> str:
    """Return an error as one line: a scenario's problems joined, else ``Type: message``."""
    if isinstance(error, ScenarioError):
        return "; ".join(error.lines())
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def execute(task: Task) -> Outcome:
    """Run the task's scenario and return its outcome; a failure becomes an outcome too (module docstring)."""
    started = time.perf_counter()
    try:
        scenario = parse_document(dict(task.scenario), task.source, default_name=str(task.scenario.get("name", "")))
        record = run_scenario(scenario).record
        return Outcome(id=task.id, result=record.dumps(), summary=summarize(record),
                       wall_time=time.perf_counter() - started)
    except Exception as err:  # noqa: BLE001 - any failure of one run is recorded, and the sweep goes on
        return Outcome(id=task.id, error=describe(err), detail=traceback.format_exc(),
                       wall_time=time.perf_counter() - started)
