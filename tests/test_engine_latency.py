"""Check the latency models: parsing, validation, the lognormal fit and deterministic sampling."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.engine.latency import Z_P99, Constant, LatencyModel, LogNormal, Uniform, parse_latency


@pytest.mark.parametrize(
    ("spec", "model"),
    [
        pytest.param("2ms", Constant(0.002), id="valid: bare duration"),
        pytest.param("0s", Constant(0.0), id="valid: zero"),
        pytest.param({"constant": "1s"}, Constant(1.0), id="valid: constant key"),
        pytest.param({"uniform": ["1ms", "5ms"]}, Uniform(0.001, 0.005), id="valid: uniform list"),
        pytest.param({"uniform": ("1ms", "1ms")}, Uniform(0.001, 0.001), id="valid: degenerate uniform"),
        pytest.param({"uniform": {"low": "1ms", "high": "5ms"}}, Uniform(0.001, 0.005), id="valid: uniform mapping"),
        pytest.param({"lognormal": {"median": "2ms", "p99": "20ms"}}, LogNormal(0.002, 0.02), id="valid: lognormal"),
        pytest.param({"lognormal": {"median": "2ms", "p99": "2ms"}}, LogNormal(0.002, 0.002),
                     id="valid: lognormal without spread"),
        pytest.param(Uniform(0.1, 0.2), Uniform(0.1, 0.2), id="valid: a model passes through"),
    ],
)
def test_parse_latency_valid(spec: Any, model: LatencyModel) -> None:
    assert parse_latency(spec) == model


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        pytest.param("5", 'time: missing unit in duration "5"', id="invalid: no unit"),
        pytest.param("-1ms", "a constant latency must not be negative, got -1ms", id="invalid: negative"),
        pytest.param(5, 'want a duration ("2ms") or a mapping', id="invalid: a number"),
        pytest.param({}, "want exactly one model key", id="invalid: empty mapping"),
        pytest.param({"constant": "1ms", "uniform": ["1ms", "2ms"]}, "want exactly one model key",
                     id="invalid: two models"),
        pytest.param({"gaussian": "1ms"}, "unknown latency model 'gaussian'", id="invalid: unknown model"),
        pytest.param({"constant": 5}, 'constant: want a duration string such as "2ms", got 5',
                     id="invalid: constant number"),
        pytest.param({"uniform": ["5ms"]}, "uniform wants two durations", id="invalid: uniform one bound"),
        pytest.param({"uniform": "5ms"}, "uniform wants two durations", id="invalid: uniform string"),
        pytest.param({"uniform": ["5ms", "1ms"]}, "high bound (1ms) is below its low bound (5ms)",
                     id="invalid: uniform reversed"),
        pytest.param({"uniform": ["1ms", "5x"]}, 'uniform high: time: unknown unit "x"', id="invalid: uniform unit"),
        pytest.param({"lognormal": {"median": "2ms"}}, 'lognormal wants {"median"', id="invalid: lognormal no p99"),
        pytest.param({"lognormal": ["2ms", "20ms"]}, 'lognormal wants {"median"', id="invalid: lognormal list"),
        pytest.param({"lognormal": {"median": "0s", "p99": "1ms"}}, "median must be positive",
                     id="invalid: lognormal zero median"),
        pytest.param({"lognormal": {"median": "2ms", "p99": "1ms"}}, "p99 (1ms) is below its median (2ms)",
                     id="invalid: lognormal p99 below median"),
    ],
)
def test_parse_latency_invalid(spec: Any, problem: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_latency(spec)
    assert str(err.value).startswith(f"invalid latency {spec!r}: ")
    assert problem in str(err.value)


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda: Constant(math.nan), id="invalid: constant nan"),
        pytest.param(lambda: Constant(math.inf), id="invalid: constant infinite"),
        pytest.param(lambda: Uniform(-1.0, 1.0), id="invalid: uniform negative"),
        pytest.param(lambda: LogNormal(-1.0, 1.0), id="invalid: lognormal negative"),
    ],
)
def test_models_validate_on_construction(build: Any) -> None:
    with pytest.raises(ValueError):
        build()


def test_lognormal_fit_from_median_and_p99() -> None:
    model = LogNormal(0.002, 0.02)
    assert model.mu == math.log(0.002)
    assert model.sigma == pytest.approx(math.log(10) / 2.3263478740408408)
    assert Z_P99 == 2.3263478740408408
    # By construction the fitted distribution's 99th percentile is the given p99.
    assert math.exp(model.mu + Z_P99 * model.sigma) == pytest.approx(0.02)


def test_lognormal_samples_match_median_and_p99() -> None:
    rng = random.Random(7)
    samples = sorted(LogNormal(0.002, 0.02).sample(rng) for _ in range(20001))
    assert samples[10000] == pytest.approx(0.002, rel=0.03)
    assert samples[int(0.99 * len(samples))] == pytest.approx(0.02, rel=0.05)


@settings(max_examples=50, deadline=None)
@given(st.floats(min_value=1e-5, max_value=10.0), st.floats(min_value=1.0, max_value=100.0))
def test_lognormal_sample_median_is_the_median(median: float, spread: float) -> None:
    rng = random.Random(1234)
    samples = sorted(LogNormal(median, median * spread).sample(rng) for _ in range(4001))
    assert samples[2000] == pytest.approx(median, rel=0.10)


@given(st.floats(min_value=0.0, max_value=10.0), st.floats(min_value=0.0, max_value=10.0), st.integers())
def test_uniform_samples_stay_within_bounds(a: float, b: float, seed: int) -> None:
    low, high = min(a, b), max(a, b)
    rng = random.Random(seed)
    assert all(low <= Uniform(low, high).sample(rng) <= high for _ in range(20))


@pytest.mark.parametrize(
    "model",
    [
        pytest.param(Uniform(0.001, 0.005), id="valid: uniform"),
        pytest.param(LogNormal(0.002, 0.02), id="valid: lognormal"),
    ],
)
def test_sampling_is_deterministic_for_a_seed(model: LatencyModel) -> None:
    first, second = random.Random(42), random.Random(42)
    assert [model.sample(first) for _ in range(100)] == [model.sample(second) for _ in range(100)]


def test_constant_draws_nothing_from_the_generator() -> None:
    rng = random.Random(3)
    state = rng.getstate()
    assert Constant(0.004).sample(rng) == 0.004
    assert rng.getstate() == state


@pytest.mark.parametrize(
    "spec",
    [
        pytest.param("2ms", id="valid: constant"),
        pytest.param({"uniform": ["1ms", "5ms"]}, id="valid: uniform"),
        pytest.param({"lognormal": {"median": "2ms", "p99": "20ms"}}, id="valid: lognormal"),
        pytest.param({"lognormal": {"median": "1.5ms", "p99": "1m30s"}}, id="valid: lognormal mixed units"),
    ],
)
def test_spec_round_trips(spec: Any) -> None:
    model = parse_latency(spec)
    assert model.spec() == spec
    assert parse_latency(model.spec()) == model
