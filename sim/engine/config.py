"""Describe a simulated join storm as one frozen configuration, with Kubernetes' defaults everywhere.

How this works: an ``EngineConfig`` holds the seed and start time, the
cluster ``kubeadm init`` makes (endpoint, CA key type, the init token's
lifetime, the Kubernetes version profile), groups of alike nodes (how many,
when they arrive, how they join, their timing models), the network between
groups, and the API server's and controller manager's settings. Everything
is validated when built; ``sim.engine.run.simulate`` runs it. Arrivals are
all at once, uniform over a window, or a Poisson process, drawn from the
group's own random stream.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Final, Union

from sim.engine.apiserver import ApiServerSettings
from sim.engine.controllers import ControllerSettings
from sim.engine.costs import CostTable
from sim.engine.network import FirewallRule, Link, Partition, split_endpoint
from sim.engine.node import NodeModels
from sim.protocol import constants as C
from sim.protocol.rng import Rng

__all__ = [
    "DEFAULT_START", "AllAtOnce", "Arrival", "ClusterSettings", "EngineConfig", "JoinSettings", "NetworkSettings",
    "NodeGroup", "PoissonArrivals", "UniformArrivals", "arrival_times",
]

DEFAULT_START: Final = datetime(2026, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True, slots=True, kw_only=True)
class AllAtOnce:
    """Start every node of the group at ``at`` seconds."""

    at: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class UniformArrivals:
    """Start each node at a time drawn uniformly from [``start``, ``start + window``)."""

    window: float
    start: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class PoissonArrivals:
    """Start nodes as a Poisson process of ``rate`` nodes a second from ``start``."""

    rate: float
    start: float = 0.0


Arrival = Union[AllAtOnce, UniformArrivals, PoissonArrivals]


def arrival_times(arrival: Arrival, count: int, rng: Rng) -> list[float]:
    """Return the start times of ``count`` nodes, in order of node number (not sorted for uniform)."""
    if isinstance(arrival, AllAtOnce):
        return [arrival.at] * count
    if isinstance(arrival, UniformArrivals):
        return [arrival.start + rng.random() * arrival.window for _ in range(count)]
    out, t = [], arrival.start
    for _ in range(count):
        t += _exponential(rng, arrival.rate)
        out.append(t)
    return out


def _exponential(rng: Rng, rate: float) -> float:
    return -math.log(1.0 - rng.random()) / rate


@dataclass(frozen=True, slots=True, kw_only=True)
class JoinSettings:
    """Say how a group's nodes run ``kubeadm join``."""

    token: str | None = None
    """The token to use (``None``: the one ``kubeadm init`` made)."""
    endpoint: str | None = None
    """The API server endpoint the nodes are given (``None``: the cluster's)."""
    pinned: bool = True
    """Pin the cluster CA (``--discovery-token-ca-cert-hash``); else ``--discovery-token-unsafe-skip-ca-verification``."""
    ca_cert_hashes: tuple[str, ...] = ()
    """Explicit pins instead of the cluster's (a wrong pin, say); used only when ``pinned``."""
    discovery_timeout: float = C.DISCOVERY_TIMEOUT
    tls_bootstrap_timeout: float = C.TLS_BOOTSTRAP_TIMEOUT


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeGroup:
    """Describe ``count`` alike nodes, named ``<name>-1`` ... ``<name>-<count>``, in one network group."""

    name: str
    count: int
    arrival: Arrival = AllAtOnce()
    join: JoinSettings = JoinSettings()
    models: NodeModels = NodeModels()


@dataclass(frozen=True, slots=True, kw_only=True)
class NetworkSettings:
    """Describe the network between groups (the control plane's group is ``ClusterSettings.group``)."""

    default_link: Link = Link()
    links: tuple[tuple[str, str, Link], ...] = ()
    firewall: tuple[FirewallRule, ...] = ()
    partitions: tuple[Partition, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterSettings:
    """Describe the cluster ``kubeadm init`` makes."""

    endpoint: str = "10.0.0.1:6443"
    name: str = "control-plane"
    group: str = "control-plane"
    ca_key_type: str = "rsa"
    token_ttl: float | None = C.DEFAULT_TOKEN_TTL
    """Seconds the init token lives from the start (``None``: it never expires)."""
    profile: str = "current"


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineConfig:
    """Say everything a run depends on; the same config and seed give the same run."""

    seed: int = 1
    start: datetime = DEFAULT_START
    groups: tuple[NodeGroup, ...] = ()
    cluster: ClusterSettings = ClusterSettings()
    network: NetworkSettings = NetworkSettings()
    apiserver: ApiServerSettings = ApiServerSettings()
    controllers: ControllerSettings = ControllerSettings()
    costs: CostTable | None = None
    """The CPU cost table (``None``: the packaged default)."""
    crypto: str = "real"
    sample_interval: float = 1.0
    until: float = 24 * 3600.0
    """Stop here (simulated seconds) even if nodes are still busy."""
    log_requests: bool = False
    """Also log every API request (the log then grows by about 15 lines a node)."""
    keep_logs: bool = False
    """Keep what each node's kubeadm and kubelet printed in ``NodeResult.logs`` (memory grows with nodes)."""

    def __post_init__(self) -> None:
        names = [g.name for g in self.groups]
        if len(set(names)) != len(names):
            raise ValueError("node group names must be unique")
        if any(g.count < 0 for g in self.groups):
            raise ValueError("a node group's count must not be negative")
        if self.cluster.group in names:
            raise ValueError(f"a node group may not be named like the control plane's group {self.cluster.group!r}")
        split_endpoint(self.cluster.endpoint)
