"""Build a simulated cluster and a join storm from one frozen configuration, run it, return plain results.

How this works: ``simulate(config)`` makes the ``World`` (clock, seeded
generator, event log), builds the cluster (``cluster.build_cluster``:
kubeadm init, further tokens, upload-certs, existing Nodes, controllers
settled), as a cluster is before anyone joins. Then it starts the API
server, the controller manager, the attackers (``attacker``), the admin
(``admin``) and, for every node of every group, a ``SimNode`` whose
``kubeadm join`` starts at the group's arrival time, on a machine holding
what the group's ``MachineSettings`` (and, for file discovery, the admin's
kubeconfig) put there. The run ends when every node is done (joined and
Ready, or failed), the admin's last action and every attacker that ends
have run, or at ``until``. The result is plain data: per node its outcome,
kubeadm's error text, the CA it trusts, where its CSR went, every join it
ran and the time of every milestone; per server its time series; per
attacker what it did and got; the admin's actions; counts; the event log;
the wall time. Every field of the configuration has the Kubernetes default.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Generator, Iterable, Mapping

import simpy

from sim.crypto import crypto_backend
from sim.engine.admin import AdminRecord, AdminRunner
from sim.engine.apiserver import SimApiServer
from sim.engine.attacker import AttackerResult, MitmAttacker, RunningAttacker, attacker_hosts, start_attacker
from sim.engine.cluster import BuiltCluster, build_cluster
from sim.engine.config import (
    DEFAULT_START, DISCOVERY_FILE_PATH, AllAtOnce, Arrival, ClusterSettings, EngineConfig, JoinSettings,
    MachineSettings, NetworkSettings, NodeGroup, PoissonArrivals, UniformArrivals, arrival_times,
)
from sim.engine.controllers import ControllerManagerModel
from sim.engine.costs import load_costs
from sim.engine.gcpause import full_collections_paused
from sim.engine.metrics import Sampler, TimeSeries
from sim.engine.network import Host, Interception, Network, split_endpoint
from sim.engine.node import NodeRuntime, SimNode
from sim.engine.world import EventLog, World
from sim.machine import LogLine, Machine
from sim.protocol import kubeconfig, pins
from sim.protocol.constants import KUBELET_CLIENT_USAGES_ECDSA, KUBELET_CLIENT_USAGES_RSA
from sim.protocol.joinconfig import JoinConfiguration
from sim.protocol.preflight import NodeFacts

__all__ = [
    "DEFAULT_START", "AllAtOnce", "Arrival", "ClusterSettings", "EngineConfig", "JoinRecord", "JoinSettings",
    "MachineSettings", "NetworkSettings", "NodeGroup", "NodeResult", "PoissonArrivals", "ServerResult", "SimResult",
    "UniformArrivals", "arrival_times", "simulate",
]

PLACEHOLDER: bytes = b"# left here before this run (MachineSettings.files)\n"
"""The contents of a file a group's ``MachineSettings`` says exists already."""


@dataclass(frozen=True, slots=True, kw_only=True)
class JoinRecord:
    """Report one ``kubeadm join`` a node ran: when, and how it ended."""

    started: float
    ended: float | None
    joined: bool
    phase: str
    error: str


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeResult:
    """Report one node: outcome, kubeadm's error text, whom it trusts, and when each milestone happened."""

    name: str
    group: str
    finished: bool
    joined: bool
    phase: str
    error: str
    trusted_ca_pin: str
    pinned: bool
    discovery_server: str
    csr_name: str
    csr_server: str
    started: float | None
    """When its first ``kubeadm join`` started."""
    ended: float | None
    """When it was last done (its last join failed, or joined and the Node is Ready)."""
    marks: tuple[tuple[float, str], ...]
    """Every milestone mark in order (``phase:<name>`` for phase starts)."""
    logs: tuple[LogLine, ...] = ()
    """(time, stream, text, verbosity) of every line printed, with ``EngineConfig.keep_logs``."""
    joins: tuple[JoinRecord, ...] = ()
    """Every ``kubeadm join`` the node ran (more than one after an admin's rejoin); the last is the outcome."""

    def milestone(self, name: str) -> float | None:
        """Return the time of the first mark with this name, if any."""
        return next((t for t, mark in self.marks if mark == name), None)


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerResult:
    """Report one API server: its time series and totals."""

    name: str
    series: TimeSeries
    requests: int
    rejected_429: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SimResult:
    """Hold everything a run produced, as plain data."""

    seed: int
    nodes: tuple[NodeResult, ...]
    servers: tuple[ServerResult, ...]
    counts: Mapping[str, int]
    sim_time: float
    wall_time: float
    ca_pin: str
    events: EventLog = field(repr=False)
    attackers: tuple[AttackerResult, ...] = ()
    admin: tuple[AdminRecord, ...] = ()
    certificate_key: str = ""
    """The key the cluster's kubeadm-certs Secret is encrypted with ("" without upload-certs)."""

    def node(self, name: str) -> NodeResult:
        """Return one node's result by name."""
        for result in self.nodes:
            if result.name == name:
                return result
        raise KeyError(name)

    def attacker(self, name: str) -> AttackerResult:
        """Return one attacker's result by name."""
        for result in self.attackers:
            if result.name == name:
                return result
        raise KeyError(name)


Progress = Callable[[int, int], None]
"""Called with (nodes finished, nodes in all) each time a node finishes."""


def simulate(config: EngineConfig, progress: Progress | None = None) -> SimResult:
    """Run the configured storm to its end and return the result (module docstring)."""
    wall = time.perf_counter()
    world = World(config.seed, config.start)
    env = world.env
    cluster = config.cluster
    built = build_cluster(cluster, now=config.start, rng=world.rng)
    plane = built.plane

    costs = config.costs or load_costs()
    sampler = Sampler(env, config.sample_interval)
    host, port = split_endpoint(cluster.endpoint)
    server = SimApiServer(world, plane, costs, config.apiserver, sampler, host=host, log_requests=config.log_requests)
    manager = ControllerManagerModel(world, plane.controllers, server, config.controllers, costs, sampler)
    network = _network(config, host, port)
    usages = KUBELET_CLIENT_USAGES_RSA if plane.profile.strict_kubelet_client_usages else KUBELET_CLIENT_USAGES_ECDSA
    runtime = NodeRuntime(world, network, server, costs, crypto_backend(config.crypto), usages)
    ca_pin = pins.certificate_pin(plane.ca.cert)

    with full_collections_paused():  # the nodes, the run and the results only add to the heap
        nodes: dict[str, SimNode] = {}
        join_configs: dict[str, JoinConfiguration] = {}
        for group in config.groups:
            times = arrival_times(group.arrival, group.count, world.stream(f"arrivals/{group.name}"))
            for number, at in enumerate(times, 1):
                name = f"{group.name}-{number}"
                machine = _machine(name, group, built, keep_logs=config.keep_logs)
                node = SimNode(runtime, machine, group.name, group.models, world.stream(f"node/{name}"))
                join_configs[name] = cfg = _join_configuration(name, group.join, cluster, built, ca_pin)
                node.join(cfg, at)
                nodes[name] = node
        if progress is not None:
            runtime.on_finish = lambda: progress(runtime.started_total - runtime.running, runtime.started_total)

        init_token = built.token.token
        groups = {g.name: g for g in config.groups}
        attackers = [start_attacker(a, runtime, endpoint=cluster.endpoint, ca_pem=plane.ca.cert_pem,
                                    token=(groups[a.group].join.token or init_token) if isinstance(a, MitmAttacker)
                                    else (a.token or init_token)) for a in config.attackers]
        admin = AdminRunner(world, server, nodes=nodes, groups={g.name: g.node_names() for g in config.groups},
                            join_configs=join_configs)
        waits = [admin.start(config.admin)] + [a.process for a in attackers if a.process is not None]

        manager.start()
        sampler.start()
        if nodes or config.admin or len(waits) > 1:
            done = env.process(_until_done(runtime, waits))
            env.run(until=env.any_of([done, env.timeout(config.until)]))
        sampler.sample()
        return _result(config, nodes.values(), server, sampler.series(), manager, attackers, admin, built, ca_pin,
                       wall)


def _network(config: EngineConfig, host: str, port: int) -> Network:
    """Return the network: the API server's host, the attackers' hosts and their interceptions."""
    hosts = [Host(name=host, group=config.cluster.group, ports=frozenset({port}))]
    interceptions: list[Interception] = []
    groups = {g.name: g for g in config.groups}
    for attacker in config.attackers:
        endpoints = [config.cluster.endpoint]
        if isinstance(attacker, MitmAttacker) and groups[attacker.group].join.endpoint not in (None, *endpoints):
            endpoints.insert(0, str(groups[attacker.group].join.endpoint))
        more_hosts, more = attacker_hosts(attacker, tuple(endpoints))
        hosts += more_hosts
        interceptions += more
    net = config.network
    return Network(hosts, links={(a, b): link for a, b, link in net.links}, default_link=net.default_link,
                   firewall=net.firewall, partitions=net.partitions, interceptions=interceptions)


def _machine(name: str, group: NodeGroup, built: BuiltCluster, *, keep_logs: bool) -> Machine:
    """Return a node's machine with what its group says is there, and the admin's kubeconfig for file discovery."""
    settings: MachineSettings = group.machine
    files = {path: PLACEHOLDER for path in settings.files}
    if group.join.discovery == "file":
        plane = built.plane
        files[DISCOVERY_FILE_PATH] = kubeconfig.cluster_info_kubeconfig(plane.secrets.server,
                                                                        plane.ca.cert_pem).encode()
    facts = NodeFacts.healthy_worker(name).with_changes(files=files, ports_in_use=frozenset(settings.ports_in_use))
    machine = Machine.fresh(name, facts, skew=group.models.clock_skew)
    machine.keep_logs = keep_logs
    return machine


def _join_configuration(name: str, settings: JoinSettings, cluster: ClusterSettings, built: BuiltCluster,
                        ca_pin: str) -> JoinConfiguration:
    """Return the JoinConfiguration kubeadm builds from a group's flags."""
    token = settings.token if settings.token is not None else built.token.token
    common: dict[str, Any] = dict(
        node_name=name, control_plane=settings.control_plane,
        certificate_key=(settings.certificate_key if settings.certificate_key is not None else built.certificate_key)
        if settings.control_plane else "",
        ignore_preflight_errors=settings.ignore_preflight_errors,
        kubelet_config_configmap=built.plane.profile.kubelet_config_configmap,
        discovery_timeout=settings.discovery_timeout, tls_bootstrap_timeout=settings.tls_bootstrap_timeout)
    if settings.discovery == "file":  # --token then only fills the TLS bootstrap token
        return JoinConfiguration(discovery_file=DISCOVERY_FILE_PATH,
                                 tls_bootstrap_token=settings.tls_bootstrap_token or token, **common)
    hashes = (settings.ca_cert_hashes or (ca_pin,)) if settings.pinned else ()
    return JoinConfiguration(api_server_endpoint=settings.endpoint or cluster.endpoint, token=token,
                             tls_bootstrap_token=settings.tls_bootstrap_token or "", ca_cert_hashes=hashes,
                             unsafe_skip_ca_verification=not settings.pinned, **common)


def _until_done(runtime: NodeRuntime, waits: list[simpy.Process]) -> Generator[simpy.Event, Any, None]:
    """Wait for the admin and the attackers that end, then until no node is busy (a rejoin may start one)."""
    for wait in waits:
        yield wait
    while runtime.running:
        yield runtime.all_done


def _result(config: EngineConfig, nodes: Iterable[SimNode], server: SimApiServer, series: TimeSeries,
            manager: ControllerManagerModel, attackers: list[RunningAttacker], admin: AdminRunner,
            built: BuiltCluster, ca_pin: str,
            wall: float) -> SimResult:
    results = tuple(_node_result(node, config.keep_logs) for node in nodes)
    joined = sum(r.joined for r in results)
    finished = sum(r.finished for r in results)
    counts: dict[str, int] = {"nodes": len(results), "joined": joined, "failed": finished - joined,
                              "unfinished": len(results) - finished}
    for runner in manager.runners:
        counts[f"syncs/{runner.name}"] = runner.syncs.value
        counts[f"api-calls/{runner.name}"] = runner.api_calls.value
    server_result = ServerResult(name=server.name, series=series, requests=server.requests.value,
                                 rejected_429=server.rejected.value)
    return SimResult(seed=config.seed, nodes=results, servers=(server_result,), counts=counts,
                     sim_time=float(server.env.now), wall_time=time.perf_counter() - wall, ca_pin=ca_pin,
                     events=server.world.log, attackers=tuple(a.result() for a in attackers),
                     admin=tuple(admin.records), certificate_key=built.certificate_key)


def _node_result(node: SimNode, keep_logs: bool) -> NodeResult:
    machine = node.machine
    outcome = machine.outcome
    marks = tuple((t, f"phase:{attrs.get('name', '')}" if mark == "phase" else mark)
                  for t, mark, attrs in machine.marks)
    return NodeResult(
        name=machine.name, group=node.group, finished=outcome is not None,
        joined=bool(outcome and outcome.joined), phase=outcome.phase if outcome else "",
        error=outcome.error if outcome else "", trusted_ca_pin=outcome.trusted_ca_pin if outcome else "",
        pinned=bool(outcome and outcome.pinned), discovery_server=outcome.discovery_server if outcome else "",
        csr_name=outcome.csr_name if outcome and outcome.csr_name else machine.csr_name,
        csr_server=outcome.csr_server if outcome and outcome.csr_server else machine.csr_server,
        started=node.started_at, ended=node.finished_at, marks=marks,
        logs=tuple(machine.logs) if keep_logs else (),
        joins=tuple(JoinRecord(started=run.started, ended=run.ended, joined=bool(run.outcome and run.outcome.joined),
                               phase=run.outcome.phase if run.outcome else "",
                               error=run.outcome.error if run.outcome else "") for run in node.runs))
