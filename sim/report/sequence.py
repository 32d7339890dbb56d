"""Draw one node's join as a sequence diagram with four swimlanes: node, network/attacker, API server, controllers.

How this works: the rows come from the node's story (``ResultFile.sequence``:
its milestones, its requests as the API server logged them, the controllers'
work on its CSR, the requests a man in the middle it went through sent
upstream) and from its printed lines (``ResultFile.logs``), where a
connection that never reached the API server shows up as kubeadm's
``Retrying due to error`` line: that becomes an arrow ending in the network
lane, labelled with Go's transport error. An attacker's requests start in
the network lane, an admin's in the controllers lane; anything else logged
by someone else is a note in the network lane. Rows are events, not seconds
(a join is instants separated by waits); the left margin gives the time, and
runs of identical rows (a discovery retry every 5 s) are drawn once with
their count.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from typing import Final, Iterable

from matplotlib.figure import Figure

from sim.report.record import ResultFile
from sim.teach.trace import short_path

__all__ = ["LANES", "Row", "rows_of", "sequence_diagram"]

LANES: Final = ("node", "network / attacker", "kube-apiserver", "controllers")
NODE, NETWORK, SERVER, CONTROLLERS = range(4)
MAX_ROWS: Final = 90
_OK, _EXPECTED, _ERROR, _NOTE = "#2e7d32", "#ef6c00", "#c62828", "#4e342e"
_TOLERATED: Final = ("403", "404")
"""Answers kubeadm and the kubelet expect and go on from (no kube-proxy access; no Node yet)."""
_TRANSPORT: Final = re.compile(r'(\w+) "https?://[^/"]+(/[^"?]*)[^"]*": (.*)$')


@dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    """Hold one row: an arrow from lane ``src`` to lane ``dst`` (``dst`` None: a note), its text and colour."""

    t: float
    src: int
    dst: int | None
    text: str
    colour: str
    lost: bool = False
    """The arrow ends in a cross: the connection never reached ``dst``."""
    count: int = 1
    until: float = 0.0


def _story_rows(result: ResultFile) -> Iterable[Row]:
    node = result.trace_node
    controllers = {"admin", *(key.split("/", 1)[1] for key in result.counts if key.startswith("syncs/"))}
    for t, source, event, attrs in result.sequence:
        if source == node:
            if event == "join-finished":
                error = attrs.get("error", "")
                text = "kubeadm join failed:\n" + textwrap.fill(error, 70) if error else "kubeadm join succeeded"
                yield Row(t=t, src=NODE, dst=None, text=text, colour=_ERROR if error else _OK)
            elif event == "phase":
                yield Row(t=t, src=NODE, dst=None, text=f"[{attrs.get('name', '')}] phase", colour=_NOTE)
            elif event != "discovery-attempt":
                extra = ", ".join(f"{k}={v}" for k, v in sorted(attrs.items()))
                yield Row(t=t, src=NODE, dst=None, text=event + (f" ({extra})" if extra else ""), colour=_NOTE)
        elif source == "apiserver" and event in ("request", "rejected"):
            sender = attrs.get("from", "")
            status = attrs.get("status", "429")
            label = f"{attrs.get('method', '')} {short_path(attrs.get('path', ''))} → {status}".strip()
            src = NODE if sender == node else CONTROLLERS if sender in controllers else NETWORK
            if src != NODE:
                label = f"{sender}: {label}"
            bad = event == "rejected" or not status.isdigit() or int(status) >= 400
            colour = _EXPECTED if status in _TOLERATED else _ERROR if bad else _OK
            yield Row(t=t, src=src, dst=SERVER, text=label, colour=colour)
        elif source == "apiserver":
            yield Row(t=t, src=SERVER, dst=None, text=f"{event} {attrs.get('name', '')}".strip(), colour=_NOTE)
        else:
            extra = ", ".join(f"{k}={v}" for k, v in sorted(attrs.items()))
            yield Row(t=t, src=NETWORK, dst=None, text=f"{source}: {event}" + (f" ({extra})" if extra else ""),
                      colour=_ERROR)


def _log_rows(result: ResultFile) -> Iterable[Row]:
    for t, _, text, _ in result.logs:
        if "Retrying due to error" not in text:
            continue
        found = _TRANSPORT.search(text)
        if found:
            method, path, error = found.groups()
            yield Row(t=t, src=NODE, dst=NETWORK, text=f"{method} {short_path(path)}: {error}", colour=_ERROR,
                      lost=True)


def rows_of(result: ResultFile) -> list[Row]:
    """Return the diagram's rows in time order, runs of identical rows merged (module docstring)."""
    rows = sorted([*_story_rows(result), *_log_rows(result)], key=lambda r: r.t)
    merged: list[Row] = []
    for row in rows:
        last = merged[-1] if merged else None
        if last is not None and (last.src, last.dst, last.text, last.lost) == (row.src, row.dst, row.text, row.lost):
            merged[-1] = Row(t=last.t, src=last.src, dst=last.dst, text=last.text, colour=last.colour,
                             lost=last.lost, count=last.count + 1, until=row.t)
        else:
            merged.append(row)
    return merged


def sequence_diagram(result: ResultFile) -> Figure:
    """Return the sequence diagram of ``result.trace_node``'s join (module docstring)."""
    rows = rows_of(result)
    hidden = max(0, len(rows) - MAX_ROWS)
    if hidden:
        rows = rows[:MAX_ROWS - 10] + rows[-10:]
    lines = sum(1 + r.text.count("\n") for r in rows)
    fig = Figure(figsize=(12.0, 1.6 + 0.3 * max(lines, 4)), layout="constrained")
    ax = fig.add_subplot()
    ax.axis("off")
    ax.set_title(f"{result.name}: the join of {result.trace_node}", loc="left", fontsize=11)
    names = (result.trace_node, *LANES[1:])
    y, top = 0.0, -1.0
    positions = []
    for row in rows:
        y += 0.6 + 0.35 * row.text.count("\n")
        positions.append(y)
    bottom = y + 0.8
    ax.set_xlim(-1.3, len(LANES) - 0.3)
    ax.set_ylim(bottom, top - 0.6)
    for x, name in enumerate(names):
        ax.plot([x, x], [top + 0.4, bottom], color="#9e9e9e", linewidth=1, zorder=0)
        ax.text(x, top, name, ha="center", va="center", fontsize=9, fontweight="bold",
                bbox={"boxstyle": "round,pad=0.3", "facecolor": "#e3f2fd", "edgecolor": "#90caf9"})
    last_t: float | None = None
    for index, (row, y) in enumerate(zip(rows, positions)):
        if hidden and index == MAX_ROWS - 10:
            ax.text(SERVER / 2, y - 0.45, f"... {hidden} rows not drawn ...", ha="center", fontsize=8, style="italic")
        if row.t != last_t:
            ax.text(-1.25, y, f"t={row.t:.3f}s", ha="left", va="center", fontsize=7.5, color="#616161")
            last_t = row.t
        text = row.text + (f"  ×{row.count} (until t={row.until:.3f}s)" if row.count > 1 else "")
        if row.dst is None:
            ax.text(row.src + 0.05, y, text, ha="left", va="center", fontsize=7, color=row.colour,
                    bbox={"boxstyle": "square,pad=0.2", "facecolor": "#fff8e1", "edgecolor": "#ffe082"})
            continue
        ax.annotate("", xy=(row.dst, y), xytext=(row.src, y),
                    arrowprops={"arrowstyle": "-" if row.lost else "-|>", "color": row.colour, "linewidth": 1.2})
        if row.lost:
            ax.plot([row.dst], [y], marker="x", color=row.colour, markersize=9, markeredgewidth=2)
        left = min(row.src, row.dst)
        ax.text(left + 0.05, y - 0.12, text, ha="left", va="bottom", fontsize=7, color=row.colour)
    return fig
