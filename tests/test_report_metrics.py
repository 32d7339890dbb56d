"""Check the report's numbers: percentiles, phase spans, joins per second and the bottleneck rules."""

from __future__ import annotations

import dataclasses
import math

import pytest

from sim.report.metrics import (
    BOTTLENECK_RULES, NO_BOTTLENECK, PHASES, Load, bottleneck, load_of, percentile, phase_times, throughput,
)
from tests.report_support import sample


@pytest.mark.parametrize(
    "values, q, expected",
    [
        pytest.param([3.0, 1.0, 2.0], 50, 2.0, id="valid: median"),
        pytest.param([1.0, 2.0, 3.0, 4.0], 50, 2.5, id="valid: interpolated"),
        pytest.param([1.0, 2.0], 100, 2.0, id="valid: max"),
        pytest.param([5.0], 99, 5.0, id="valid: one value"),
    ],
)
def test_percentile(values: list[float], q: float, expected: float) -> None:
    assert percentile(values, q) == pytest.approx(expected)


def test_percentile_of_nothing_is_nan() -> None:
    assert math.isnan(percentile([], 50))


def test_phases_are_measured_on_nodes_that_reached_both_marks() -> None:
    record = sample()
    discovery, *_, total = PHASES
    assert len(phase_times(record.nodes, total)) == 3  # the failed nodes never joined
    assert all(t > 10.0 for t in phase_times(record.nodes, discovery))  # REJECT until 6 s, retries every 5 s
    assert len(phase_times(record.nodes, discovery)) == 3


def test_throughput_counts_joins_over_the_span_from_first_start() -> None:
    record = sample()
    last = max(n.milestone("joined") or 0.0 for n in record.nodes)
    assert throughput(record.nodes) == pytest.approx(3 / last)
    assert throughput(()) == 0.0


BASE = Load(rejected=0, queued=("global-default", 0.0), saturated=0.0, cores=2, pending_csrs=0.0, csr_share=0.1,
            discovery_share=0.1, qps=20.0, joined=5)


@pytest.mark.parametrize(
    "changes, expected",
    [
        pytest.param({}, None, id="valid: nothing queued"),
        pytest.param({"rejected": 7, "queued": ("global-default", 300.0)},
                     "API server: APF rejected 7 requests with 429 (peak 300 queued in global-default)",
                     id="valid: 429s first"),
        pytest.param({"pending_csrs": 200.0, "csr_share": 0.86},
                     "csrapproving: CSRs waited for approval (200 pending at peak, 86% of the median join; the "
                     "controller's client allows 20 requests/s, two per CSR)", id="valid: CSR backlog"),
        pytest.param({"saturated": 0.8}, "control-plane CPU: all 2 cores busy at 80% of the samples while nodes joined",
                     id="valid: CPU"),
        pytest.param({"queued": ("global-default", 49.0), "discovery_share": 0.5},
                     "API server: discovery requests waited in APF queues (peak 49 in global-default; discovery is "
                     "50% of the median join)", id="valid: APF queueing that costs the joins"),
        pytest.param({"queued": ("global-default", 49.0)}, None, id="valid: brief queueing is not a bottleneck"),
        pytest.param({"joined": 0}, "none measured: no node joined", id="valid: no joins"),
    ],
)
def test_bottleneck_rules(changes: dict[str, object], expected: str | None) -> None:
    load = dataclasses.replace(BASE, **changes)  # type: ignore[arg-type]
    fired = next((text for text in (rule(load) for rule in BOTTLENECK_RULES) if text), None)
    assert fired == expected


def test_bottleneck_of_a_small_run() -> None:
    record = sample()
    assert load_of(record).joined == 3
    assert bottleneck(record) == NO_BOTTLENECK
