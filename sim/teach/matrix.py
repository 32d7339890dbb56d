"""Draw an outcome table as a coloured grid, so a reader sees at a glance which cases end well.

How this works: rows and columns name the two things varied (a node's
setting, an attacker's knowledge; a hardening measure, an attack), and each
``Cell`` carries a short text and a tone: ``safe`` (green: nothing bad
happened), ``harm`` (red: the attacker won, or the join broke), ``cost``
(amber: it worked, at a price) or ``plain`` (grey: for information). A cell
left out is drawn empty. The text is wrapped to fit the cell.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal, Mapping, Sequence

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["TONES", "Cell", "Tone", "draw_matrix"]

Tone = Literal["safe", "harm", "cost", "plain"]
TONES: Final[Mapping[str, tuple[str, str]]] = {
    "safe": ("#c8e6c9", "#1b5e20"),
    "harm": ("#ffcdd2", "#b71c1c"),
    "cost": ("#ffe0b2", "#e65100"),
    "plain": ("#eeeeee", "#424242"),
}
"""Fill and text colours of each tone."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Cell:
    """Say what happened in one case (``text``) and whether it is good news (``tone``)."""

    text: str
    tone: Tone = "plain"

    def __post_init__(self) -> None:
        if self.tone not in TONES:
            raise ValueError(f"a cell's tone must be one of {', '.join(TONES)}, got {self.tone!r}")


def draw_matrix(rows: Sequence[str], columns: Sequence[str], cells: Mapping[tuple[str, str], Cell], *,
                title: str = "", cell_width: float = 3.0, cell_height: float = 1.0, wrap: int = 34) -> Figure:
    """Return a Figure with one coloured box per (row, column) cell; raise ValueError for an unknown key."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    unknown = [key for key in cells if key[0] not in rows or key[1] not in columns]
    if unknown:
        raise ValueError(f"cells name rows or columns that are not drawn: {unknown}")
    label_width = 0.9 + 0.07 * max((len(r) for r in rows), default=0)
    fig = Figure(figsize=(label_width + cell_width * len(columns), 0.9 + cell_height * len(rows)),
                 layout="constrained")
    ax = fig.add_subplot()
    ax.set_xlim(0, len(columns))
    ax.set_ylim(len(rows), 0)
    ax.set_xticks([c + 0.5 for c in range(len(columns))], list(columns), fontsize=9)
    ax.xaxis.tick_top()
    ax.set_yticks([r + 0.5 for r in range(len(rows))], list(rows), fontsize=9)
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    for i, row in enumerate(rows):
        for j, column in enumerate(columns):
            cell = cells.get((row, column))
            fill, ink = TONES[cell.tone if cell else "plain"]
            ax.add_patch(Rectangle((j + 0.03, i + 0.05), 0.94, 0.9, facecolor=fill if cell else "white",
                                   edgecolor="#bdbdbd"))
            if cell:
                ax.text(j + 0.5, i + 0.5, textwrap.fill(cell.text, wrap), ha="center", va="center", fontsize=8,
                        color=ink, linespacing=1.15)
    if title:
        ax.set_title(title, loc="left", fontsize=11, pad=12)
    return fig
