"""Check the token bucket against golang.org/x/time/rate's reservation semantics and kube's defaults."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.engine.tokenbucket import TokenBucket
from sim.protocol.constants import CONTROLLER_CLIENT_BURST, CONTROLLER_CLIENT_QPS


def test_defaults_are_kube_controller_managers() -> None:
    bucket = TokenBucket()
    assert (bucket.qps, bucket.burst) == (CONTROLLER_CLIENT_QPS, CONTROLLER_CLIENT_BURST) == (20.0, 30)
    assert bucket.tokens_at(0.0) == 30.0


def test_burst_then_steady_rate() -> None:
    bucket = TokenBucket()
    assert [bucket.reserve(0.0) for _ in range(30)] == [0.0] * 30
    assert bucket.reserve(0.0) == pytest.approx(0.05)
    assert bucket.reserve(0.0) == pytest.approx(0.10)
    # One second later the bucket has refilled 20 tokens, minus the 2 it owed.
    assert bucket.tokens_at(1.0) == pytest.approx(18.0)
    assert bucket.reserve(1.0) == 0.0


@pytest.mark.parametrize(
    ("calls", "waits"),
    [
        pytest.param([0.0, 0.0, 0.0], [0.0, 0.0, 0.1], id="valid: third caller waits one interval"),
        pytest.param([0.0, 0.0, 0.0, 0.05], [0.0, 0.0, 0.1, 0.15], id="valid: refill while queued"),
        pytest.param([0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.1, 0.0], id="valid: refilled after idle"),
        pytest.param([0.0, 0.0, 0.15, 0.15, 0.15], [0.0, 0.0, 0.0, 0.05, 0.15], id="valid: partial refill"),
        pytest.param([5.0, 5.0, 5.0, 5.0], [0.0, 0.0, 0.1, 0.2], id="valid: full after a long idle, capped at burst"),
    ],
)
def test_exact_waits(calls: list[float], waits: list[float]) -> None:
    bucket = TokenBucket(qps=10.0, burst=2)
    assert [bucket.reserve(now) for now in calls] == pytest.approx(waits, abs=1e-12)


def test_thousand_reservations_at_once_finish_at_burst_then_qps() -> None:
    bucket = TokenBucket()
    waits = [bucket.reserve(0.0) for _ in range(1000)]
    assert waits[29] == 0.0
    assert waits[-1] == pytest.approx((1000 - 30) / 20)
    assert max(waits) == pytest.approx(48.5)
    assert waits == sorted(waits)


def test_try_accept_takes_only_available_tokens() -> None:
    bucket = TokenBucket(qps=20.0, burst=30)
    assert [bucket.try_accept(0.0) for _ in range(31)] == [True] * 30 + [False]
    assert not bucket.try_accept(0.04)
    assert bucket.try_accept(0.05)
    assert not bucket.try_accept(0.05)


def test_try_accept_does_not_jump_pending_reservations() -> None:
    bucket = TokenBucket(qps=10.0, burst=1)
    bucket.reserve(0.0)
    assert bucket.reserve(0.0) == pytest.approx(0.1)
    assert not bucket.try_accept(0.15)  # the token of 0.1 went to the queued reservation
    assert bucket.tokens_at(0.15) == pytest.approx(0.5)
    assert bucket.try_accept(0.2)


def test_time_never_runs_back() -> None:
    bucket = TokenBucket(qps=10.0, burst=1, now=5.0)
    assert bucket.reserve(4.0) == 0.0
    assert bucket.reserve(4.0) == pytest.approx(0.1)


def test_infinite_rate_never_waits() -> None:
    bucket = TokenBucket(qps=math.inf, burst=1)
    assert all(bucket.reserve(0.0) == 0.0 for _ in range(100))
    assert bucket.try_accept(0.0)


@pytest.mark.parametrize(
    ("qps", "burst", "message"),
    [
        pytest.param(0.0, 30, "qps must be positive", id="invalid: zero qps"),
        pytest.param(-1.0, 30, "qps must be positive", id="invalid: negative qps"),
        pytest.param(math.nan, 30, "qps must be positive", id="invalid: nan qps"),
        pytest.param(20.0, 0, "burst must be a positive integer", id="invalid: zero burst"),
        pytest.param(20.0, 1.5, "burst must be a positive integer", id="invalid: fractional burst"),
        pytest.param(20.0, True, "burst must be a positive integer", id="invalid: boolean burst"),
    ],
)
def test_validation(qps: float, burst: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TokenBucket(qps=qps, burst=burst)


@given(
    st.floats(min_value=0.5, max_value=100.0),
    st.integers(min_value=1, max_value=40),
    st.lists(st.floats(min_value=0.0, max_value=2.0), min_size=1, max_size=80),
)
def test_never_exceeds_burst_plus_rate(qps: float, burst: int, gaps: list[float]) -> None:
    bucket = TokenBucket(qps=qps, burst=burst)
    now, acts = 0.0, []
    for gap in gaps:
        now += gap
        acts.append(now + bucket.reserve(now))
        assert bucket.tokens_at(now) <= burst
    # In any window [acts[i], acts[j]] at most burst + qps * width callers act.
    for i in range(len(acts)):
        for j in range(i, len(acts)):
            assert j - i + 1 <= burst + qps * (acts[j] - acts[i]) + 1e-6
    assert acts == sorted(acts)
