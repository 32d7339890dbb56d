"""Reduce a run's records to the numbers a reader asks for: percentiles per phase, joins per second, the bottleneck.

How this works: a node's phases are spans between two of its milestone
marks (``PHASES``), measured only on nodes that reached both. Percentiles
interpolate linearly between order statistics, as numpy's default does.
The bottleneck is the first rule of ``BOTTLENECK_RULES`` that fires on the
API server's sampled series (429s, APF queueing, busy cores, a CSR backlog),
read in the order of what costs a join most (429s are retried after a
second; a CSR backlog holds a node for as long as the approver needs to
reach it); each rule says what it saw, with the numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Final, Iterable, Sequence

from sim.engine import TimeSeries
from sim.report.record import NodeRecord, ResultFile

__all__ = ["BOTTLENECK_RULES", "PHASES", "Load", "Phase", "bottleneck", "load_of", "percentile", "phase_times",
           "throughput"]


def percentile(values: Sequence[float], q: float) -> float:
    """Return the ``q``-th percentile (0-100) with linear interpolation; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True, slots=True, kw_only=True)
class Phase:
    """Name a span of a node's join between two milestone marks."""

    name: str
    start: str
    end: str

    def duration(self, node: NodeRecord) -> float | None:
        """Return the span's length for this node, if it reached both marks."""
        begin, done = node.milestone(self.start), node.milestone(self.end)
        return None if begin is None or done is None else done - begin


PHASES: Final = (
    Phase(name="discovery", start="phase:preflight", end="discovered"),
    Phase(name="config", start="discovered", end="phase:kubelet-start"),
    Phase(name="kubelet start", start="phase:kubelet-start", end="kubelet-healthy"),
    Phase(name="csr approve+sign", start="csr-created", end="csr-issued"),
    Phase(name="node ready", start="certificate-stored", end="node-ready"),
    Phase(name="join (total)", start="phase:preflight", end="joined"),
)


def phase_times(nodes: Iterable[NodeRecord], phase: Phase) -> list[float]:
    """Return the phase's duration on every node that reached both its marks."""
    return [d for d in (phase.duration(n) for n in nodes) if d is not None]


def throughput(nodes: Sequence[NodeRecord]) -> float:
    """Return joins per second: joined nodes over the span from the first start to the last join (0 if none)."""
    done = [t for t in (n.milestone("joined") for n in nodes if n.joined) if t is not None]
    starts = [n.started for n in nodes if n.started is not None]
    if not done or not starts:
        return 0.0
    span = max(done) - min(starts)
    return len(done) / span if span > 0 else math.inf


@dataclass(frozen=True, slots=True, kw_only=True)
class Load:
    """Summarize the API server's sampled series: peaks and totals the bottleneck rules read."""

    rejected: int
    queued: tuple[str, float]
    """The APF level with the most queued requests at its peak, and that peak."""
    saturated: float
    """The share of samples, while nodes were joining, at which every control-plane core was busy."""
    cores: int
    pending_csrs: float
    csr_share: float
    """The CSR phase's median share of the median join time (0 when nothing joined)."""
    discovery_share: float
    """The discovery phase's median share of the median join time."""
    qps: float
    joined: int


def _peak(series: TimeSeries, name: str) -> float:
    return max(series.columns.get(name + "/peak", series.columns.get(name, (0.0,))) or (0.0,))


def _saturated(result: ResultFile, series: TimeSeries, cores: int) -> float:
    starts = [n.started for n in result.nodes if n.started is not None]
    ends = [n.ended for n in result.nodes if n.ended is not None]
    busy = series.columns.get("cpu/busy-cores", ())
    if not starts or not ends or not busy:
        return 0.0
    during = [b for t, b in zip(series.times, busy) if min(starts) <= t <= max(ends)]
    return sum(b >= cores for b in during) / len(during) if len(during) >= 3 else 0.0


def _share(result: ResultFile, phase: Phase, total: float) -> float:
    median = percentile(phase_times(result.nodes, phase), 50)
    return median / total if total and not math.isnan(total) and not math.isnan(median) else 0.0


def load_of(result: ResultFile) -> Load:
    """Return the summary of the first API server's series (and the scenario's cores and controller QPS)."""
    series = result.servers[0].series if result.servers else TimeSeries(interval=1.0, times=(), columns={})
    levels = sorted({name.split("/")[1] for name in series.columns if name.startswith("queued/")})
    queued = max(((level, _peak(series, f"queued/{level}")) for level in levels), key=lambda p: p[1],
                 default=("", 0.0))
    total = percentile(phase_times(result.nodes, PHASES[-1]), 50)
    scenario = result.scenario
    cores = int(scenario.get("apiserver", {}).get("cores", 2))
    return Load(rejected=result.servers[0].rejected_429 if result.servers else 0, queued=queued,
                saturated=_saturated(result, series, cores), cores=cores,
                pending_csrs=_peak(series, "csrs/pending"),
                csr_share=_share(result, PHASES[3], total), discovery_share=_share(result, PHASES[0], total),
                qps=float(scenario.get("controllers", {}).get("kube_api_qps", 20.0)),
                joined=sum(n.joined for n in result.nodes))


Rule = Callable[[Load], "str | None"]

BOTTLENECK_RULES: Final[tuple[Rule, ...]] = (
    lambda s: (f"API server: APF rejected {s.rejected} requests with 429 (peak {s.queued[1]:g} queued in "
               f"{s.queued[0]})") if s.rejected else None,
    lambda s: (f"csrapproving: CSRs waited for approval ({s.pending_csrs:g} pending at peak, "
               f"{s.csr_share:.0%} of the median join; the controller's client allows {s.qps:g} requests/s, "
               "two per CSR)") if s.pending_csrs > 1 and s.csr_share > 0.25 else None,
    lambda s: (f"control-plane CPU: all {s.cores} cores busy at {s.saturated:.0%} of the samples while nodes joined"
               if s.saturated >= 0.5 else None),
    lambda s: (f"API server: discovery requests waited in APF queues (peak {s.queued[1]:g} in {s.queued[0]}; "
               f"discovery is {s.discovery_share:.0%} of the median join)")
    if s.queued[1] > 0 and s.discovery_share > 0.25 else None,
    lambda s: "none measured: no node joined" if not s.joined else None,
)
NO_BOTTLENECK: Final = ("none: no queue formed; the join time is kubeadm's and the kubelet's own waits "
                        "(kubelet start, kubeadm's 1 s kubelet.conf poll)")


def bottleneck(result: ResultFile) -> str:
    """Return what limited the run, from the first rule that fires (module docstring)."""
    summary = load_of(result)
    for rule in BOTTLENECK_RULES:
        found = rule(summary)
        if found:
            return found
    return NO_BOTTLENECK
