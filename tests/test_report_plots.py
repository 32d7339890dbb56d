"""Check the figures: each draws from a result file and is written as PNG and SVG, the same bytes each time."""

from __future__ import annotations

import pathlib

import pytest

from sim.report.plots import FIGURES, write_plots
from tests.report_support import sample


@pytest.mark.parametrize("stem, draw", [pytest.param(s, d, id=f"valid: {s}") for s, d in FIGURES])
def test_each_figure_draws(stem: str, draw: object) -> None:
    fig = draw(sample())  # type: ignore[operator]
    assert fig.axes and fig.texts[0].get_text().startswith("sample: ")


def test_write_plots_writes_png_and_svg_repeatably(tmp_path: pathlib.Path) -> None:
    first = write_plots(sample(), str(tmp_path / "a"))
    second = write_plots(sample(), str(tmp_path / "b"))
    stems = sorted(pathlib.Path(p).name for p in first)
    assert stems == sorted(f"{s}.{ext}" for s in ("apiserver", "csr-backlog", "cumulative-joins", "join-time-cdf",
                                                   "sequence") for ext in ("png", "svg"))
    for a, b in zip(first, second):
        assert pathlib.Path(a).read_bytes() == pathlib.Path(b).read_bytes(), a
    assert pathlib.Path(first[0]).read_bytes()[:4] == b"\x89PNG"
