"""Describe a simulated join storm as one frozen configuration, with Kubernetes' defaults everywhere.

How this works: an ``EngineConfig`` holds the seed and start time, the
cluster ``kubeadm init`` makes (``ClusterSettings``, in ``cluster``),
groups of alike nodes (how many, when they arrive, how they join, what is
already on their machines, their timing models), the network between
groups, the API server's and controller manager's settings, attackers
(``attacker``) and an admin's timed actions (``admin``). Everything is
validated when built, including the names one part gives another (a MITM's
victim group, an admin action's node); ``sim.engine.run.simulate`` runs it.
Arrivals are all at once, uniform over a window, or a Poisson process,
drawn from the group's own random stream.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Final, Union

from sim.engine.admin import AdminAction, DeleteNode
from sim.engine.apiserver import ApiServerSettings
from sim.engine.attacker import Attacker, MitmAttacker
from sim.engine.cluster import ClusterSettings
from sim.engine.controllers import ControllerSettings
from sim.engine.costs import CostTable
from sim.engine.network import FirewallRule, Link, Partition, split_endpoint
from sim.engine.node import NodeModels
from sim.protocol import constants as C
from sim.protocol.rng import Rng

__all__ = [
    "DEFAULT_START", "DISCOVERY_FILE_PATH", "AllAtOnce", "Arrival", "ClusterSettings", "EngineConfig", "JoinSettings",
    "MachineSettings", "NetworkSettings", "NodeGroup", "PoissonArrivals", "UniformArrivals", "arrival_times",
]

DEFAULT_START: Final = datetime(2026, 1, 1, tzinfo=timezone.utc)
DISCOVERY_FILE_PATH: Final = "/root/cluster-info.yaml"
"""Where file discovery finds the kubeconfig the admin handed out (``--discovery-file``)."""


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
    """Say how a group's nodes run ``kubeadm join`` (flags and JoinConfiguration fields, kubeadm's defaults)."""

    token: str | None = None
    """The token (``--token``; ``None``: the one ``kubeadm init`` made). Not checked here: kubeadm checks it."""
    tls_bootstrap_token: str | None = None
    """A separate ``--tls-bootstrap-token`` (``None``: the discovery token)."""
    discovery: str = "token"
    """``token``: token discovery against ``endpoint``; ``file``: ``--discovery-file`` with the kubeconfig the
    admin hands out (the cluster's server and CA, no credentials) at ``DISCOVERY_FILE_PATH``."""
    endpoint: str | None = None
    """The API server endpoint the nodes are given (``None``: the cluster's)."""
    pinned: bool = True
    """Pin the cluster CA (``--discovery-token-ca-cert-hash``), else skip it
    (``--discovery-token-unsafe-skip-ca-verification``)."""
    ca_cert_hashes: tuple[str, ...] = ()
    """Explicit pins instead of the cluster's (a wrong pin, say); used only when ``pinned``."""
    control_plane: bool = False
    """``--control-plane``: join as a control-plane instance."""
    certificate_key: str | None = None
    """``--certificate-key`` for a control-plane join (``None``: the cluster's upload-certs key, if any)."""
    ignore_preflight_errors: tuple[str, ...] = ()
    """``--ignore-preflight-errors`` values (check names, or ``all``)."""
    discovery_timeout: float = C.DISCOVERY_TIMEOUT
    tls_bootstrap_timeout: float = C.TLS_BOOTSTRAP_TIMEOUT

    def __post_init__(self) -> None:
        if self.discovery not in ("token", "file"):
            raise ValueError(f"discovery must be token or file, got {self.discovery!r}")
        if not (self.discovery_timeout > 0 and self.tls_bootstrap_timeout > 0):
            raise ValueError("the discovery and TLS bootstrap timeouts must be positive")
        if self.certificate_key is not None and not self.control_plane:
            raise ValueError("a certificate_key is for control-plane joins (set control_plane)")


@dataclass(frozen=True, slots=True, kw_only=True)
class MachineSettings:
    """Say what is on a group's machines before they join (an earlier join that was never reset, say)."""

    files: tuple[str, ...] = ()
    """Absolute paths that exist already (placeholder contents), e.g. ``/etc/kubernetes/kubelet.conf``."""
    ports_in_use: tuple[int, ...] = ()
    """TCP ports something listens on already, e.g. 10250 for a kubelet still running."""

    def __post_init__(self) -> None:
        if any(not path.startswith("/") for path in self.files):
            raise ValueError("machine files must be absolute paths")
        if any(not 0 < port < 65536 for port in self.ports_in_use):
            raise ValueError("machine ports must be in 1-65535")


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeGroup:
    """Describe ``count`` alike nodes, named ``<name>-1`` ... ``<name>-<count>``, in one network group."""

    name: str
    count: int
    arrival: Arrival = AllAtOnce()
    join: JoinSettings = JoinSettings()
    machine: MachineSettings = MachineSettings()
    models: NodeModels = NodeModels()

    def node_names(self) -> list[str]:
        """Return the names of the group's nodes, in order."""
        return [f"{self.name}-{number}" for number in range(1, self.count + 1)]


@dataclass(frozen=True, slots=True, kw_only=True)
class NetworkSettings:
    """Describe the network between groups (the control plane's group is ``ClusterSettings.group``)."""

    default_link: Link = Link()
    links: tuple[tuple[str, str, Link], ...] = ()
    firewall: tuple[FirewallRule, ...] = ()
    partitions: tuple[Partition, ...] = ()


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
    attackers: tuple[Attacker, ...] = ()
    """Each attacker has a network group (and host) named after it."""
    admin: tuple[AdminAction, ...] = ()
    """The admin's timed actions; the run lasts at least until the last one."""
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
        self._check_attackers(set(names))
        self._check_admin()

    def _check_attackers(self, groups: set[str]) -> None:
        taken = groups | {self.cluster.group, split_endpoint(self.cluster.endpoint)[0]}
        seen: set[str] = set()
        for attacker in self.attackers:
            if attacker.name in taken or attacker.name in seen:
                raise ValueError(f"attacker {attacker.name!r}: its name must differ from other attackers, node "
                                 "groups, the control plane's group and host")
            seen.add(attacker.name)
            if isinstance(attacker, MitmAttacker) and attacker.group not in groups:
                raise ValueError(f"MITM attacker {attacker.name!r}: no node group named {attacker.group!r}")

    def _check_admin(self) -> None:
        groups = {g.name for g in self.groups}
        nodes = {name for g in self.groups for name in g.node_names()}
        for action in self.admin:
            where = f"{type(action).__name__} at {action.at:g} s"
            group: str | None = getattr(action, "group", None)
            if group is not None and group not in groups:
                raise ValueError(f"{where}: no node group named {group!r}")
            node: str | None = getattr(action, "node", None)
            if node is not None and node not in nodes and not isinstance(action, DeleteNode):
                raise ValueError(f"{where}: no node named {node!r} (nodes are <group>-<n>)")
