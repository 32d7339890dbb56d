"""Draw a sweep's metric against one varied field: a line per other combination, the seeds' spread as a band.

Each point is the mean over the seeds of the runs that finished and have
the metric (a percentile is missing when no node joined); the band runs
from the lowest to the highest seed, and each seed's value is a faint dot,
so a reader sees both the trend and how much luck is in it. A numeric
field is drawn on a numeric axis; any other (durations, names) as evenly
spaced categories in the order the sweep lists them. Figures are plain
matplotlib ``Figure`` objects saved by ``sim.report.plots.save`` (PNG and
SVG, atomically, repeatable SVG).
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from matplotlib.figure import Figure

__all__ = ["Series", "metric_figure", "metric_series", "plot_stem"]

Row = Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class Series:
    """Hold one line of the figure: its label and, per x value, the seeds' values (empty where none)."""

    label: str
    values: tuple[tuple[float, ...], ...]


def _numeric(values: Sequence[object]) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def metric_series(rows: Sequence[Row], fields: Sequence[str], x: str, xs: Sequence[object],
                  metric: str) -> list[Series]:
    """Return one series per combination of the fields other than ``x``, in the order the rows first show them."""
    others = [f for f in fields if f != x]
    keys: dict[tuple[object, ...], None] = {}
    for row in rows:
        keys[tuple(row[f] for f in others)] = None
    series = []
    for key in keys:
        label = ", ".join(f"{f}={v}" for f, v in zip(others, key)) or metric
        points = []
        for value in xs:
            points.append(tuple(float(row[metric]) for row in rows if row[x] == value and row["status"] == "finished"
                                and row.get(metric) is not None and tuple(row[f] for f in others) == key))
        series.append(Series(label=label, values=tuple(points)))
    return series


def metric_figure(title: str, x: str, xs: Sequence[object], metric: str, series: Sequence[Series]) -> Figure:
    """Return the figure of ``metric`` against ``x``: mean line, min-max band and dots per series (module docstring)."""
    fig = Figure(figsize=(8.0, 4.2), layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    fig.suptitle(title, x=0.01, ha="left", fontsize=11)
    ax.grid(True, alpha=0.3)
    numeric = _numeric(xs)
    positions = [float(v) for v in xs] if numeric else [float(i) for i in range(len(xs))]  # type: ignore[arg-type]
    for line in series:
        at = [(p, v) for p, v in zip(positions, line.values) if v]
        if not at:
            continue
        where = [p for p, _ in at]
        drawn = ax.plot(where, [statistics.fmean(v) for _, v in at], marker="o", label=line.label)
        color = drawn[0].get_color()
        if any(len(v) > 1 for _, v in at):
            ax.fill_between(where, [min(v) for _, v in at], [max(v) for _, v in at], color=color, alpha=0.18,
                            linewidth=0)
            ax.scatter([p for p, v in at for _ in v], [y for _, v in at for y in v], color=color, s=9, alpha=0.45)
    if not numeric:
        ax.set_xticks(positions, [str(v) for v in xs])
    ax.set_xlabel(x)
    ax.set_ylabel(f"{metric} (simulated seconds)" if "time" in metric else metric)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best", fontsize=8)
    return fig


def plot_stem(metric: str, x: str) -> str:
    """Return a file name stem for the figure (``join_time.p50-vs-nodes_0_.count``)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", f"{metric}-vs-{x}")
