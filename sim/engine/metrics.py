"""Sample a run's gauges and counters into plain time series (the sampling model).

How this works: components own ``Gauge``s (seats in use, queue lengths,
busy cores, pending CSRs) and ``Counter``s (429s, CSRs approved and issued,
controller work) and update them as things happen, in O(1). A single SimPy
process samples them every ``interval`` simulated seconds (1 s by default):
each gauge gives its value at the sample and its peak since the previous
sample (``<name>/peak``), so a burst shorter than the interval still shows;
each counter gives its running total. The result is a ``TimeSeries``: one
list of sample times and one equally long list per column, cheap to keep
for long runs and easy to plot or diff.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generator, Mapping

import simpy

__all__ = ["Counter", "Gauge", "Sampler", "TimeSeries"]


class Gauge:
    """Hold a level that goes up and down, and its peak since the last sample."""

    __slots__ = ("value", "peak")

    def __init__(self) -> None:
        self.value = 0.0
        self.peak = 0.0

    def set(self, value: float) -> None:
        """Set the current level."""
        self.value = value
        if value > self.peak:
            self.peak = value

    def add(self, delta: float) -> None:
        """Move the current level by ``delta``."""
        self.set(self.value + delta)


class Counter:
    """Count events (a running total that only grows)."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0

    def inc(self, n: int = 1) -> None:
        """Count ``n`` more events."""
        self.value += n


@dataclass(frozen=True, slots=True, kw_only=True)
class TimeSeries:
    """Hold samples as columns: ``times[i]`` is when ``columns[name][i]`` was sampled."""

    interval: float
    times: tuple[float, ...]
    columns: Mapping[str, tuple[float, ...]]

    def column(self, name: str) -> tuple[float, ...]:
        """Return one column; raise KeyError naming the known columns."""
        try:
            return self.columns[name]
        except KeyError:
            raise KeyError(f"no column {name!r} (known: {', '.join(sorted(self.columns))})") from None

    def per_interval(self, name: str) -> tuple[float, ...]:
        """Return a counter column's increase over each sampling interval (its rate times the interval)."""
        values = self.column(name)
        return tuple(b - a for a, b in zip((0.0, *values), values))


class Sampler:
    """Own the gauges and counters of a run and sample them periodically (module docstring)."""

    def __init__(self, env: simpy.Environment, interval: float = 1.0) -> None:
        if not interval > 0:
            raise ValueError(f"the sampling interval must be positive, got {interval!r}")
        self.env = env
        self.interval = interval
        self._gauges: dict[str, Gauge] = {}
        self._counters: dict[str, Counter] = {}
        self._times: list[float] = []
        self._columns: dict[str, list[float]] = {}

    def gauge(self, name: str) -> Gauge:
        """Return the gauge of that name, creating it (columns ``name`` and ``name/peak``)."""
        if name not in self._gauges:
            self._gauges[name] = Gauge()
            self._columns[name] = [0.0] * len(self._times)
            self._columns[name + "/peak"] = [0.0] * len(self._times)
        return self._gauges[name]

    def counter(self, name: str) -> Counter:
        """Return the counter of that name, creating it."""
        if name not in self._counters:
            self._counters[name] = Counter()
            self._columns[name] = [0.0] * len(self._times)
        return self._counters[name]

    def start(self) -> None:
        """Start sampling now and every interval after."""
        self.env.process(self._run())

    def sample(self) -> None:
        """Take one sample of every gauge and counter at the current time."""
        self._times.append(float(self.env.now))
        for name, gauge in self._gauges.items():
            self._columns[name].append(float(gauge.value))
            self._columns[name + "/peak"].append(float(gauge.peak))
            gauge.peak = gauge.value
        for name, counter in self._counters.items():
            self._columns[name].append(float(counter.value))

    def series(self) -> TimeSeries:
        """Return the samples so far as plain data."""
        return TimeSeries(interval=self.interval, times=tuple(self._times),
                          columns={name: tuple(values) for name, values in self._columns.items()})

    def _run(self) -> Generator[simpy.Event, None, None]:
        while True:
            self.sample()
            yield self.env.timeout(self.interval)
