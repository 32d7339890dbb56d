"""Model one-way network delay as a distribution a driver samples with the run's seeded ``random.Random``.

Three models, written in scenarios as:

- ``"2ms"`` or ``{"constant": "2ms"}``: always the same delay; draws nothing
  from the generator, so adding a constant link does not shift other streams;
- ``{"uniform": ["1ms", "5ms"]}``: uniform on [low, high];
- ``{"lognormal": {"median": "2ms", "p99": "20ms"}}``: the usual shape of
  network and service latency (a long right tail), fitted from two quantiles
  an operator can read off a dashboard: mu = ln(median) and
  sigma = (ln(p99) - ln(median)) / z(0.99), z(0.99) = 2.3263478740408408.

``parse_latency`` validates eagerly and names the problem; ``spec()`` gives
back the scenario form, for result files that record the resolved scenario.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any, Final, Mapping, Union

from sim.engine.units import parse_duration
from sim.protocol.poll import go_duration

__all__ = ["Z_P99", "Constant", "LatencyModel", "LogNormal", "Uniform", "parse_latency"]

# The standard normal quantile at 0.99 (scipy.stats.norm.ppf(0.99)).
Z_P99: Final = 2.3263478740408408


def _check(name: str, seconds: float) -> None:
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or not math.isfinite(seconds):
        raise ValueError(f"{name} must be a finite number of seconds, not {seconds!r}")
    if seconds < 0:
        raise ValueError(f"{name} must not be negative, got {go_duration(seconds)}")


@dataclass(frozen=True, slots=True)
class Constant:
    """Delay every message by the same ``seconds``."""

    seconds: float

    def __post_init__(self) -> None:
        _check("a constant latency", self.seconds)

    def sample(self, rng: random.Random) -> float:
        """Return the constant delay, drawing nothing from ``rng``."""
        return float(self.seconds)

    def spec(self) -> str:
        """Return the scenario form (``"2ms"``)."""
        return go_duration(self.seconds)


@dataclass(frozen=True, slots=True)
class Uniform:
    """Delay each message by a time drawn uniformly from [``low``, ``high``]."""

    low: float
    high: float

    def __post_init__(self) -> None:
        _check("a uniform latency's low bound", self.low)
        _check("a uniform latency's high bound", self.high)
        if self.high < self.low:
            raise ValueError(f"a uniform latency's high bound ({go_duration(self.high)}) "
                             f"is below its low bound ({go_duration(self.low)})")

    def sample(self, rng: random.Random) -> float:
        """Draw one delay (one call to ``rng.random``)."""
        return rng.uniform(self.low, self.high)

    def spec(self) -> dict[str, list[str]]:
        """Return the scenario form (``{"uniform": ["1ms", "5ms"]}``)."""
        return {"uniform": [go_duration(self.low), go_duration(self.high)]}


@dataclass(frozen=True, slots=True)
class LogNormal:
    """Delay each message by a log-normal time with the given ``median`` and 99th percentile."""

    median: float
    p99: float

    def __post_init__(self) -> None:
        _check("a lognormal latency's median", self.median)
        _check("a lognormal latency's p99", self.p99)
        if self.median <= 0:
            raise ValueError("a lognormal latency's median must be positive")
        if self.p99 < self.median:
            raise ValueError(f"a lognormal latency's p99 ({go_duration(self.p99)}) "
                             f"is below its median ({go_duration(self.median)})")

    @property
    def mu(self) -> float:
        """Return the mean of the underlying normal, ln(median)."""
        return math.log(self.median)

    @property
    def sigma(self) -> float:
        """Return the standard deviation of the underlying normal, fitted so P99 lands on ``p99``."""
        return (math.log(self.p99) - math.log(self.median)) / Z_P99

    def sample(self, rng: random.Random) -> float:
        """Draw one delay with ``rng.lognormvariate``."""
        return rng.lognormvariate(self.mu, self.sigma)

    def spec(self) -> dict[str, dict[str, str]]:
        """Return the scenario form (``{"lognormal": {"median": "2ms", "p99": "20ms"}}``)."""
        return {"lognormal": {"median": go_duration(self.median), "p99": go_duration(self.p99)}}


LatencyModel = Union[Constant, Uniform, LogNormal]
_MODELS: Final = ("constant", "uniform", "lognormal")


def _duration(where: str, value: Any) -> float:
    if not isinstance(value, str):
        raise ValueError(f'{where}: want a duration string such as "2ms", got {value!r}')
    try:
        return parse_duration(value)
    except ValueError as err:
        raise ValueError(f"{where}: {err}" if where else str(err)) from None


def parse_latency(spec: str | Mapping[str, Any] | LatencyModel) -> LatencyModel:
    """Build a latency model from its scenario form; raise ValueError naming what is wrong."""
    if isinstance(spec, (Constant, Uniform, LogNormal)):
        return spec
    try:
        return _parse(spec)
    except ValueError as err:
        raise ValueError(f"invalid latency {spec!r}: {err}") from None


def _parse(spec: Any) -> LatencyModel:
    if isinstance(spec, str):
        return Constant(_duration("", spec))
    if not isinstance(spec, Mapping):
        raise ValueError('want a duration ("2ms") or a mapping with one of: ' + ", ".join(_MODELS))
    if len(spec) != 1:
        raise ValueError("want exactly one model key, one of: " + ", ".join(_MODELS))
    ((kind, args),) = spec.items()
    if kind == "constant":
        return Constant(_duration("constant", args))
    if kind == "uniform":
        if isinstance(args, Mapping) and set(args) == {"low", "high"}:
            args = [args["low"], args["high"]]
        if not isinstance(args, (list, tuple)) or len(args) != 2:
            raise ValueError('uniform wants two durations [low, high], e.g. ["1ms", "5ms"]')
        return Uniform(_duration("uniform low", args[0]), _duration("uniform high", args[1]))
    if kind == "lognormal":
        if not isinstance(args, Mapping) or set(args) != {"median", "p99"}:
            raise ValueError('lognormal wants {"median": <duration>, "p99": <duration>}')
        return LogNormal(_duration("lognormal median", args["median"]), _duration("lognormal p99", args["p99"]))
    raise ValueError(f"unknown latency model {kind!r}, want one of: " + ", ".join(_MODELS))
