"""Check the outcome grid: one box per cell, coloured by tone, labels on both axes."""

from __future__ import annotations

import io

import pytest

from sim.teach.matrix import TONES, Cell, draw_matrix


def test_cells_are_drawn_in_their_tone_with_wrapped_text() -> None:
    cells = {("token", "pinned"): Cell(text="refuses", tone="cost"),
             ("token", "unpinned"): Cell(text="joins, trusting the attacker's CA for ever", tone="harm")}
    fig = draw_matrix(["no token", "token"], ["unpinned", "pinned"], cells, title="who wins", wrap=20)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["no token", "token"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["unpinned", "pinned"]
    assert {t.get_text() for t in ax.texts} == {"refuses", "joins, trusting the\nattacker's CA for\never"}
    fills = [p.get_facecolor() for p in ax.patches]
    assert len(fills) == 4  # the two empty cells are drawn too
    from matplotlib.colors import to_rgba
    assert to_rgba(TONES["harm"][0]) in fills and to_rgba(TONES["cost"][0]) in fills
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=30)
    assert buffer.getvalue().startswith(b"\x89PNG")


@pytest.mark.parametrize(
    "build, message",
    [
        pytest.param(lambda: Cell(text="x", tone="good"), "tone must be one of", id="invalid: unknown tone"),
        pytest.param(lambda: draw_matrix(["a"], ["b"], {("a", "c"): Cell(text="x")}), "not drawn",
                     id="invalid: a cell outside the grid"),
    ],
)
def test_mistakes_are_refused(build: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()  # type: ignore[operator]
