"""Draw lifetimes and attempts on a time axis, to show when things exist and when tries fail.

How this works: a ``Span`` is a bar on a lane (a token Secret from creation
to deletion, a signature while it is in cluster-info); a ``Tick`` is a
marker at one instant (a discovery poll, a CSR post), green when it worked
and red when it did not, with an optional label. Lanes are drawn top to
bottom in the order they first appear. Unlike a sequence diagram, the
x axis here is virtual seconds, because the point is how long things last.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence, Union

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["Span", "Tick", "draw_timeline"]

_OK, _FAILED, _BAR = "#2e7d32", "#c62828", "#90caf9"


@dataclass(frozen=True, slots=True, kw_only=True)
class Span:
    """Mark that something existed on ``lane`` from ``start`` to ``end`` seconds."""

    lane: str
    start: float
    end: float
    label: str = ""
    colour: str = _BAR


@dataclass(frozen=True, slots=True, kw_only=True)
class Tick:
    """Mark one attempt or event on ``lane`` at ``t`` seconds; ``ok`` picks green or red."""

    lane: str
    t: float
    ok: bool = True
    label: str = ""


def draw_timeline(items: Sequence[Union[Span, Tick]], *, title: str = "", unit: float = 1.0,
                  unit_name: str = "s", width: float = 12.0) -> Figure:
    """Return a matplotlib Figure with one lane per distinct ``lane`` (see the module docstring).

    ``unit`` rescales the axis (3600 with ``unit_name="h"`` for hours).
    """
    from matplotlib.figure import Figure

    lanes: list[str] = []
    for item in items:
        if item.lane not in lanes:
            lanes.append(item.lane)
    y = {lane: i for i, lane in enumerate(lanes)}
    fig = Figure(figsize=(width, 1.2 + 0.55 * max(len(lanes), 1)), layout="constrained")
    ax = fig.add_subplot()
    labels = []
    for item in items:
        row = y[item.lane]
        if isinstance(item, Span):
            ax.barh(row, (item.end - item.start) / unit, left=item.start / unit, height=0.5, color=item.colour,
                    edgecolor="#1e88e5")
            if item.label:
                ax.text((item.start + item.end) / 2 / unit, row, item.label, ha="center", va="center", fontsize=8)
        else:
            colour = _OK if item.ok else _FAILED
            ax.plot([item.t / unit], [row], marker="o" if item.ok else "x", color=colour, markersize=6,
                    markeredgewidth=2, linestyle="none")
            if item.label:
                labels.append(ax.annotate(item.label, (item.t / unit, row), xytext=(0, 9),
                                          textcoords="offset points", ha="center", fontsize=7.5, color=colour))
    ax.margins(x=0.06)
    left, right = ax.get_xlim()
    for label in labels:  # a label near the right edge ends at its marker instead of running off the chart
        if label.xy[0] > left + 0.85 * (right - left):
            label.set_horizontalalignment("right")
    ax.set_yticks(range(len(lanes)), lanes, fontsize=9)
    ax.set_ylim(len(lanes) - 0.4, -0.7)
    ax.set_xlabel(f"virtual time ({unit_name})")
    ax.grid(axis="x", color="#eeeeee")
    ax.set_axisbelow(True)
    if title:
        ax.set_title(title, loc="left", fontsize=11)
    return fig
