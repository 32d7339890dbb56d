"""Carry out a sweep: skip runs already complete, run the rest on an executor, write each as it ends, then the table.

The plan is written first (unless the directory holds another sweep's:
``store.check_manifest``), then each pending run's scenario; outcomes are
written as they arrive (so an interrupted sweep keeps every run that
ended), and the table last, from every run's status, once every run has
been tried. ``progress(done, total)`` is called after each outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pyarrow as pa

from sim.sweep.executors import Executor
from sim.sweep.plan import Plan, PlannedRun
from sim.sweep.store import check_manifest, read_status, write_manifest, write_outcome, write_scenario
from sim.sweep.table import build_table, write_table
from sim.sweep.task import Task

__all__ = ["SweepResult", "pending_runs", "run_sweep"]

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class SweepResult:
    """Say what a sweep did: runs skipped as complete, runs that finished or failed now, the table and its files."""

    skipped: int
    finished: int
    failed: tuple[tuple[PlannedRun, str], ...]
    """Each run that failed now, with its error."""
    table: pa.Table
    files: tuple[str, ...]


def pending_runs(plan: Plan, out: str) -> list[PlannedRun]:
    """Return the runs of the plan that have no complete result in ``out`` (failed ones included)."""
    seen: set[str] = set()
    pending = []
    for run in plan.runs:
        status = read_status(out, run.id)
        if run.id not in seen and (status is None or not status.ok):
            pending.append(run)
        seen.add(run.id)
    return pending


def run_sweep(plan: Plan, out: str, executor: Executor, progress: Progress | None = None, *,
              force: bool = False) -> SweepResult:
    """Run what is pending of the plan into ``out`` and write the table (module docstring).

    Raise ``store.OtherSweep`` before writing anything if ``out`` holds
    another sweep's plan (or one that cannot be read), unless ``force``: then
    this plan replaces it, and the runs it shares with it are reused.
    """
    if not force:
        check_manifest(out, plan)
    write_manifest(out, plan)
    pending = pending_runs(plan, out)
    by_id = {run.id: run for run in pending}
    for run in pending:
        write_scenario(out, run)
    total, done, finished = len(pending), 0, 0
    failed: list[tuple[PlannedRun, str]] = []
    if progress is not None:
        progress(0, total)
    tasks = [Task(id=run.id, source=plan.source, scenario=run.scenario) for run in pending]
    for outcome in executor.run(tasks):
        write_outcome(out, outcome)
        done += 1
        if outcome.ok:
            finished += 1
        else:
            failed.append((by_id[outcome.id], outcome.error))
        if progress is not None:
            progress(done, total)
    table = build_table(plan, {run.id: read_status(out, run.id) for run in plan.runs})
    files = write_table(table, out)
    order = {run.id: i for i, run in enumerate(plan.runs)}
    failed.sort(key=lambda pair: order[pair[0].id])
    return SweepResult(skipped=len(plan.runs) - total, finished=finished, failed=tuple(failed), table=table,
                       files=tuple(files))
