"""Build a simulated cluster and a join storm from one frozen configuration, run it, return plain results.

How this works: ``simulate(config)`` makes the ``World`` (clock, seeded
generator, event log), runs ``kubeadm init`` (``ControlPlane.bootstrap``)
and lets the controllers settle, as a cluster has before anyone joins. Then
it starts the API server, the controller manager and, for every node of
every group, a ``SimNode`` whose ``kubeadm join`` starts at the group's
arrival time. The run ends when every node is done (joined and Ready, or
failed) or at ``until``. The result is plain data: per node its outcome,
kubeadm's error text, the CA it trusts, where its CSR went and the time of
every milestone; per server its time series; counts; the event log; the
wall time. Every field of the configuration has the Kubernetes default.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Mapping

from sim.control.manager import ControllerManager
from sim.control.plane import ControlPlane
from sim.control.profile import profile as profile_named
from sim.crypto import crypto_backend
from sim.engine.apiserver import SimApiServer
from sim.engine.config import (
    DEFAULT_START, AllAtOnce, Arrival, ClusterSettings, EngineConfig, JoinSettings, NetworkSettings, NodeGroup,
    PoissonArrivals, UniformArrivals, arrival_times,
)
from sim.engine.controllers import ControllerManagerModel
from sim.engine.costs import load_costs
from sim.engine.metrics import Sampler, TimeSeries
from sim.engine.network import Host, Network, split_endpoint
from sim.engine.node import NodeRuntime, SimNode
from sim.engine.world import EventLog, World
from sim.machine import Machine
from sim.protocol import constants as C
from sim.protocol import pins, tokens
from sim.protocol.constants import KUBELET_CLIENT_USAGES_ECDSA, KUBELET_CLIENT_USAGES_RSA
from sim.protocol.joinconfig import JoinConfiguration

__all__ = [
    "DEFAULT_START", "AllAtOnce", "Arrival", "ClusterSettings", "EngineConfig", "JoinSettings", "NetworkSettings",
    "NodeGroup", "NodeResult", "PoissonArrivals", "ServerResult", "SimResult", "UniformArrivals", "arrival_times",
    "simulate",
]


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
    ended: float | None
    marks: tuple[tuple[float, str], ...]
    """Every milestone mark in order (``phase:<name>`` for phase starts)."""
    logs: tuple[tuple[float, str, str], ...] = ()
    """(time, stream, text) of every line printed, with ``EngineConfig.keep_logs``."""

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

    def node(self, name: str) -> NodeResult:
        """Return one node's result by name."""
        for result in self.nodes:
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
    chosen = profile_named(cluster.profile)
    token = tokens.BootstrapToken.from_string(tokens.generate_bootstrap_token(world.rng), ttl=cluster.token_ttl,
                                              description=C.INIT_TOKEN_DESCRIPTION)
    plane, token, _ = ControlPlane.bootstrap(now=config.start, rng=world.rng, endpoint=cluster.endpoint,
                                             profile=chosen, ca_key_type=cluster.ca_key_type, token=token,
                                             name=cluster.name)
    ControllerManager(plane.store, plane.controllers, plane.handle).pump(config.start)  # settled before joins

    costs = config.costs or load_costs()
    sampler = Sampler(env, config.sample_interval)
    host, port = split_endpoint(cluster.endpoint)
    server = SimApiServer(world, plane, costs, config.apiserver, sampler, host=host, log_requests=config.log_requests)
    manager = ControllerManagerModel(world, plane.controllers, server, config.controllers, costs, sampler)
    net = config.network
    network = Network([Host(name=host, group=cluster.group, ports=frozenset({port}))],
                      links={(a, b): link for a, b, link in net.links}, default_link=net.default_link,
                      firewall=net.firewall, partitions=net.partitions)
    usages = KUBELET_CLIENT_USAGES_RSA if chosen.strict_kubelet_client_usages else KUBELET_CLIENT_USAGES_ECDSA
    runtime = NodeRuntime(world, network, server, costs, crypto_backend(config.crypto), usages)
    ca_pin = pins.certificate_pin(plane.ca.cert)

    nodes: list[SimNode] = []
    for group in config.groups:
        times = arrival_times(group.arrival, group.count, world.stream(f"arrivals/{group.name}"))
        settings = group.join
        hashes = (settings.ca_cert_hashes or (ca_pin,)) if settings.pinned else ()
        for number, at in enumerate(times, 1):
            name = f"{group.name}-{number}"
            machine = Machine.fresh(name, skew=group.models.clock_skew)
            machine.keep_logs = config.keep_logs
            node = SimNode(runtime, machine, group.name, group.models, world.stream(f"node/{name}"))
            cfg = JoinConfiguration(
                node_name=name, api_server_endpoint=settings.endpoint or cluster.endpoint, token=settings.token or token.token,
                ca_cert_hashes=hashes, unsafe_skip_ca_verification=not settings.pinned,
                kubelet_config_configmap=chosen.kubelet_config_configmap,
                discovery_timeout=settings.discovery_timeout, tls_bootstrap_timeout=settings.tls_bootstrap_timeout)
            node.join(cfg, at)
            nodes.append(node)
    if progress is not None:
        total = len(nodes)
        runtime.on_finish = lambda: progress(total - runtime.running, total)

    manager.start()
    sampler.start()
    if nodes:
        env.run(until=env.any_of([runtime.all_done, env.timeout(config.until)]))
    sampler.sample()

    results = tuple(_node_result(node, config.keep_logs) for node in nodes)
    joined = sum(r.joined for r in results)
    finished = sum(r.finished for r in results)
    counts: dict[str, int] = {"nodes": len(results), "joined": joined, "failed": finished - joined,
                              "unfinished": len(results) - finished}
    for runner in manager.runners:
        counts[f"syncs/{runner.name}"] = runner.syncs.value
        counts[f"api-calls/{runner.name}"] = runner.api_calls.value
    server_result = ServerResult(name=server.name, series=sampler.series(), requests=server.requests.value,
                                 rejected_429=server.rejected.value)
    return SimResult(seed=config.seed, nodes=results, servers=(server_result,), counts=counts,
                     sim_time=float(env.now), wall_time=time.perf_counter() - wall, ca_pin=ca_pin, events=world.log)


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
        logs=tuple(machine.logs) if keep_logs else ())
