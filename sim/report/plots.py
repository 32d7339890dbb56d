"""Draw a run's figures from its result file: join-time CDF, cumulative joins, API server load, CSR backlog.

Figures are plain matplotlib ``Figure`` objects (no pyplot, no GUI
backend), saved as PNG and SVG, each written atomically. SVG output is made
repeatable (a fixed hash salt, no date), so the same result draws the same
file. The sequence diagram of one node lives in ``sim.report.sequence``.
"""

from __future__ import annotations

import io
import os
from typing import Callable, Final

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.engine import TimeSeries
from sim.fileutil import write_atomic
from sim.report.record import ResultFile, fail_time, join_time, outcome

__all__ = ["FIGURES", "apiserver_load", "csr_backlog", "cumulative_joins", "join_time_cdf", "save", "write_plots"]

matplotlib.rcParams["svg.hashsalt"] = "joinsim"
_FAILED_STYLE: Final = {"linestyle": "--", "alpha": 0.8}


def _figure(title: str, rows: int = 1) -> tuple[Figure, list[Axes]]:
    fig = Figure(figsize=(8.0, 3.2 + 1.8 * (rows - 1)), layout="constrained")
    axes = [fig.add_subplot(rows, 1, i + 1) for i in range(rows)]
    fig.suptitle(title, x=0.01, ha="left", fontsize=11)
    for ax in axes:
        ax.grid(True, alpha=0.3)
    return fig, axes


def _ecdf(ax: Axes, values: list[float], label: str, **style: object) -> None:
    ordered = sorted(values)
    fractions = [(i + 1) / len(ordered) for i in range(len(ordered))]
    ax.step([0.0, *ordered], [0.0, *fractions], where="post", label=label, **style)  # type: ignore[arg-type]


def join_time_cdf(result: ResultFile) -> Figure:
    """Return the CDF of join time per group (and of time to failure, dashed, where nodes failed)."""
    fig, (ax,) = _figure(f"{result.name}: join time CDF per group")
    for group in result.groups():
        nodes = [n for n in result.nodes if n.group == group]
        joined = [t for t in (join_time(n) for n in nodes) if t is not None]
        failed = [t for t in (fail_time(n) for n in nodes) if t is not None]
        if joined:
            _ecdf(ax, joined, f"{group}: joined ({len(joined)})")
        if failed:
            _ecdf(ax, failed, f"{group}: failed ({len(failed)})", **_FAILED_STYLE)
    ax.set_xlabel("seconds from kubeadm join starting (simulated)")
    ax.set_ylabel("fraction of nodes")
    ax.set_ylim(0, 1.02)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower right", fontsize=8)
    return fig


def cumulative_joins(result: ResultFile) -> Figure:
    """Return nodes joined (and failed, dashed) over simulated time, per group."""
    fig, (ax,) = _figure(f"{result.name}: cumulative joins")
    for group in result.groups():
        nodes = [n for n in result.nodes if n.group == group]
        joined = sorted(t for t in (n.milestone("joined") for n in nodes if n.joined) if t is not None)
        failed = sorted(n.ended for n in nodes if outcome(n) == "failed" and n.ended is not None)
        for times, label, style in ((joined, "joined", {}), (failed, "failed", _FAILED_STYLE)):
            if times:
                ax.step([0.0, *times], range(len(times) + 1), where="post", label=f"{group}: {label}",
                        **style)  # type: ignore[arg-type]
    ax.set_xlabel("simulated seconds")
    ax.set_ylabel("nodes")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", fontsize=8)
    return fig


def _summed(series: TimeSeries, prefix: str) -> list[float]:
    names = [k for k in series.columns if k.startswith(prefix) and k.endswith("/peak")]
    return [sum(series.columns[k][i] for k in names) for i in range(len(series.times))]


def apiserver_load(result: ResultFile) -> Figure:
    """Return the API server's seats in use and queued requests (peaks per interval), 429s and busy cores."""
    fig, (top, bottom) = _figure(f"{result.name}: API server seats and queue", rows=2)
    if result.servers:
        series = result.servers[0].series
        times = list(series.times)
        # A peak sampled at t is the highest level in (t - interval, t]: drawn over the interval before t.
        top.step(times, _summed(series, "seats/"), where="pre", label="seats in use (all levels, peak)")
        top.step(times, _summed(series, "queued/"), where="pre", label="queued in APF (peak)")
        top.set_ylabel("requests")
        top.legend(loc="upper right", fontsize=8)
        if "rejected-429" in series.columns:
            bottom.bar([t - series.interval / 2 for t in times], series.per_interval("rejected-429"),
                       width=series.interval * 0.9, color="#c62828", label="429 responses per interval")
        if "cpu/busy-cores/peak" in series.columns:
            bottom.step(times, series.columns["cpu/busy-cores/peak"], where="pre", color="#455a64",
                        label="busy control-plane cores (peak)")
        bottom.legend(loc="upper right", fontsize=8)
        for ax in (top, bottom):
            ax.set_xlim(0, max(times[-1], series.interval) if times else 1.0)
    bottom.set_xlabel("simulated seconds")
    return fig


def csr_backlog(result: ResultFile) -> Figure:
    """Return pending CSRs (peak per interval) and CSRs approved and issued so far."""
    fig, (ax,) = _figure(f"{result.name}: CSR backlog")
    if result.servers:
        series = result.servers[0].series
        times = list(series.times)
        for column, label in (("csrs/pending/peak", "pending (peak)"), ("csrs/approved", "approved (total)"),
                              ("csrs/issued", "issued (total)")):
            if column in series.columns:  # peaks and totals sampled at t describe the interval ending at t
                ax.step(times, series.columns[column], where="pre", label=label)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper left", fontsize=8)
    ax.set_xlabel("simulated seconds")
    ax.set_ylabel("CSRs")
    return fig


def save(fig: Figure, directory: str, stem: str) -> list[str]:
    """Write the figure as ``<stem>.png`` and ``<stem>.svg`` atomically; return the paths."""
    paths = []
    for fmt, metadata in (("png", {"Software": None}), ("svg", {"Date": None})):
        buffer = io.BytesIO()
        fig.savefig(buffer, format=fmt, dpi=110, metadata=metadata)
        path = os.path.join(directory, f"{stem}.{fmt}")
        write_atomic(path, buffer.getvalue())
        paths.append(path)
    return paths


FIGURES: Final[tuple[tuple[str, Callable[[ResultFile], Figure]], ...]] = (
    ("join-time-cdf", join_time_cdf), ("cumulative-joins", cumulative_joins), ("apiserver", apiserver_load),
    ("csr-backlog", csr_backlog),
)


def write_plots(result: ResultFile, directory: str) -> list[str]:
    """Draw every figure, the sequence diagram included, into ``directory``; return the files written."""
    from sim.report.sequence import sequence_diagram

    paths: list[str] = []
    for stem, draw in FIGURES:
        paths += save(draw(result), directory, stem)
    if result.trace_node:
        paths += save(sequence_diagram(result), directory, "sequence")
    return paths
