"""Offer ``joinsim run``, ``joinsim report`` and ``joinsim list``: scenario files in, tables, plots and traces out.

Exit codes: 0 when every run met its ``expect`` block, 1 when one did not
(each failed check printed with what was expected and what happened), 2
when a file or an option is wrong (one line per problem, naming the file
and the field path; nothing runs). ``run`` writes ``<out>/<name>/``:
``result.json`` and the figures as PNG and SVG.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from sim.report.record import ResultFile
from sim.scenario.load import load_scenario
from sim.scenario.problems import ScenarioError
from sim.scenario.run import run_scenario
from sim.scenario.tree import Scenario

__all__ = ["WIDE", "add_parsers", "default_library", "print_problems", "run", "summary_console"]

WIDE = 120
"""Columns of the summary when it goes to a file or a pipe (a terminal gives its own width)."""
PROGRESS_AFTER = 0.5
"""Seconds of wall time before a progress bar appears (short runs print none)."""


def default_library() -> str:
    """Return ``./scenarios`` if it exists, else the library next to the installed package."""
    if os.path.isdir("scenarios"):
        return "scenarios"
    return os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "scenarios")


def add_parsers(sub: Any) -> None:
    """Add ``run``, ``report`` and ``list`` to the ``joinsim`` subcommands."""
    p = sub.add_parser("run", help="run scenario files and check what they expect",
                       description="Run each scenario on the simulation engine, print its summary, write "
                                   "result.json and plots to OUT/<name>/, and check its expect block.")
    p.add_argument("files", nargs="+", metavar="FILE", help="scenario YAML files")
    p.add_argument("--seed", type=int, help="override run.seed")
    p.add_argument("--out", default="out", metavar="DIR", help="where results go (default: out)")
    p.add_argument("--set", action="append", default=[], dest="overrides", metavar="PATH=VALUE",
                   help="override a field, e.g. --set nodes[0].count=50 (repeatable)")
    p.add_argument("--trace", metavar="FILE", help="write a Chrome/Perfetto trace (with several files, "
                                                   "each gets FILE with its name inserted)")
    p.add_argument("--no-plots", action="store_true", help="skip the figures (faster)")
    p = sub.add_parser("report", help="redraw a result file's summary and plots",
                       description="Print the summary of a result.json and redraw its plots.")
    p.add_argument("result", metavar="RESULT", help="a result.json written by joinsim run, or a directory written "
                                                     "by joinsim sweep")
    p.add_argument("--out", metavar="DIR", help="where the plots go (default: beside the result)")
    p.add_argument("--trace", metavar="FILE", help="also write a Chrome/Perfetto trace (from the stored events)")
    p.add_argument("--no-plots", action="store_true", help="only print the summary")
    from sim.sweep.cli import add_report_options
    add_report_options(p)
    p = sub.add_parser("list", help="list the scenario library with one-line descriptions",
                       description="List the scenario files of a directory (default: the library).")
    p.add_argument("directory", nargs="?", metavar="DIR", help="directory of scenario files")


def summary_console() -> Console:
    """Return the console summaries print to: the terminal's width, or ``WIDE`` for a file or a pipe."""
    return Console(highlight=False, width=None if sys.stdout.isatty() else WIDE)


def run(args: argparse.Namespace) -> int:
    """Carry out ``run``, ``report`` or ``list``; return the exit code (module docstring)."""
    out = summary_console()
    if args.command == "list":
        return _list(args.directory or default_library(), out)
    if args.command == "report":
        return _report(args, out)
    return _run(args, out)


def print_problems(error: ScenarioError) -> int:
    """Print a file's problems on stderr, one line each; return the exit code 2."""
    for line in error.lines():
        print(line, file=sys.stderr)
    return 2


def _load_all(args: argparse.Namespace) -> list[Scenario] | int:
    overrides = [*args.overrides, *([f"run.seed={args.seed}"] if args.seed is not None else [])]
    scenarios, status, names = [], 0, set()
    for path in args.files:
        try:
            scenario = load_scenario(path, overrides)
        except ScenarioError as err:
            status = print_problems(err)
            continue
        if scenario.name in names:
            print(f"{scenario.source}: name: another file is also named {scenario.name!r}; their results would "
                  "overwrite each other", file=sys.stderr)
            status = 2
        names.add(scenario.name)
        scenarios.append(scenario)
    return status or scenarios


class _LazyProgress:
    """Show a progress bar on a terminal, once a run has taken longer than ``PROGRESS_AFTER``."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.started = time.perf_counter()
        self.bar: Progress | None = None
        self.task: Any = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            if not sys.stderr.isatty() or time.perf_counter() - self.started < PROGRESS_AFTER:
                return
            self.bar = Progress(TextColumn(self.name), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                console=Console(file=sys.stderr), transient=True)
            self.bar.start()
            self.task = self.bar.add_task(self.name, total=total)
        self.bar.update(self.task, completed=done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def _trace_path(path: str, name: str, several: bool) -> str:
    if not several:
        return path
    stem, ext = os.path.splitext(path)
    return f"{stem}-{name}{ext or '.json'}"


def _run(args: argparse.Namespace, console: Console) -> int:
    loaded = _load_all(args)
    if isinstance(loaded, int):
        return loaded
    try:
        os.makedirs(args.out, exist_ok=True)
    except OSError as err:
        print(f"{args.out}: {err.strerror or err}", file=sys.stderr)
        return 2
    failed = False
    records: list[ResultFile] = []
    for scenario in loaded:
        progress = _LazyProgress(scenario.name)
        try:
            outcome = run_scenario(scenario, progress=progress)
        except ScenarioError as err:
            return print_problems(err)
        finally:
            progress.close()
        record = outcome.record
        directory = os.path.join(args.out, scenario.name)
        record.write(os.path.join(directory, "result.json"))
        _show(record, console, directory, plots=not args.no_plots)
        if args.trace:
            from sim.report.trace import write_trace
            path = _trace_path(args.trace, scenario.name, len(loaded) > 1)
            write_trace(record, outcome.result.events, path)
            console.print(f"trace: {path}")
        failed = failed or not record.passed
        records.append(record)
    if len(records) > 1:
        from sim.report.table import print_runs
        print_runs(records, console)
    return 1 if failed else 0


def _show(record: ResultFile, console: Console, directory: str, plots: bool) -> None:
    from sim.report.table import print_summary
    print_summary(record, console)
    console.print(f"result: {os.path.join(directory, 'result.json')}")
    if plots:
        from sim.report.plots import write_plots
        written = write_plots(record, directory)
        console.print(f"plots: {len(written)} files in {directory}/ (" + ", ".join(
            sorted({os.path.splitext(os.path.basename(p))[0] for p in written})) + ")", soft_wrap=True)


def _report(args: argparse.Namespace, console: Console) -> int:
    if os.path.isdir(args.result):
        from sim.sweep.cli import report_directory
        return report_directory(args, console)
    try:
        with open(args.result, "rb") as handle:
            record = ResultFile.loads(handle.read())
    except (OSError, ValueError) as err:
        print(f"{args.result}: {getattr(err, 'strerror', None) or err}", file=sys.stderr)
        return 2
    _show(record, console, args.out or os.path.dirname(os.path.abspath(args.result)), plots=not args.no_plots)
    if args.trace:
        from sim.report.trace import write_trace
        write_trace(record, record.sequence, args.trace)
        console.print(f"trace: {args.trace}")
    return 0


def _list(directory: str, console: Console) -> int:
    try:
        files = sorted(f for f in os.listdir(directory) if f.endswith((".yaml", ".yml")))
    except OSError as err:
        print(f"{directory}: {err.strerror}", file=sys.stderr)
        return 2
    width = max((len(f) for f in files), default=0)
    for name in files:
        try:
            scenario = load_scenario(os.path.join(directory, name))
            text = scenario.description or "(no description)"
        except ScenarioError as err:
            text = f"(invalid: {err.problems[0].line(name)})"
        console.print(f"{name:<{width}}  {text}", markup=False, soft_wrap=True)
    return 0
