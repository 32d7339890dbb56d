"""Report a finished sweep from its directory: a table per combination of varied values, and a metric's plot.

``joinsim report DIR`` reads the sweep's plan (``sweep.json``) and table
(``results.parquet``) alone. The printed table has a row per combination
of the varied values: how many of its seeds finished, and the metric's
mean, lowest and highest over them. The plot draws the metric against one
varied field (default: the first with more than one value, else the seed),
one line per combination of the others (``sim.sweep.plots``).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any, Final, Mapping

from rich.console import Console
from rich.table import Table

from sim.scenario.problems import did_you_mean
from sim.sweep.plots import metric_figure, metric_series, plot_stem
from sim.sweep.store import read_manifest
from sim.sweep.table import FIXED_COLUMNS, read_table

__all__ = ["DEFAULT_METRIC", "SweepReport", "check_metric", "choose_x", "load_report", "print_report", "write_plot"]

DEFAULT_METRIC: Final = "join_time.p50"


@dataclass(frozen=True, slots=True, kw_only=True)
class SweepReport:
    """Hold what a sweep directory says: its name, varied fields, the table's rows and which columns are metrics."""

    name: str
    fields: tuple[str, ...]
    rows: tuple[Mapping[str, Any], ...]
    metrics: tuple[str, ...]
    """Numeric columns other than the seed and the varied fields."""


def load_report(directory: str) -> SweepReport:
    """Read a sweep directory; raise ValueError saying what is missing or broken."""
    manifest = read_manifest(directory)
    table = read_table(directory)
    fields = tuple(str(v["path"]) for v in manifest["vary"])
    numeric = ("int", "double", "bool")
    metrics = tuple(f.name for f in table.schema if f.name not in (*fields, *FIXED_COLUMNS)
                    and str(f.type) in numeric)
    return SweepReport(name=str(manifest["name"]), fields=fields, rows=tuple(table.to_pylist()), metrics=metrics)


def choose_x(report: SweepReport, wanted: str | None) -> str:
    """Return the field to plot against: ``wanted`` if it is varied, else the first with several values, else seed."""
    choices = [*report.fields, "seed"]
    if wanted is not None:
        if wanted not in choices:
            raise ValueError(f"--x {wanted}: {did_you_mean(wanted, choices).replace('unknown field', 'not varied')}")
        return wanted
    for field in report.fields:
        if len({repr(row[field]) for row in report.rows}) > 1:
            return field
    return "seed"


def check_metric(report: SweepReport, metric: str) -> str:
    """Return the metric if the table has it as a number column; raise ValueError naming the close ones otherwise."""
    if metric not in report.metrics:
        known = did_you_mean(metric, report.metrics).replace("unknown field", "no such column")
        raise ValueError(f"--metric {metric}: {known}")
    return metric


def _cell(value: float) -> str:
    return f"{value:.4g}"


def print_report(report: SweepReport, metric: str, console: Console) -> None:
    """Print a row per combination of varied values: seeds finished of run, and the metric's mean, min and max."""
    groups: dict[tuple[Any, ...], list[Mapping[str, Any]]] = {}
    for row in report.rows:
        groups.setdefault(tuple(row[f] for f in report.fields), []).append(row)
    table = Table(title=f"{report.name}: {metric} over seeds", title_justify="left")
    for field in report.fields:
        table.add_column(field, justify="right")
    for name in ("finished", f"{metric} mean", "min", "max"):
        table.add_column(name, justify="right")
    for key, rows in groups.items():
        values = [float(r[metric]) for r in rows if r["status"] == "finished" and r.get(metric) is not None]
        finished = sum(r["status"] == "finished" for r in rows)
        stats = [_cell(statistics.fmean(values)), _cell(min(values)), _cell(max(values))] if values else ["-"] * 3
        table.add_row(*(str(v) for v in key), f"{finished}/{len(rows)}", *stats)
    console.print(table)


def write_plot(report: SweepReport, metric: str, x: str, directory: str) -> list[str]:
    """Draw ``metric`` against ``x`` into ``directory`` as PNG and SVG; return the paths."""
    from sim.report.plots import save

    xs = list({repr(row[x]): row[x] for row in report.rows}.values())  # in plan order
    seeds = len({row["seed"] for row in report.rows})
    series = metric_series(report.rows, report.fields, x, xs, metric)
    spread = f"mean of {seeds} seeds; band and dots: each seed" if seeds > 1 and x != "seed" else "one run a point"
    figure = metric_figure(f"{report.name}: {metric} vs {x}\n{spread}", x, xs, metric, series)
    return save(figure, directory, plot_stem(metric, x))

