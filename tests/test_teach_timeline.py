"""Check the timeline chart: one lane per name, bars for spans, markers for ticks."""

from __future__ import annotations

import io

from sim.teach.timeline import Span, Tick, draw_timeline


def test_lanes_follow_first_appearance_and_the_unit_rescales_the_axis() -> None:
    fig = draw_timeline([Span(lane="token", start=0, end=7200, label="TTL 2h"), Tick(lane="join", t=3600),
                         Tick(lane="join", t=7201, ok=False, label="expired"), Span(lane="certs", start=0, end=7200)],
                        title="kubeadm-certs", unit=3600, unit_name="h")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["token", "join", "certs"]
    assert ax.get_xlabel() == "virtual time (h)"
    assert ax.patches[0].get_width() == 2.0
    assert {t.get_text() for t in ax.texts} == {"TTL 2h", "expired"}
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=40)
    assert buffer.getvalue().startswith(b"\x89PNG")


def test_an_empty_timeline_still_draws() -> None:
    fig = draw_timeline([])
    assert fig.axes[0].get_yticklabels() == []


def test_a_label_near_the_right_edge_ends_at_its_marker() -> None:
    fig = draw_timeline([Tick(lane="a", t=0.0, label="start"), Tick(lane="a", t=100.0, ok=False, label="fails")])
    alignment = {t.get_text(): t.get_horizontalalignment() for t in fig.axes[0].texts}
    assert alignment == {"start": "center", "fails": "right"}
