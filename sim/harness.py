"""Run join workflows against a control plane in one process, on a virtual clock.

How this works: this is the smallest possible driver (DESIGN rule 2), used by
the tests and by ``joinsim demo``. It carries out each command a workflow
yields: HTTP requests go straight to ``ControlPlane.handle`` after a modelled
TLS check (server chain and name against the node's trusted CA, client
certificate against the cluster CA), with no network and no cost; sleeps and
watches advance a virtual clock; controllers run to a fixed point after every
request. Crypto is real and seeded, so a run is deterministic for its seed.
The TLS model (``sim.tlsmodel``), the machine and its local commands
(``sim.machine``) and the crypto backend (``sim.crypto``) are shared with
the SimPy engine, so both drivers check and answer alike.
The SimPy engine and the asyncio emulator are the drivers that model time
and the wire; this one answers "what does the protocol do".
"""

from __future__ import annotations

import dataclasses
import functools
import heapq
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Generator

from sim import tlsmodel
from sim.control.manager import ControllerManager, Timer
from sim.control.plane import ControlPlane
from sim.crypto import CRYPTO_COMMANDS, Crypto, RealCrypto
from sim.machine import NOT_LOCAL, Machine, run_local
from sim.protocol import commands as cmd
from sim.protocol.constants import KUBELET_CLIENT_USAGES_ECDSA, KUBELET_CLIENT_USAGES_RSA
from sim.protocol.http import Request, Response
from sim.protocol.join import join
from sim.protocol.joinconfig import JoinConfiguration
from sim.protocol.kubelet import KubeletConfig, bootstrap
from sim.protocol.preflight import NodeFacts

DEFAULT_START = datetime(2026, 1, 1, tzinfo=timezone.utc)


@dataclass(slots=True)
class _Process:
    node: Machine
    kind: str
    gen: Generator[cmd.Command, Any, Any]
    alive: bool = True
    result: Any = None


@dataclass(slots=True)
class _Watch:
    proc: _Process
    command: cmd.WatchObject
    deadline_seq: int


class Harness:
    """Drive one control plane and many nodes; see the module docstring."""

    def __init__(
        self,
        plane: ControlPlane,
        *,
        rng: random.Random,
        start: datetime = DEFAULT_START,
        kubelet_start_delay: float = 0.5,
        ready_delay: float = 0.0,
        echo: Callable[[str, str], None] | None = None,
    ) -> None:
        self.plane = plane
        self.rng = rng
        self.start = start
        self.t = 0.0
        self.kubelet_start_delay = kubelet_start_delay
        self.ready_delay = ready_delay
        self.echo = echo
        self.crypto: Crypto = RealCrypto()
        self.nodes: dict[str, Machine] = {}
        self.manager = ControllerManager(plane.store, plane.controllers, plane.handle)
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = 0
        self._watches: list[_Watch] = []
        self._cancelled: set[int] = set()
        self._joins: list[_Process] = []
        self.requests: list[tuple[float, str, str, str, int]] = []
        """Every request served: (time, node, method, path, status)."""
        for timer in self.manager.start_timers():
            self._arm(timer)
        self._pump()

    # --- public API -------------------------------------------------------

    @property
    def now(self) -> datetime:
        """Return the control plane's wall clock."""
        return self.start + timedelta(seconds=self.t)

    def _clock(self) -> datetime:
        return self.now

    def add_node(self, name: str, *, facts: NodeFacts | None = None, skew: float = 0.0) -> Machine:
        """Create a clean machine ready to join."""
        node = Machine.fresh(name, facts, skew)
        self.nodes[name] = node
        return node

    def join(self, cfg: JoinConfiguration, *, at: float = 0.0, machine: Machine | None = None) -> Machine:
        """Start ``kubeadm join`` after ``at`` seconds on ``machine``, by default the one named like the node."""
        node = machine or self.nodes.get(cfg.node_name) or self.add_node(cfg.node_name)
        proc = _Process(node=node, kind="kubeadm", gen=join(cfg))
        self._joins.append(proc)
        self._schedule(at, lambda: self._advance(proc, None))
        return node

    def call_later(self, delay: float, action: Callable[[], None]) -> None:
        """Run an action (an admin step in a scenario) at a virtual time, then let controllers react."""
        def run() -> None:
            action()
            self._pump()
        self._schedule(delay, run)

    def run(self, until: float | None = None) -> None:
        """Advance the clock until every join has finished (or ``until`` seconds)."""
        while self._heap:
            when, seq, action = self._heap[0]
            if until is not None and when > until:
                break
            if not self._joins_running() and until is None:
                break
            heapq.heappop(self._heap)
            if seq in self._cancelled:
                self._cancelled.discard(seq)
                continue
            self.t = max(self.t, when)
            action()
        if until is not None:
            self.t = max(self.t, until)

    # --- scheduling -------------------------------------------------------

    def _schedule(self, delay: float, action: Callable[[], None]) -> int:
        self._seq += 1
        heapq.heappush(self._heap, (self.t + delay, self._seq, action))
        return self._seq

    def _arm(self, timer: Timer) -> None:
        def fire() -> None:
            for again in self.manager.enqueue(timer.controller, timer.key):
                self._arm(again)
            self._pump()
        self._schedule(timer.delay, fire)

    def _joins_running(self) -> bool:
        return any(p.alive for p in self._joins)

    def _pump(self) -> None:
        """Let controllers catch up, then wake watchers whose object changed."""
        for timer in self.manager.pump(self.now):
            self._arm(timer)
        for watch in list(self._watches):
            response = self._get(watch.proc.node, watch.command.request, watch.command.tls)
            if isinstance(response, Response) and tlsmodel.watch_changed(response, watch.command.resource_version):
                self._watches.remove(watch)
                self._cancelled.add(watch.deadline_seq)
                self._schedule(0.0, functools.partial(self._advance, watch.proc, response))

    # --- executing commands -----------------------------------------------

    def _advance(self, proc: _Process, value: Any) -> None:
        """Resume a workflow and run its commands until it blocks or ends."""
        while proc.alive:
            try:
                command = proc.gen.send(value)
            except StopIteration as done:
                proc.alive = False
                proc.result = done.value
                if proc.kind == "kubeadm":
                    proc.node.outcome = done.value
                return
            blocked, value = self._execute(proc, command)
            if blocked:
                return

    def _execute(self, proc: _Process, c: cmd.Command) -> tuple[bool, Any]:
        node = proc.node
        local = run_local(node, proc.kind, c, self.t, self._clock, self.echo)
        if local is not NOT_LOCAL:
            return False, local
        if isinstance(c, cmd.Sleep):
            self._schedule(c.seconds, lambda: self._advance(proc, None))
            return True, None
        if isinstance(c, cmd.WatchObject):
            return self._watch(proc, c)
        if isinstance(c, cmd.HttpRequest):
            result = self._http(node, c.endpoint, c.request, c.tls)
            self._pump()
            return False, result
        if isinstance(c, CRYPTO_COMMANDS):
            return False, self.crypto.run(c, self.now, self.rng)
        if isinstance(c, cmd.StartKubelet):
            self._start_kubelet(node, c)
            return False, None
        if isinstance(c, cmd.StopKubelet):
            self._stop_kubelet(node)
            return False, None
        if isinstance(c, cmd.ChargeCpu):
            return False, None
        raise TypeError(f"unknown command {c!r}")

    def _watch(self, proc: _Process, c: cmd.WatchObject) -> tuple[bool, Any]:
        response = self._get(proc.node, c.request, c.tls)
        if not isinstance(response, Response) or tlsmodel.watch_changed(response, c.resource_version):
            return False, response
        watch = _Watch(proc=proc, command=c, deadline_seq=0)

        def expire() -> None:
            if watch in self._watches:
                self._watches.remove(watch)
                self._advance(proc, None)
        watch.deadline_seq = self._schedule(c.timeout, expire)
        self._watches.append(watch)
        return True, None

    def _get(self, node: Machine, request: Request, tls: cmd.TlsConfig) -> Response | cmd.TransportFailure:
        return self._http(node, self.plane.endpoint, request, tls, record=False)

    def _http(self, node: Machine, endpoint: str, request: Request, tls: cmd.TlsConfig,
              record: bool = True) -> Response | cmd.TransportFailure:
        """Serve a request if the endpoint is the control plane's and the TLS checks pass."""
        if endpoint != self.plane.endpoint:
            return cmd.TransportFailure(message=f"dial tcp {endpoint}: connect: connection refused")
        # The node judges the server's certificate by its own clock; the server judges the node's by its own.
        failure = tlsmodel.server_failure(self.plane, tls, endpoint, self.now + timedelta(seconds=node.skew))
        if failure is not None:
            return failure
        identity = tlsmodel.client_identity(self.plane, tls, self.now)
        if identity.rejected:
            return tlsmodel.unauthorized(self.plane.name)
        response = self.plane.handle(dataclasses.replace(request, client=identity.subject), self.now)
        response = dataclasses.replace(response, server=self.plane.name)
        if record:
            self.requests.append((self.t, node.name, request.method, request.path, response.status))
        return response

    def _start_kubelet(self, node: Machine, c: cmd.StartKubelet) -> None:
        self._stop_kubelet(node)
        usages = KUBELET_CLIENT_USAGES_RSA if self.plane.profile.strict_kubelet_client_usages else \
            KUBELET_CLIENT_USAGES_ECDSA
        config = KubeletConfig(node_name=c.node_name, labels=c.labels, rng=self.rng, usages=usages,
                               start_delay=self.kubelet_start_delay, ready_delay=self.ready_delay)
        proc = _Process(node=node, kind="kubelet", gen=bootstrap(config))
        node.kubelet = proc
        node.kubelet_running = True
        self._schedule(0.0, lambda: self._advance(proc, None))

    def _stop_kubelet(self, node: Machine) -> None:
        if node.kubelet is not None and node.kubelet.alive:
            node.kubelet.alive = False
            node.kubelet.gen.close()
            self._watches = [w for w in self._watches if w.proc is not node.kubelet]
        node.kubelet_stopped()
