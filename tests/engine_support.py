"""Build small simulated clusters for the engine tests: configs with an ECDSA CA (fast to make) and bare servers."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType
from typing import Any, Generator

import simpy

from sim.control.manager import ControllerManager
from sim.control.plane import ControlPlane
from sim.engine.apiserver import ApiServerSettings, SimApiServer
from sim.engine.costs import CostTable, load_costs
from sim.engine.metrics import Sampler
from sim.engine.node import NodeModels
from sim.engine.run import (
    DEFAULT_START, AllAtOnce, Arrival, ClusterSettings, EngineConfig, JoinSettings, MachineSettings, NodeGroup,
    SimResult, simulate,
)
from sim.engine.world import World
from sim.protocol.tokens import BootstrapToken

ENDPOINT = "10.0.0.1:6443"
HOST = "10.0.0.1"
CLUSTER_INFO = "/api/v1/namespaces/kube-public/configmaps/cluster-info"
CLUSTER_INFO_URL = f"https://{ENDPOINT}{CLUSTER_INFO}?timeout=10s"
DISCOVERY_PREFIX = ("error execution phase preflight: couldn't validate the identity of the API Server: "
                    f'failed to request the cluster-info ConfigMap: Get "{CLUSTER_INFO_URL}": ')


def config(count: int = 3, *, arrival: Arrival = AllAtOnce(), join: JoinSettings = JoinSettings(),
           models: NodeModels = NodeModels(), machine: MachineSettings = MachineSettings(),
           cluster: ClusterSettings | None = None, **changes: Any) -> EngineConfig:
    """Return a one-group config (``w-1`` ... ``w-<count>``) on a cluster with an ECDSA CA."""
    return EngineConfig(cluster=cluster or ClusterSettings(ca_key_type="ecdsa"),
                        groups=(NodeGroup(name="w", count=count, arrival=arrival, join=join, machine=machine,
                                          models=models),),
                        **changes)


def run(count: int = 3, **options: Any) -> SimResult:
    """Simulate ``config(count, **options)``."""
    return simulate(config(count, **options))


def costs_with(requests: dict[str, float] | None = None, crypto: dict[str, float] | None = None) -> CostTable:
    """Return the packaged cost table with some entries replaced (microseconds)."""
    table = load_costs()
    return dataclasses.replace(table, requests=MappingProxyType({**table.requests, **(requests or {})}),
                               crypto=MappingProxyType({**table.crypto, **(crypto or {})}))


@dataclasses.dataclass
class Bench:
    """Hold a bare API server on a fresh world, for driving ``serve`` by hand."""

    world: World
    plane: ControlPlane
    server: SimApiServer
    sampler: Sampler
    token: BootstrapToken

    @property
    def env(self) -> simpy.Environment:
        return self.world.env

    def start(self, gen: Generator[simpy.Event, Any, Any]) -> simpy.Process:
        """Start a process (a ``serve`` call, say)."""
        return self.env.process(gen)


def bench(settings: ApiServerSettings = ApiServerSettings(), costs: CostTable | None = None, seed: int = 1) -> Bench:
    """Return a settled cluster and its API server model, with nothing else running."""
    world = World(seed, DEFAULT_START)
    plane, token, _ = ControlPlane.bootstrap(now=DEFAULT_START, rng=world.rng, endpoint=ENDPOINT, ca_key_type="ecdsa")
    ControllerManager(plane.store, plane.controllers, plane.handle).pump(DEFAULT_START)
    sampler = Sampler(world.env)
    server = SimApiServer(world, plane, costs or load_costs(), settings, sampler, host=HOST)
    return Bench(world=world, plane=plane, server=server, sampler=sampler, token=token)
