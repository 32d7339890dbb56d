"""Describe the ``nodes`` section: groups of alike nodes, when they arrive and how they run ``kubeadm join``.

Nodes of group ``w`` are named ``w-1`` ... ``w-<count>``. A join uses the
token ``kubeadm init`` made (``token: init``) unless given another, and the
cluster's endpoint (``endpoint: cluster``). ``ca_cert_hashes`` lists the
``--discovery-token-ca-cert-hash`` pins; ``cluster`` stands for the real
cluster CA's pin, which exists only once the run has made the CA. Without
pins a join needs ``unsafe_skip_ca_verification`` (kubeadm refuses it
otherwise), and with that flag the pins default to none, as with kind's
``--discovery-token-unsafe-skip-ca-verification``; given both, kubeadm
still enforces the pins. ``discovery: file`` uses the kubeconfig an admin
hands out instead (the cluster's server and CA); ``control_plane`` with a
``certificate_key`` joins a control-plane instance; ``machine`` puts files
and busy ports on the machines first (a node joined before and never reset).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Final, Iterable, Mapping

from sim.engine import (
    AllAtOnce, JoinSettings, MachineSettings, NodeGroup, NodeModels, PoissonArrivals, UniformArrivals,
)
from sim.engine.node import CNI_READY_DELAY, KUBELET_START_DELAY
from sim.protocol import constants as C
from sim.scenario.kinds import Choice, Duration, Endpoint, Flag, Integer, Rate, Text
from sim.scenario.problems import INVALID, Path, Problem
from sim.scenario.records import ListOf, OneOf, Record, option
from sim.scenario.sections.cluster import CLUSTER
from sim.scenario.tree import Scenario, Section

__all__ = ["CLUSTER_PIN", "NODES", "AtSpec", "GroupSpec", "JoinSpec", "MachineSpec", "ModelsSpec", "PoissonSpec",
           "UniformSpec", "node_names"]

CLUSTER_PIN: Final = "cluster"
"""Stands for the cluster CA's pin in ``ca_cert_hashes``."""
# cmd/kubeadm/app/apis/kubeadm/validation/validation.go ValidateDiscoveryBootstrapToken
UNSAFE_WITHOUT_HASHES: Final = (
    "using token-based discovery without caCertHashes can be unsafe. Set unsafeSkipCAVerification as true in your "
    "kubeadm config file or pass --discovery-token-unsafe-skip-ca-verification flag to continue")


@dataclass(frozen=True, slots=True, kw_only=True)
class AtSpec:
    """Start every node of the group at once."""

    at: float = option(Duration(), "when the whole group starts", 0.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class UniformSpec:
    """Start each node at a uniformly drawn time in [start, start + window)."""

    window: float = option(Duration(minimum=1e-9), "length of the arrival window")
    start: float = option(Duration(), "when the window opens", 0.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class PoissonSpec:
    """Start nodes as a Poisson process."""

    rate: float = option(Rate(), "mean arrivals, such as 10/s")
    start: float = option(Duration(), "when arrivals begin", 0.0)


ARRIVAL: Final = OneOf({"all_at_once": Record(AtSpec), "uniform": Record(UniformSpec),
                        "poisson": Record(PoissonSpec)}, bare={"all_at_once": AtSpec()})


@dataclass(frozen=True, slots=True, kw_only=True)
class JoinSpec:
    """Say how the group runs ``kubeadm join`` (module docstring)."""

    token: str = option(Text(), "the bootstrap token, --token (init: the one kubeadm init made)", "init")
    tls_bootstrap_token: str = option(Text(), "--tls-bootstrap-token (same: the token above)", "same")
    discovery: str = option(Choice(("token", "file")), "token: token discovery; file: --discovery-file with the "
                            "kubeconfig the admin hands out", "token")
    endpoint: str = option(Text(), "the API server endpoint given to kubeadm join (cluster: the cluster's)",
                           "cluster")
    ca_cert_hashes: tuple[str, ...] | None = option(
        ListOf(Text()), "--discovery-token-ca-cert-hash pins (cluster: the real CA's pin); default [cluster], "
        "or [] with unsafe_skip_ca_verification", None)
    unsafe_skip_ca_verification: bool = option(Flag(), "--discovery-token-unsafe-skip-ca-verification", False)
    control_plane: bool = option(Flag(), "--control-plane: join as a control-plane instance", False)
    certificate_key: str = option(Text(), "--certificate-key (cluster: the key upload-certs used)", "cluster")
    ignore_preflight_errors: tuple[str, ...] = option(ListOf(Text()), "--ignore-preflight-errors (check names, "
                                                      "or all)", ())
    discovery_timeout: float = option(Duration(minimum=1e-9), "timeouts.discovery", C.DISCOVERY_TIMEOUT)
    tls_bootstrap_timeout: float = option(Duration(minimum=1e-9), "timeouts.tlsBootstrap", C.TLS_BOOTSTRAP_TIMEOUT)

    def resolved(self) -> JoinSpec:
        """Fill the pins' default, which depends on ``unsafe_skip_ca_verification``."""
        if self.ca_cert_hashes is not None:
            return self
        pins = () if self.unsafe_skip_ca_verification else (CLUSTER_PIN,)
        return dataclasses.replace(self, ca_cert_hashes=pins)

    def build(self) -> JoinSettings:
        """Return the engine's join settings (raises ValueError with the engine's message)."""
        pins = self.ca_cert_hashes or ()
        return JoinSettings(
            token=None if self.token == "init" else self.token,
            tls_bootstrap_token=None if self.tls_bootstrap_token == "same" else self.tls_bootstrap_token,
            discovery=self.discovery, endpoint=None if self.endpoint == "cluster" else self.endpoint,
            pinned=bool(pins),  # with pins, kubeadm enforces them even with the unsafe flag
            ca_cert_hashes=() if pins == (CLUSTER_PIN,) else pins, control_plane=self.control_plane,
            certificate_key=None if self.certificate_key == "cluster" else self.certificate_key,
            ignore_preflight_errors=self.ignore_preflight_errors, discovery_timeout=self.discovery_timeout,
            tls_bootstrap_timeout=self.tls_bootstrap_timeout)

    def problems(self) -> Iterable[tuple[str, str]]:
        """Refuse what kubeadm's validation refuses, and a malformed endpoint."""
        if self.discovery == "token" and not self.ca_cert_hashes and not self.unsafe_skip_ca_verification:
            yield "ca_cert_hashes", UNSAFE_WITHOUT_HASHES
        if self.endpoint != "cluster":
            found: list[Problem] = []
            if Endpoint().parse(self.endpoint, (), found) is INVALID:
                yield "endpoint", found[0].message


@dataclass(frozen=True, slots=True, kw_only=True)
class MachineSpec:
    """Say what is on the group's machines before they join (an earlier join never reset, say)."""

    files: tuple[str, ...] = option(ListOf(Text()), "absolute paths that exist already, e.g. "
                                    "/etc/kubernetes/kubelet.conf", ())
    ports_in_use: tuple[int, ...] = option(ListOf(Integer(1)), "TCP ports in use already, e.g. 10250", ())

    def build(self) -> MachineSettings:
        """Return the engine's machine settings (raises ValueError with the engine's message)."""
        return MachineSettings(files=self.files, ports_in_use=self.ports_in_use)


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelsSpec:
    """Set the group's timing models."""

    kubelet_start_delay: float = option(Duration(), "model: kubelet start until /healthz answers",
                                        KUBELET_START_DELAY)
    cni_ready_delay: float = option(Duration(), "model: Node registered until Ready", CNI_READY_DELAY)
    clock_skew: float = option(Duration(negative=True), "model: the node's clock ahead of the control plane's "
                               "(negative: behind)", 0.0)

    def build(self) -> NodeModels:
        """Return the engine's timing models."""
        return NodeModels(kubelet_start_delay=self.kubelet_start_delay, cni_ready_delay=self.cni_ready_delay,
                          clock_skew=self.clock_skew)


MAX_GROUP_SIZE = 1_000_000
"""More nodes than a run could hold in memory (about 40 KB each) is a typo, refused before anything is allocated."""


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupSpec:
    """Describe ``count`` alike nodes."""

    name: str = option(Text(), "group name; nodes are <name>-1 ... <name>-<count>")
    count: int = option(Integer(1, MAX_GROUP_SIZE), "how many nodes")
    arrival: AtSpec | UniformSpec | PoissonSpec = option(ARRIVAL, "all_at_once, {all_at_once: {at}}, "
                                                         "{uniform: {window, start}} or {poisson: {rate, start}}",
                                                         AtSpec())
    join: JoinSpec = option(Record(JoinSpec), "how the nodes run kubeadm join", JoinSpec().resolved())
    machine: MachineSpec = option(Record(MachineSpec), "what is on the machines already", MachineSpec())
    models: ModelsSpec = option(Record(ModelsSpec), "timing models", ModelsSpec())


def node_names(groups: Iterable[GroupSpec]) -> list[str]:
    """Return every node's name, in the engine's order."""
    return [f"{g.name}-{n}" for g in groups for n in range(1, g.count + 1)]


def _arrival(spec: AtSpec | UniformSpec | PoissonSpec) -> AllAtOnce | UniformArrivals | PoissonArrivals:
    if isinstance(spec, AtSpec):
        return AllAtOnce(at=spec.at)
    if isinstance(spec, UniformSpec):
        return UniformArrivals(window=spec.window, start=spec.start)
    return PoissonArrivals(rate=spec.rate, start=spec.start)


def _engine(groups: tuple[GroupSpec, ...], scenario: Scenario) -> Mapping[str, Any]:
    return {"groups": tuple(
        NodeGroup(name=g.name, count=g.count, arrival=_arrival(g.arrival), join=g.join.build(),
                  machine=g.machine.build(), models=g.models.build())
        for g in groups)}


def _check(groups: tuple[GroupSpec, ...], scenario: Scenario) -> Iterable[Problem]:
    seen: set[str] = set()
    for index, group in enumerate(groups):
        path: Path = ("nodes", index, "name")
        if group.name in seen:
            yield Problem(path=path, message=f"group name {group.name!r} is used twice")
        if group.name == scenario.get(CLUSTER).group:
            yield Problem(path=path, message=f"{group.name!r} is the control plane's group (cluster.group)")
        seen.add(group.name)


NODES: Section[tuple[GroupSpec, ...]] = Section(
    key="nodes", kind=ListOf(Record(GroupSpec), min_items=1), default=(), required=True, engine=_engine, check=_check,
    groups=lambda groups: [g.name for g in groups],
    doc="groups of alike nodes: count, arrival, join settings, timing models")
