"""Run join workflows against a control plane in one process, on a virtual clock.

How this works: this is the smallest possible driver (DESIGN rule 2), used by
the tests and by ``joinsim demo``. It carries out each command a workflow
yields: HTTP requests go straight to ``ControlPlane.handle`` after a modelled
TLS check (server chain and name against the node's trusted CA, client
certificate against the cluster CA), with no network and no cost; sleeps and
watches advance a virtual clock; controllers run to a fixed point after every
request. Crypto is real and seeded, so a run is deterministic for its seed.
The SimPy engine and the asyncio emulator are the drivers that model time
and the wire; this one answers "what does the protocol do".
"""

from __future__ import annotations

import dataclasses
import heapq
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Generator

from cryptography import x509

from sim.control import status
from sim.control.manager import ControllerManager, Timer
from sim.control.plane import ControlPlane, subject_of
from sim.protocol import commands as cmd
from sim.protocol import keys, pki, x509verify
from sim.protocol.constants import KUBELET_CLIENT_USAGES_ECDSA, KUBELET_CLIENT_USAGES_RSA
from sim.protocol.http import Request, Response
from sim.protocol.join import JoinOutcome, join
from sim.protocol.joinconfig import JoinConfiguration
from sim.protocol.kubelet import KubeletConfig, bootstrap
from sim.protocol.preflight import NodeFacts

DEFAULT_START = datetime(2026, 1, 1, tzinfo=timezone.utc)


@dataclass(slots=True)
class Node:
    """Hold one simulated machine: its files, clock skew, kubelet and what it printed."""

    name: str
    facts: NodeFacts
    skew: float = 0.0
    files: dict[str, bytes] = field(default_factory=dict)
    logs: list[tuple[float, str, str]] = field(default_factory=list)
    marks: list[tuple[float, str, dict[str, str]]] = field(default_factory=list)
    kubelet: _Process | None = None
    kubelet_running: bool = False
    """The kubelet service is started (its bootstrap workflow may have finished; the service runs on)."""
    kubelet_healthy: bool = False
    csr_name: str = ""
    csr_server: str = ""
    outcome: JoinOutcome | None = None

    def milestone(self, name: str) -> float | None:
        """Return the virtual time of the first mark with this name, if any."""
        return next((t for t, m, _ in self.marks if m == name), None)


@dataclass(slots=True)
class _Process:
    node: Node
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
        self.nodes: dict[str, Node] = {}
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

    def add_node(self, name: str, *, facts: NodeFacts | None = None, skew: float = 0.0) -> Node:
        """Create a clean machine ready to join."""
        node = Node(name=name, facts=facts or NodeFacts.healthy_worker(name), skew=skew)
        node.files.update(node.facts.files)
        self.nodes[name] = node
        return node

    def join(self, cfg: JoinConfiguration, *, at: float = 0.0, machine: Node | None = None) -> Node:
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
            if isinstance(response, Response) and _changed(response, watch.command.resource_version):
                self._watches.remove(watch)
                self._cancelled.add(watch.deadline_seq)
                self._schedule(0.0, lambda w=watch, r=response: self._advance(w.proc, r))

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
        if isinstance(c, cmd.Sleep):
            self._schedule(c.seconds, lambda: self._advance(proc, None))
            return True, None
        if isinstance(c, cmd.WatchObject):
            return self._watch(proc, c)
        if isinstance(c, cmd.HttpRequest):
            result = self._http(node, c.endpoint, c.request, c.tls)
            self._pump()
            return False, result
        if isinstance(c, cmd.ReadClock):
            return False, self.now + timedelta(seconds=node.skew)
        if isinstance(c, cmd.ReadFile):
            return False, node.files.get(c.path)
        if isinstance(c, cmd.WriteFile):
            node.files[c.path] = c.data
            return False, None
        if isinstance(c, cmd.RemoveFile):
            node.files.pop(c.path, None)
            return False, None
        if isinstance(c, cmd.GenerateKey):
            return False, keys.generate_private_key(c.key_type, self.rng)
        if isinstance(c, cmd.CreateCSR):
            return False, pki.build_csr(c.key, common_name=c.common_name, organizations=c.organizations)
        if isinstance(c, cmd.IssueCertificate):
            return False, self._issue(c)
        if isinstance(c, cmd.InspectNode):
            return False, self._facts(node)
        if isinstance(c, cmd.StartKubelet):
            self._start_kubelet(node, c)
            return False, None
        if isinstance(c, cmd.StopKubelet):
            self._stop_kubelet(node)
            return False, None
        if isinstance(c, cmd.KubeletStatus):
            running = node.kubelet_running
            return False, cmd.KubeletState(running=running, healthy=running and node.kubelet_healthy,
                                           csr_name=node.csr_name, csr_server=node.csr_server)
        if isinstance(c, cmd.Log):
            node.logs.append((self.t, c.stream, c.text))
            if self.echo is not None and c.verbosity == 0:
                self.echo(node.name, c.text)
            return False, None
        if isinstance(c, cmd.Mark):
            self._mark(proc, c)
            return False, None
        if isinstance(c, cmd.ChargeCpu):
            return False, None
        raise TypeError(f"unknown command {c!r}")

    def _mark(self, proc: _Process, c: cmd.Mark) -> None:
        node = proc.node
        node.marks.append((self.t, c.milestone, dict(c.attrs)))
        if proc.kind == "kubelet" and c.milestone == "kubelet-healthy":
            node.kubelet_healthy = True
        if proc.kind == "kubelet" and c.milestone == "csr-created":
            node.csr_name, node.csr_server = c.attrs.get("name", ""), c.attrs.get("server", "")

    def _watch(self, proc: _Process, c: cmd.WatchObject) -> tuple[bool, Any]:
        response = self._get(proc.node, c.request, c.tls)
        if not isinstance(response, Response) or _changed(response, c.resource_version):
            return False, response
        watch = _Watch(proc=proc, command=c, deadline_seq=0)

        def expire() -> None:
            if watch in self._watches:
                self._watches.remove(watch)
                self._advance(proc, None)
        watch.deadline_seq = self._schedule(c.timeout, expire)
        self._watches.append(watch)
        return True, None

    def _get(self, node: Node, request: Request, tls: cmd.TlsConfig) -> Response | cmd.TransportFailure:
        return self._http(node, self.plane.endpoint, request, tls, record=False)

    def _http(self, node: Node, endpoint: str, request: Request, tls: cmd.TlsConfig,
              record: bool = True) -> Response | cmd.TransportFailure:
        """Serve a request if the endpoint is the control plane's and the TLS checks pass."""
        if endpoint != self.plane.endpoint:
            return cmd.TransportFailure(message=f"dial tcp {endpoint}: connect: connection refused")
        if not tls.insecure:
            problem = self._verify_server(tls, endpoint.rsplit(":", 1)[0])
            if problem:
                return cmd.TransportFailure(message=f"tls: failed to verify certificate: {problem}")
        client = None
        if tls.client_cert_pem:
            cert = x509.load_pem_x509_certificate(tls.client_cert_pem)
            if x509verify.verify_chain(cert, [self.plane.ca.cert], self.now) is not None:
                # kube-apiserver's x509 authenticator fails the request outright (union.NewFailOnError).
                return Response(status=401, body=status.unauthorized().status, server=self.plane.name)
            client = subject_of(cert)
        response = self.plane.handle(dataclasses.replace(request, client=client), self.now)
        response = dataclasses.replace(response, server=self.plane.name)
        if record:
            self.requests.append((self.t, node.name, request.method, request.path, response.status))
        return response

    def _verify_server(self, tls: cmd.TlsConfig, host: str) -> str | None:
        if not tls.ca_pem:
            return "x509: certificate signed by unknown authority"
        try:
            roots = x509verify.parse_certs_pem(tls.ca_pem)
        except ValueError:
            return "x509: certificate signed by unknown authority"
        return x509verify.verify_chain(self.plane.serving.cert, roots, self.now) or x509verify.verify_hostname(
            self.plane.serving.cert, host)

    def _issue(self, c: cmd.IssueCertificate) -> tuple[bytes, bytes]:
        ca = pki.CertKey.from_pem(c.ca_cert_pem, c.ca_key_pem)
        if c.server:
            issued = pki.create_serving_cert(ca, common_name=c.common_name, dns_names=c.dns_names,
                                             ip_addresses=c.ip_addresses, now=self.now, rng=self.rng)
        else:
            issued = pki.create_client_cert(ca, common_name=c.common_name, organizations=c.organizations,
                                            now=self.now, rng=self.rng)
        return issued.cert_pem, issued.key_pem

    def _facts(self, node: Node) -> NodeFacts:
        ports = set(node.facts.ports_in_use)
        if node.kubelet_running:
            ports.add(10250)
        return node.facts.with_changes(files=dict(node.files), ports_in_use=frozenset(ports))

    def _start_kubelet(self, node: Node, c: cmd.StartKubelet) -> None:
        self._stop_kubelet(node)
        usages = KUBELET_CLIENT_USAGES_RSA if self.plane.profile.strict_kubelet_client_usages else \
            KUBELET_CLIENT_USAGES_ECDSA
        config = KubeletConfig(node_name=c.node_name, labels=c.labels, rng=self.rng, usages=usages,
                               start_delay=self.kubelet_start_delay, ready_delay=self.ready_delay)
        proc = _Process(node=node, kind="kubelet", gen=bootstrap(config))
        node.kubelet = proc
        node.kubelet_running = True
        self._schedule(0.0, lambda: self._advance(proc, None))

    def _stop_kubelet(self, node: Node) -> None:
        if node.kubelet is not None and node.kubelet.alive:
            node.kubelet.alive = False
            node.kubelet.gen.close()
            self._watches = [w for w in self._watches if w.proc is not node.kubelet]
        node.kubelet_running = False
        node.kubelet_healthy = False


def _changed(response: Response, resource_version: str) -> bool:
    if response.status == 404:
        return True
    if not response.ok or not isinstance(response.body, dict):
        return False
    return str(response.body.get("metadata", {}).get("resourceVersion")) != resource_version
