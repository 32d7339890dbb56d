"""Measure how fast the engine runs joins, against the raw speed of SimPy on the same machine.

How this works: the yardstick is SimPy itself, ``raw_event_rate``: how many
bare timeout events a second this interpreter steps. A storm is the happy
path with every Kubernetes default and kubeadm's RSA CA: ``nodes`` workers
arrive uniformly at ``RATE`` nodes a second (below the csrapproving
controller's bound of QPS / 2 = 10 CSRs a second, so every node joins). Each
storm runs in a fresh interpreter (``measure_isolated``), so its peak RSS is its own:
the child warms the init's RSA key memo with an empty run, measures the raw
event rate, then times ``simulate`` and reads its RSS before and peak RSS after.
A run reports joins per wall second, wall time per join in raw-event
equivalents, and RSS growth per node; ``targets`` compares them with the
performance targets (``STORM_NODES`` ... ``BYTES_PER_NODE_LIMIT``). Figures
are noisy on a shared machine: repeat and keep the best.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import platform
import queue
import resource
import time
from dataclasses import dataclass
from typing import Any, Callable, Final, Generator, Sequence

import simpy

from sim import __version__
from sim.engine.config import EngineConfig, NodeGroup, UniformArrivals
from sim.engine.run import simulate

__all__ = [
    "RATE", "BenchRun", "Target", "measure", "measure_isolated", "raw_event_rate", "report", "storm_config",
    "targets",
]

RATE: Final = 8.0
"""Nodes a second in a storm: below csrapproving's 10 CSRs a second, so the happy path stays happy."""
STORM_NODES: Final = 100_000
STORM_WALL_LIMIT: Final = 20.0
"""Seconds for a ``STORM_NODES`` storm (scaled linearly for other sizes)."""
RAW_EVENTS_PER_JOIN_LIMIT: Final = 25.0
REAL_JOINS_PER_SECOND_MIN: Final = 1000.0
BYTES_PER_NODE_LIMIT: Final = 2048.0
SCALING_SLACK: Final = 1.1
"""The wall-time ratio of two storm sizes may exceed their size ratio by 10 % (100k / 10k <= 11)."""

Progress = Callable[[int, int], None]


def raw_event_rate(events: int = 100_000, repeat: int = 3) -> float:
    """Return the best rate (events per wall second) at which SimPy steps bare timeouts in this process."""
    def ticker(env: simpy.Environment, count: int) -> Generator[simpy.Event, Any, None]:
        for _ in range(count):
            yield env.timeout(1)

    best = 0.0
    for _ in range(repeat):
        env = simpy.Environment()
        for _ in range(10):
            env.process(ticker(env, events // 10))
        start = time.perf_counter()
        env.run()
        best = max(best, (events // 10 * 10) / (time.perf_counter() - start))
    return best


def storm_config(nodes: int, crypto: str, seed: int = 1) -> EngineConfig:
    """Return the happy-path storm: ``nodes`` workers arriving at ``RATE`` a second, every default kept."""
    return EngineConfig(seed=seed, crypto=crypto, groups=(
        NodeGroup(name="w", count=nodes, arrival=UniformArrivals(window=nodes / RATE)),))


@dataclass(frozen=True, slots=True, kw_only=True)
class BenchRun:
    """Report one storm: its size, mode, wall time, outcome and what it cost."""

    nodes: int
    crypto: str
    wall_seconds: float
    joined: int
    failed: int
    unfinished: int
    sim_seconds: float
    raw_events_per_second: float
    """SimPy's bare timeout rate, measured in the process that ran the storm."""
    rss_growth_bytes: int
    """Peak RSS after the storm minus the RSS just before it (memory the warm-up freed may be reused, so
    small storms read low)."""

    @property
    def joins_per_second(self) -> float:
        """Return joined nodes per wall second."""
        return self.joined / self.wall_seconds if self.wall_seconds > 0 else 0.0

    @property
    def raw_events_per_join(self) -> float:
        """Return the wall time per node in units of one raw SimPy event's wall time."""
        return self.wall_seconds * self.raw_events_per_second / self.nodes if self.nodes else 0.0

    @property
    def bytes_per_node(self) -> float:
        """Return the RSS the storm added, per node."""
        return self.rss_growth_bytes / self.nodes if self.nodes else 0.0

    def as_json(self) -> dict[str, Any]:
        """Return the run with its derived figures, as plain JSON data."""
        return {**dataclasses.asdict(self), "joins_per_wall_second": self.joins_per_second,
                "raw_events_per_join": self.raw_events_per_join, "rss_bytes_per_node": self.bytes_per_node}


def _peak_rss() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024  # Linux reports KiB


def _current_rss() -> int:
    """Return the resident set size now (Linux ``/proc``), else the peak so far."""
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            return int(handle.read().split()[1]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return _peak_rss()


def measure(nodes: int, crypto: str, seed: int = 1, progress: Progress | None = None) -> BenchRun:
    """Run one storm in this process (after warming the init's key memo) and measure it."""
    simulate(dataclasses.replace(storm_config(0, crypto, seed), groups=()))
    rate = raw_event_rate()
    before = _current_rss()
    result = simulate(storm_config(nodes, crypto, seed), progress=progress)
    grown = max(0, _peak_rss() - before)
    counts = result.counts
    return BenchRun(nodes=nodes, crypto=crypto, wall_seconds=result.wall_time, joined=counts["joined"],
                    failed=counts["failed"], unfinished=counts["unfinished"], sim_seconds=result.sim_time,
                    raw_events_per_second=rate, rss_growth_bytes=grown)


def _child(nodes: int, crypto: str, seed: int, channel: Any) -> None:
    """Measure one storm in a spawned interpreter, sending progress and the result back."""
    step = max(1, nodes // 200)

    def progress(done: int, total: int) -> None:
        if done % step == 0 or done == total:
            channel.put(("progress", done, total))

    channel.put(("result", dataclasses.asdict(measure(nodes, crypto, seed, progress))))


def measure_isolated(nodes: int, crypto: str, seed: int = 1, progress: Progress | None = None) -> BenchRun:
    """Run ``measure`` in a fresh interpreter, so the peak RSS is the storm's alone."""
    context = multiprocessing.get_context("spawn")
    channel = context.Queue()
    child = context.Process(target=_child, args=(nodes, crypto, seed, channel), daemon=True)
    child.start()
    try:
        while True:
            try:
                message = channel.get(timeout=0.5)
            except queue.Empty:
                if not child.is_alive():
                    raise RuntimeError(f"the benchmark process for {nodes} nodes ({crypto}) died "
                                       f"(exit code {child.exitcode})") from None
                continue
            if message[0] == "progress":
                if progress is not None:
                    progress(message[1], message[2])
                continue
            return BenchRun(**message[1])
    finally:
        child.join(timeout=5)
        if child.is_alive():
            child.terminate()


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """Compare one figure with its performance target."""

    name: str
    value: float | None
    """None: not measured (a size it needs was not run)."""
    limit: float
    unit: str
    at_most: bool
    """True: the value must not exceed the limit; False: it must reach it."""

    @property
    def met(self) -> bool | None:
        """Tell whether the target is met (None when not measured)."""
        if self.value is None:
            return None
        return self.value <= self.limit if self.at_most else self.value >= self.limit

    def as_json(self) -> dict[str, Any]:
        """Return the target as plain JSON data."""
        return {"name": self.name, "value": self.value, "target": self.limit, "unit": self.unit,
                "comparison": "<=" if self.at_most else ">=", "met": self.met}


def _largest(runs: Sequence[BenchRun], crypto: str) -> BenchRun | None:
    chosen = [r for r in runs if r.crypto == crypto]
    return max(chosen, key=lambda r: r.nodes) if chosen else None


def targets(runs: Sequence[BenchRun]) -> list[Target]:
    """Evaluate the performance targets on the runs (the largest modeled and real storms, the two largest sizes)."""
    modeled = sorted((r for r in runs if r.crypto == "modeled"), key=lambda r: r.nodes)
    big, real = _largest(runs, "modeled"), _largest(runs, "real")
    out = [
        Target(name=f"{big.nodes if big else 100_000}-node modeled storm, wall time",
               value=big.wall_seconds if big else None,
               limit=STORM_WALL_LIMIT * (big.nodes if big else STORM_NODES) / STORM_NODES, unit="s", at_most=True),
        Target(name="wall time per join (modeled), in raw SimPy events", value=big.raw_events_per_join if big else None,
               limit=RAW_EVENTS_PER_JOIN_LIMIT, unit="events", at_most=True),
        Target(name=f"real crypto joins per wall second ({real.nodes if real else '-'} nodes)",
               value=real.joins_per_second if real else None, limit=REAL_JOINS_PER_SECOND_MIN, unit="joins/s",
               at_most=False),
        Target(name=f"peak RSS per node ({big.nodes if big else '-'} nodes, modeled)",
               value=big.bytes_per_node if big else None, limit=BYTES_PER_NODE_LIMIT, unit="bytes", at_most=True),
    ]
    if len(modeled) >= 2 and modeled[-2].nodes > 0 and modeled[-2].wall_seconds > 0:
        small, large = modeled[-2], modeled[-1]
        out.append(Target(name=f"wall-time ratio {large.nodes}/{small.nodes} (modeled)",
                          value=large.wall_seconds / small.wall_seconds,
                          limit=SCALING_SLACK * large.nodes / small.nodes, unit="x", at_most=True))
    else:
        out.append(Target(name="wall-time ratio 100000/10000 (modeled)", value=None, limit=11.0, unit="x",
                          at_most=True))
    return out


def report(runs: Sequence[BenchRun], raw_rate: float, seed: int) -> dict[str, Any]:
    """Return the whole benchmark as plain JSON data: machine, scenario, runs and targets."""
    return {
        "joinsim": __version__, "python": platform.python_version(), "machine": platform.machine(),
        "cpus": multiprocessing.cpu_count(), "seed": seed,
        "scenario": f"happy path: workers arrive uniformly at {RATE:g} nodes/s; Kubernetes defaults; "
                    "kubeadm's RSA CA",
        "raw_simpy_events_per_second": raw_rate,
        "runs": [r.as_json() for r in runs],
        "targets": [t.as_json() for t in targets(runs)],
    }
