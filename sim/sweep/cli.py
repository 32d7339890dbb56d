"""Offer ``joinsim sweep`` (a scenario over every combination of varied values and seeds) and sweep reports.

Exit codes: 0 when every run finished (whatever its ``expect`` block said:
a sweep is for finding where expectations stop holding; the table's
``passed`` column tells), 1 when a run failed with an error (each printed
with its values), 2 when the file, a ``--vary`` or an option is wrong,
``--out`` holds another sweep (``--force`` replaces its plan), or the Dask
scheduler cannot be reached; then nothing runs. ``joinsim report
DIR`` on a sweep directory prints the per-combination table and draws one
metric against one varied field (``--metric``, ``--x``).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from sim.scenario import cli as scenario_cli
from sim.scenario.problems import Problem, ScenarioError
from sim.sweep.executors import DaskCluster, Executor, InProcess, LocalProcesses, SchedulerError, default_workers
from sim.sweep.plan import Plan, make_plan
from sim.sweep.report import DEFAULT_METRIC, check_metric, choose_x, load_report, print_report, write_plot
from sim.sweep.run import SweepResult, run_sweep
from sim.sweep.spec import Vary, parse_vary
from sim.sweep.store import OtherSweep, check_manifest

__all__ = ["SCHEDULER_TIMEOUT", "add_parsers", "add_report_options", "report_directory", "run"]

SCHEDULER_TIMEOUT = 10.0
"""Seconds to wait for the Dask scheduler to answer."""


def add_parsers(sub: Any) -> None:
    """Add ``sweep`` to the ``joinsim`` subcommands."""
    p = sub.add_parser("sweep", help="run a scenario over every combination of varied fields and seeds",
                       description="Run the scenario once per combination of the varied fields' values and per "
                                   "seed, on local processes or a Dask cluster; write each run's scenario and "
                                   "result under OUT/runs/ and one table (results.parquet, results.csv). Runs "
                                   "already complete in OUT are skipped, so a stopped sweep resumes.")
    p.add_argument("file", metavar="FILE", help="scenario YAML file (its sweep section, if any, is the default)")
    p.add_argument("--vary", action="append", default=[], metavar="PATH=V1,V2,...",
                   help="a field and its values, e.g. --vary nodes[0].count=10,100,1000 (repeatable)")
    p.add_argument("--seeds", type=int, metavar="N",
                   help="runs per combination, seeds run.seed, run.seed+1, ... (default: sweep.seeds, else 1)")
    p.add_argument("--set", action="append", default=[], dest="overrides", metavar="PATH=VALUE",
                   help="override a field in every run, e.g. --set cluster.ca_key_type=ecdsa (repeatable)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, metavar="N",
                       help=f"local worker processes (default: every core, {default_workers()} here; 1 runs in "
                            "this process)")
    where.add_argument("--dask-scheduler", metavar="tcp://HOST:PORT",
                       help="run on this Dask cluster instead (its workers need joinsim installed)")
    p.add_argument("--out", metavar="DIR", help="where results go (default: out/<name>-sweep)")
    p.add_argument("--force", action="store_true",
                   help="write this sweep's plan over another sweep's in OUT (by default refused; the same plan, or "
                        "one with more values or seeds, resumes); runs they share are reused, the others stay under "
                        "OUT/runs/ but leave the table")


def add_report_options(parser: argparse.ArgumentParser) -> None:
    """Add the options ``joinsim report`` takes for a sweep directory."""
    parser.add_argument("--metric", default=DEFAULT_METRIC,
                        help=f"sweep directory: the column to plot (default {DEFAULT_METRIC}; any number column of "
                             "results.csv, e.g. joined, worker.join_time.p99, throughput)")
    parser.add_argument("--x", metavar="FIELD",
                        help="sweep directory: the varied field on the x axis (default: the first with several values)")


def _plan(args: argparse.Namespace) -> Plan:
    flags: list[Vary] = []
    problems: list[Problem] = []
    for text in args.vary:
        try:
            flags.append(parse_vary(text))
        except ValueError as err:
            problems.append(Problem(path=(), message=str(err)))
    if args.workers is not None and args.workers < 1:
        problems.append(Problem(path=(), message=f"--workers: must be a positive integer (got {args.workers})"))
    if problems:
        raise ScenarioError(os.path.basename(args.file), problems)
    return make_plan(args.file, args.overrides, flags, args.seeds)


def _executor(args: argparse.Namespace) -> tuple[Executor, str]:
    if args.dask_scheduler:
        return DaskCluster(args.dask_scheduler, SCHEDULER_TIMEOUT), f"the Dask cluster at {args.dask_scheduler}"
    workers = args.workers or default_workers()
    if workers == 1:
        return InProcess(), "this process"
    return LocalProcesses(workers), f"{workers} local processes"


def _progress_bar(name: str) -> tuple[Progress, Any]:
    bar = Progress(TextColumn(name), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                   console=Console(file=sys.stderr))
    return bar, bar.add_task(name, total=None)


def _sweep(plan: Plan, out: str, executor: Executor, force: bool) -> SweepResult:
    bar, task = _progress_bar(plan.name)
    with bar:
        return run_sweep(plan, out, executor, progress=lambda done, total: bar.update(task, completed=done,
                                                                                      total=total), force=force)


def _other_sweep(err: OtherSweep) -> int:
    print(f"{err}: choose a new --out, or add --force to replace that plan", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    """Carry out ``joinsim sweep``; return the exit code (module docstring)."""
    console = scenario_cli.summary_console()
    try:
        plan = _plan(args)
    except ScenarioError as err:
        return scenario_cli.print_problems(err)
    out = args.out or os.path.join("out", f"{plan.name}-sweep")
    if not args.force:
        try:
            check_manifest(out, plan)
        except OtherSweep as err:
            return _other_sweep(err)
    executor, where = _executor(args)
    combinations = len(plan.runs) // len(plan.seeds)
    console.print(f"{plan.source}: {len(plan.runs)} runs ({combinations} combination(s) x {len(plan.seeds)} "
                  f"seed(s)) on {where}, into {out}/", markup=False, soft_wrap=True)
    try:
        if isinstance(executor, DaskCluster):
            executor.probe()
        result = _sweep(plan, out, executor, args.force)
    except OtherSweep as err:  # another sweep wrote its plan there since the check above
        return _other_sweep(err)
    except SchedulerError as err:
        print(err, file=sys.stderr)
        return 2
    except OSError as err:
        print(f"{out}: {err.strerror or err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"interrupted: the runs that ended are kept in {out}/; the same command resumes", file=sys.stderr)
        return 130
    console.print(f"{result.finished} finished now, {result.skipped} already complete, {len(result.failed)} failed",
                  markup=False)
    for planned, error in result.failed:
        print(f"failed: {planned.label()}: {error}", file=sys.stderr)
    _summary(out, console)
    console.print(f"table: {', '.join(result.files)}\nplot: joinsim report {out}", markup=False, soft_wrap=True)
    return 1 if result.failed else 0


def _summary(out: str, console: Console) -> None:
    report = load_report(out)
    if DEFAULT_METRIC in report.metrics:
        print_report(report, DEFAULT_METRIC, console)


def report_directory(args: argparse.Namespace, console: Console) -> int:
    """Carry out ``joinsim report DIR`` for a sweep directory: the table, and one plot unless ``--no-plots``."""
    try:
        report = load_report(args.result)  # its errors name the file
    except ValueError as err:
        print(err, file=sys.stderr)
        return 2
    if not report.metrics:
        print(f"{args.result}: no run finished: nothing to report (results.csv has each run's error)", file=sys.stderr)
        return 1
    try:
        metric = check_metric(report, args.metric)
        x = choose_x(report, args.x)
    except ValueError as err:
        print(f"{args.result}: {err}", file=sys.stderr)
        return 2
    print_report(report, metric, console)
    if not args.no_plots:
        directory = args.out or args.result
        written = write_plot(report, metric, x, directory)
        console.print("plots: " + ", ".join(written), markup=False, soft_wrap=True)
    return 0
