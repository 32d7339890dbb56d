"""Print a run's summary: outcomes with kubeadm's error texts, attackers, admin actions, phases, throughput.

Error texts are printed whole, each on a line of its own under the outcome
table and referred to by number from it, exactly as kubeadm printed them:
a reader can grep upstream issues for them, and a narrow table column never
wraps them. Times are seconds of simulated time.
"""

from __future__ import annotations

import math
from typing import Sequence

from rich.console import Console
from rich.table import Table

from sim.report.metrics import PHASES, bottleneck, percentile, phase_times, throughput
from sim.report.record import ResultFile, outcome

__all__ = ["MAX_ERROR_ROWS", "MAX_REJOINED", "print_checks", "print_runs", "print_summary"]

MAX_REJOINED = 5
"""Nodes whose every join is listed (after an admin's rejoin); the rest are counted."""
MAX_ERROR_ROWS = 8
"""Rows of one group's outcomes, most frequent first; rarer error texts are counted in one more row."""


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
        ranked = sorted(rows.items(), key=lambda row: -row[1])  # stable: first seen first among equals
        for (kind, phase, error), count in ranked[:MAX_ERROR_ROWS]:
            ref = ""
            if error:
                if error not in errors:
                    errors.append(error)
                ref = f"[{errors.index(error) + 1}]"
            table.add_row(group, kind, str(count), phase, ref)
        rest = ranked[MAX_ERROR_ROWS:]
        if rest:
            table.add_row(group, "failed", str(sum(count for _, count in rest)), "",
                          f"{len(rest)} other error texts (result.json has every node's)")
    console.print(table)
    rejoined = [node for node in result.nodes if len(node.joins) > 1]
    for node in rejoined[:MAX_REJOINED]:
        runs = []
        for run in node.joins:
            if run.error and run.error not in errors:
                errors.append(run.error)
            runs.append("joined" if run.joined else f"failed in {run.phase} [{errors.index(run.error) + 1}]"
                        if run.error else "unfinished")
        console.print(f"{node.name} ran kubeadm join {len(node.joins)} times: " + "; ".join(runs), markup=False,
                      highlight=False, soft_wrap=True)
    if len(rejoined) > MAX_REJOINED:
        console.print(f"... and {len(rejoined) - MAX_REJOINED} more nodes that ran kubeadm join more than once")
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


def _attackers(result: ResultFile, console: Console) -> None:
    if not result.attackers:
        return
    table = Table(title="Attackers", title_justify="left", show_edge=False)
    # answered: requests a MITM answered; trusted: nodes trusting its CA; certs: node identities it holds
    for column in ("attacker", "kind", "answered", "victims", "trusted", "CSRs", "certs"):
        table.add_column(column, justify="left" if column in ("attacker", "kind") else "right")
    for a in result.attackers:
        trusting = sum(bool(a.ca_pin) and n.trusted_ca_pin == a.ca_pin for n in result.nodes)
        csrs = str(a.csrs_created) + (f" ({a.csrs_failed} refused)" if a.csrs_failed else "")
        table.add_row(a.name, a.kind, str(a.intercepted), str(len(a.victims)), str(trusting), csrs,
                      str(len(a.identities)))
    console.print(table)
    for a in result.attackers:
        if a.identities:
            console.print(f"{a.name} holds certificates for: {', '.join(a.identities)}" + (
                "; it registered the Node" if a.node_registered else ""), markup=False, soft_wrap=True)
        if a.error:
            console.print(f"{a.name}'s last error: {a.error}", markup=False, soft_wrap=True)


def _admin(result: ResultFile, console: Console) -> None:
    for record in result.admin:
        said = record.error or "; ".join(record.lines) or "done"
        console.print(f"admin at {record.at:g} s: {record.action}: {said}", markup=False, soft_wrap=True)


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
    _attackers(result, console)
    _admin(result, console)
    _phases(result, console)
    rate = throughput(result.nodes)
    console.print(f"joins per second: {rate:.2f}" if math.isfinite(rate) else "joins per second: all at one instant",
                  highlight=False)
    console.print(f"bottleneck: {bottleneck(result)}", markup=False, highlight=False, soft_wrap=True)
    print_checks(result, console)


def print_runs(results: Sequence[ResultFile], console: Console) -> None:
    """Print one row per run, to compare runs side by side (storms of several sizes and limits, say)."""
    table = Table(title="Runs", title_justify="left", show_edge=False)
    for column in ("scenario", "nodes", "joined", "failed", "joins/s", "p50 s", "p99 s", "expect"):
        table.add_column(column, justify="left" if column in ("scenario", "expect") else "right")
    for result in results:
        times = phase_times(result.nodes, PHASES[-1])
        joined = sum(node.joined for node in result.nodes)
        rate = throughput(result.nodes)
        table.add_row(result.name, str(len(result.nodes)), str(joined),
                      str(sum(outcome(node) == "failed" for node in result.nodes)),
                      f"{rate:.1f}" if math.isfinite(rate) else "-", _seconds(percentile(times, 50)),
                      _seconds(percentile(times, 99)), "passed" if result.passed else "FAILED")
    console.print(table)
