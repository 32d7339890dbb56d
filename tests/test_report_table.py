"""Check the summary: kubeadm's error texts whole and verbatim, phases, throughput, failed checks spelt out."""

from __future__ import annotations

import dataclasses
import io

from rich.console import Console

from sim.report.record import CheckRecord
from sim.report.table import print_summary
from tests.report_support import sample


def render(record: object) -> str:
    out = io.StringIO()
    print_summary(record, Console(file=out, width=100, color_system=None))  # type: ignore[arg-type]
    return out.getvalue()


def test_error_texts_are_printed_whole_on_their_own_line() -> None:
    record = sample()
    text = render(record)
    error = record.nodes[3].error
    assert f"[1] {error}\n" in text
    assert "joins per second: " in text and "bottleneck: none" in text
    assert "expect: all 2 checks passed" in text
    for phase in ("discovery", "csr approve+sign", "join (total)"):
        assert phase in text


def test_failed_checks_say_what_was_expected_and_what_happened() -> None:
    record = dataclasses.replace(sample(), checks=(
        CheckRecord(path="expect.outcomes.ok.joined", expected="5", actual="3", ok=False),
        CheckRecord(path="expect.throughput", expected=">= 1/s", actual="2/s", ok=True)))
    text = render(record)
    assert "expect: 1 of 2 checks FAILED" in text
    assert "  sample.yaml: expect.outcomes.ok.joined: expected 5; got 3\n" in text
