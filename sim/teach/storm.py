"""Reduce a simulated join storm to the few numbers a capacity plot needs.

How this works: a storm is many nodes running ``kubeadm join`` against one
control plane (``sim.engine.simulate``). What limits it is the rate at
which the cluster turns CSRs into certificates, so ``storm_of`` measures
that rate directly from the nodes' milestones: certificates issued divided
by the time from the first CSR created to the last certificate issued.
(Joined nodes over the storm's length would mix in the fixed second or two
every join spends before its CSR, which dominates small storms.) It also
reports the join-time percentiles, the API server's 429 answers, the peak
number of pending CSRs and how busy the control plane's cores were while
CSRs were in flight (the mean of the sampled ``cpu/busy-cores`` gauge).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sim.engine import SimResult
from sim.report.metrics import percentile

__all__ = ["Storm", "join_times", "storm_of"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Storm:
    """Summarize one storm run (module docstring); times are simulated seconds."""

    nodes: int
    joined: int
    csr_rate: float
    """Certificates issued per second, from the first CSR created to the last certificate issued (0: none)."""
    join_p50: float
    join_p99: float
    last_join: float
    """Seconds from the first node starting to the last one joining (NaN if none joined)."""
    rejected_429: int
    peak_pending: float
    """The most CSRs waiting for approval or signing at any sample."""
    busy_cores: float
    """Mean busy control-plane cores (sampled) while CSRs were in flight."""


def join_times(result: SimResult) -> list[float]:
    """Return, for every joined node, seconds from its ``kubeadm join`` starting to its success text."""
    out = []
    for node in result.nodes:
        done = node.milestone("joined")
        if node.joined and done is not None and node.started is not None:
            out.append(done - node.started)
    return out


def storm_of(result: SimResult) -> Storm:
    """Return the summary of a run (module docstring)."""
    created = [t for t in (n.milestone("csr-created") for n in result.nodes) if t is not None]
    issued = [t for t in (n.milestone("csr-issued") for n in result.nodes) if t is not None]
    span = max(issued) - min(created) if issued and created else 0.0
    rate = len(issued) / span if span > 0 else (math.inf if issued else 0.0)
    times = join_times(result)
    starts = [n.started for n in result.nodes if n.started is not None]
    ends = [n.milestone("joined") for n in result.nodes if n.joined]
    last = max(t for t in ends if t is not None) - min(starts) if times and starts else math.nan
    server = result.servers[0]
    series = server.series
    pending = series.columns.get("csrs/pending/peak", series.columns.get("csrs/pending", ()))
    busy = series.columns.get("cpu/busy-cores", ())
    window = [b for t, b in zip(series.times, busy) if created and issued and min(created) <= t <= max(issued)]
    return Storm(nodes=len(result.nodes), joined=len(times), csr_rate=rate,
                 join_p50=percentile(times, 50), join_p99=percentile(times, 99), last_join=last,
                 rejected_429=server.rejected_429, peak_pending=max(pending, default=0.0),
                 busy_cores=sum(window) / len(window) if window else 0.0)
