"""Run a machine's ``kubeadm join`` and kubelet as SimPy processes that carry out their commands.

How this works (the node model): each workflow (``sim.protocol.join.join``,
``sim.protocol.kubelet.bootstrap``) is driven as the harness drives it, but
in simulated time. Local commands (files, clock, logs, marks, kubelet state)
run at once through ``sim.machine``; crypto runs for real through a
``sim.crypto`` backend and charges the node's CPU time from the cost table
(each node has a CPU of its own); ``Sleep`` waits; ``HttpRequest`` goes
through the node's ``HttpClient`` (``sim.engine.client``: network, TLS,
timeouts, retries). ``StartKubelet`` starts the kubelet's bootstrap as a
second process; it answers ``/healthz`` after the kubelet start delay (a
model, 0.5 s), and its Node reports Ready after the CNI delay (a model, 0 s
by default). ``StopKubelet`` marks it stopped: it ends the next time it
wakes, and what it already sent stays sent.

A ``WatchObject`` opens a watch with one GET over the network, then waits
for the API server to publish a change of that object after the given
resourceVersion (watchers are indexed by object; nothing polls) or for the
timeout; the event reaches the node one network latency later. As with
client-go's watch stream, the next watch of the same object needs no GET.
A node is done when its join failed, or when it joined and its kubelet has
registered the Node and reported it Ready. An admin may run ``kubeadm
reset`` on it (``reset``: the kubelet stops, reset's files go) and ``kubeadm
join`` again; every join is kept in ``runs``. ``run_kubelet`` runs a kubelet
alone, with no ``kubeadm join`` around it (an attacker's kubelet).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Callable, Final, Generator

import simpy

from sim import tlsmodel
from sim.control.plane import ControlPlane
from sim.control.requestinfo import parse_request_info
from sim.crypto import CRYPTO_COMMANDS, Crypto
from sim.engine.apiserver import ObjectKey, SimApiServer, object_key
from sim.engine.client import HttpClient, Interceptor
from sim.engine.costs import CostTable
from sim.engine.network import Network
from sim.engine.world import World
from sim.machine import NOT_LOCAL, Machine, run_local
from sim.protocol import commands as cmd
from sim.protocol.commands import HttpResult, TransportFailure
from sim.protocol.join import JoinOutcome, join
from sim.protocol.joinconfig import JoinConfiguration
from sim.protocol.kubelet import KubeletConfig, KubeletOutcome, bootstrap
from sim.protocol.reset import apply_reset, is_control_plane_node, reset_plan

__all__ = ["CNI_READY_DELAY", "KUBELET_START_DELAY", "JoinRun", "NodeModels", "NodeRuntime", "SimNode"]

KUBELET_START_DELAY: Final = 0.5
"""Model: seconds from ``systemctl start kubelet`` until its ``/healthz`` answers."""
CNI_READY_DELAY: Final = 0.0
"""Model: seconds from Node registration until the network plugin is up and the Node reports Ready."""


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeModels:
    """Name the timing models of one group of nodes."""

    kubelet_start_delay: float = KUBELET_START_DELAY
    cni_ready_delay: float = CNI_READY_DELAY
    clock_skew: float = 0.0
    """Model: seconds the node's clock is ahead of the control plane's (negative: behind)."""

    def __post_init__(self) -> None:
        if self.kubelet_start_delay < 0 or self.cni_ready_delay < 0:
            raise ValueError("the kubelet start and CNI ready delays must not be negative")


class NodeRuntime:
    """Hold what every node shares: the world, network, API server, costs and crypto backend."""

    def __init__(self, world: World, network: Network, server: SimApiServer, costs: CostTable, crypto: Crypto,
                 usages: tuple[str, ...]) -> None:
        self.world = world
        self.network = network
        self.server = server
        self.plane: ControlPlane = server.plane
        self.costs = costs
        self.crypto = crypto
        self.usages = usages
        self.interceptors: dict[str, Interceptor] = {}
        """Attacker hosts that answer intercepted connections, by host name."""
        self.running = 0
        self.started_total = 0
        self.all_done = world.env.event()
        self.on_finish: Callable[[], None] | None = None

    def started(self) -> None:
        """Count one more node whose lifecycle is under way."""
        self.running += 1
        self.started_total += 1
        if self.all_done.triggered:
            self.all_done = self.world.env.event()  # a rejoin after everyone was done

    def finished(self) -> None:
        """Count one node done; fire ``all_done`` when none is left."""
        self.running -= 1
        if self.on_finish is not None:
            self.on_finish()
        if self.running == 0 and not self.all_done.triggered:
            self.all_done.succeed()


@dataclass(slots=True)
class JoinRun:
    """Record one ``kubeadm join`` on a machine: when it ran and how it ended."""

    started: float
    ended: float | None = None
    outcome: JoinOutcome | None = None


@dataclass(slots=True)
class _Kubelet:
    process: simpy.Process | None = None
    stopped: bool = False


class SimNode:
    """Run one machine's join and kubelet (module docstring)."""

    def __init__(self, runtime: NodeRuntime, machine: Machine, group: str, models: NodeModels,
                 rng: random.Random) -> None:
        self.rt = runtime
        self.world = runtime.world
        self.env = runtime.world.env
        self.machine = machine
        self.group = group
        self.models = models
        self.rng = rng
        self.client = HttpClient(runtime.world, runtime.network, runtime.server, source=machine.name, group=group,
                                 rng=rng, interceptors=runtime.interceptors, clock_skew=machine.skew)
        self.watching: set[tuple[str, ObjectKey]] = set()
        """Watch streams this node holds open (endpoint, object): a later watch of the same object needs no GET."""
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self.runs: list[JoinRun] = []

    def join(self, cfg: JoinConfiguration, at: float) -> simpy.Process:
        """Start ``kubeadm join`` after ``at`` seconds; the process ends when the node is done."""
        self.rt.started()
        return self.env.process(self._lifecycle(cfg, at))

    def _lifecycle(self, cfg: JoinConfiguration, at: float) -> Generator[simpy.Event, Any, None]:
        if at > 0:
            yield self.env.timeout(at)
        if self.started_at is None:
            self.started_at = float(self.env.now)
        run = JoinRun(started=float(self.env.now))
        self.runs.append(run)
        self.world.record(self.machine.name, "join-started")
        outcome: JoinOutcome = yield from self._drive("kubeadm", join(cfg), None)
        self.machine.outcome = run.outcome = outcome
        self.world.record(self.machine.name, "join-finished", {"joined": str(outcome.joined).lower(),
                                                               "error": outcome.error})
        kubelet = self.machine.kubelet
        if outcome.joined and isinstance(kubelet, _Kubelet) and kubelet.process is not None \
                and kubelet.process.is_alive and not kubelet.stopped:
            yield kubelet.process  # registration and Ready still to come
        self.finished_at = run.ended = float(self.env.now)
        self.rt.finished()

    def run_kubelet(self, config: KubeletConfig, at: float) -> simpy.Process:
        """Run a kubelet's bootstrap alone from ``at`` seconds; the process returns its ``KubeletOutcome``."""
        def run() -> Generator[simpy.Event, Any, KubeletOutcome]:
            if at > 0:
                yield self.env.timeout(at)
            handle = _Kubelet()
            self.machine.kubelet = handle
            self.machine.kubelet_running = True
            outcome: KubeletOutcome = yield from self._drive("kubelet", bootstrap(config), handle)
            return outcome
        return self.env.process(run())

    def reset(self) -> list[str]:
        """Run ``kubeadm reset -f`` on the machine: stop the kubelet, delete reset's files; return its lines."""
        self._stop_kubelet()
        facts = self.machine.current_facts()
        plan = reset_plan(facts, control_plane=is_control_plane_node(facts))
        after = apply_reset(facts, plan)
        self.machine.files = dict(after.files)
        self.machine.facts = self.machine.facts.with_changes(ports_in_use=after.ports_in_use)
        self.watching.clear()
        self.world.record(self.machine.name, "reset", {"removed": str(len(plan.removed))})
        return list(plan.lines)

    def _drive(self, kind: str, gen: cmd.Workflow, kubelet: _Kubelet | None) -> Generator[simpy.Event, Any, Any]:
        """Carry out a workflow's commands until it returns (or its kubelet is stopped)."""
        machine, world = self.machine, self.world
        value: Any = None
        while True:
            try:
                command = gen.send(value)
            except StopIteration as done:
                return done.value
            local = run_local(machine, kind, command, world.t, world.now)
            if local is not NOT_LOCAL:
                if isinstance(command, cmd.Mark):
                    world.record(machine.name, command.milestone, dict(command.attrs))
                value = local
                continue
            value = yield from self._execute(command)
            if kubelet is not None and kubelet.stopped:
                gen.close()
                return None

    def _execute(self, c: cmd.Command) -> Generator[simpy.Event, Any, Any]:
        if isinstance(c, cmd.Sleep):
            if c.seconds > 0:
                yield self.env.timeout(c.seconds)
            return None
        if isinstance(c, cmd.HttpRequest):
            return (yield from self.client.request(c))
        if isinstance(c, cmd.WatchObject):
            return (yield from self._watch(c))
        if isinstance(c, CRYPTO_COMMANDS):
            result = self.rt.crypto.run(c, self.world.now(), self.rng)
            yield from self._pause(self.rt.costs.command_seconds(c))
            return result
        if isinstance(c, cmd.ChargeCpu):
            yield from self._pause(self.rt.costs.seconds(c.operation))
            return None
        if isinstance(c, cmd.StartKubelet):
            self._start_kubelet(c)
            return None
        if isinstance(c, cmd.StopKubelet):
            self._stop_kubelet()
            return None
        raise TypeError(f"unknown command {c!r}")

    def _pause(self, seconds: float) -> Generator[simpy.Event, Any, None]:
        """Let ``seconds`` pass: node CPU time for crypto (each node has a CPU of its own), or a delay."""
        if seconds > 0:
            yield self.env.timeout(seconds)

    # --- the kubelet service ---------------------------------------------------------------------

    def _start_kubelet(self, c: cmd.StartKubelet) -> None:
        self._stop_kubelet()
        config = KubeletConfig(node_name=c.node_name, labels=c.labels, rng=self.rng, usages=self.rt.usages,
                               start_delay=self.models.kubelet_start_delay, ready_delay=self.models.cni_ready_delay)
        handle = _Kubelet()
        handle.process = self.env.process(self._drive("kubelet", bootstrap(config), handle))
        self.machine.kubelet = handle
        self.machine.kubelet_running = True

    def _stop_kubelet(self) -> None:
        """Stop the kubelet: its process ends the next time it wakes (what it already sent stays sent)."""
        if isinstance(self.machine.kubelet, _Kubelet):
            self.machine.kubelet.stopped = True
        self.machine.kubelet_stopped()

    def _watch(self, c: cmd.WatchObject) -> Generator[simpy.Event, Any, HttpResult | None]:
        """Open a watch of the object (one GET), then wait for a change after ``resource_version`` or the timeout.

        A watch delivers every change after its resourceVersion, so a change
        that happened while the GET's answer travelled is not missed.
        """
        start = float(self.env.now)
        key = object_key(parse_request_info(c.request.method, c.request.path, c.request.query))
        stream = (c.endpoint, key)
        if stream not in self.watching:
            fetched = yield from self.client.request(cmd.HttpRequest(endpoint=c.endpoint, request=c.request, tls=c.tls,
                                                           purpose="watch"))
            if isinstance(fetched, TransportFailure) or tlsmodel.watch_changed(fetched, c.resource_version):
                return fetched
            if not fetched.ok:  # client-go's watch keeps failing and retrying until its deadline
                remaining = c.timeout - (float(self.env.now) - start)
                if remaining > 0:
                    yield self.env.timeout(remaining)
                return None
            self.watching.add(stream)
        current = self.client.relay(c.endpoint, self.rt.server.current(key))
        if tlsmodel.watch_changed(current, c.resource_version):
            yield from self._pause(self.client.one_way_delay(c.endpoint))
            return current
        remaining = c.timeout - (float(self.env.now) - start)
        if remaining <= 0:
            return None
        changed = self.rt.server.watch(key)
        try:
            yield changed | self.env.timeout(remaining)
        finally:
            if not changed.triggered:
                self.rt.server.unwatch(key, changed)
        if not changed.triggered:
            self.watching.discard(stream)  # the watch timed out: the next one starts afresh
            return None
        response = self.client.relay(c.endpoint, self.rt.server.current(key))
        yield from self._pause(self.client.one_way_delay(c.endpoint))
        return response
