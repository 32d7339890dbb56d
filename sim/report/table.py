"""Print a run's summary: outcomes by group with kubeadm's error texts, time per phase, throughput, checks.

Error texts are printed whole, each on a line of its own under the outcome
table and referred to by number from it, exactly as kubeadm printed them:
a reader can grep upstream issues for them, and a narrow table column never
wraps them. Times are seconds of simulated time.
"""

from __future__ import annotations

import math

from rich.console import Console
from rich.table import Table

from sim.report.metrics import PHASES, bottleneck, percentile, phase_times, throughput
from sim.report.record import ResultFile, outcome

__all__ = ["print_checks", "print_summary"]


def _seconds(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.3f}"


def _outcomes(result: ResultFile, console: Console) -> None:
    table = Table(title="Outcomes by group", title_justify="left", show_edge=False)
    for column, justify in (("group", "left"), ("outcome", "left"), ("nodes", "right"), ("phase", "left"),
                            ("error", "left")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    errors: list[str] = []
    for group in result.groups():
        rows: dict[tuple[str, str, str], int] = {}
        for node in result.nodes:
            if node.group == group:
                key = (outcome(node), node.phase, node.error)
                rows[key] = rows.get(key, 0) + 1
        for (kind, phase, error), count in rows.items():
            ref = ""
            if error:
                if error not in errors:
                    errors.append(error)
                ref = f"[{errors.index(error) + 1}]"
            table.add_row(group, kind, str(count), phase, ref)
    console.print(table)
    for number, error in enumerate(errors, 1):
        console.print(f"[{number}] {error}", markup=False, highlight=False, soft_wrap=True)


def _phases(result: ResultFile, console: Console) -> None:
    table = Table(title="Time per phase (simulated seconds)", title_justify="left", show_edge=False)
    table.add_column("phase")
    for column in ("nodes", "p50", "p95", "p99", "max"):
        table.add_column(column, justify="right")
    for phase in PHASES:
        times = phase_times(result.nodes, phase)
        table.add_row(phase.name, str(len(times)), *(_seconds(percentile(times, q)) for q in (50, 95, 99, 100)))
    console.print(table)


def print_checks(result: ResultFile, console: Console) -> None:
    """Print the expectations: a count when all held, else each failed one with what was expected and got."""
    if not result.checks:
        console.print("expect: nothing to check")
        return
    failed = [c for c in result.checks if not c.ok]
    if not failed:
        console.print(f"expect: all {len(result.checks)} checks passed")
        return
    console.print(f"expect: {len(failed)} of {len(result.checks)} checks FAILED", style="bold red")
    for check in failed:
        console.print(f"  {result.source}: {check.path}: expected {check.expected}; got {check.actual}",
                      markup=False, highlight=False, soft_wrap=True)


def print_summary(result: ResultFile, console: Console) -> None:
    """Print the whole summary of one run (module docstring)."""
    nodes = len(result.nodes)
    console.rule(f"{result.name}", align="left")
    if result.description:
        console.print(result.description, markup=False, highlight=False)
    console.print(f"seed {result.seed}, {nodes} nodes, {result.sim_time:.3f} s simulated in "
                  f"{result.wall_time:.2f} s wall, joinsim {result.version}", highlight=False)
    _outcomes(result, console)
    _phases(result, console)
    rate = throughput(result.nodes)
    console.print(f"joins per second: {rate:.2f}" if math.isfinite(rate) else "joins per second: all at one instant",
                  highlight=False)
    console.print(f"bottleneck: {bottleneck(result)}", markup=False, highlight=False, soft_wrap=True)
    print_checks(result, console)
