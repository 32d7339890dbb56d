"""Drive the join workflow and the kubelet's TLS bootstrap for real: HTTPS, files, clock, OS randomness.

How this works: this is the asyncio driver of DESIGN rule 2, the real-world
twin of ``sim/harness.py``. ``NodeClient.join(cfg)`` runs ``sim.protocol.join``
and carries out every command it yields: requests and watches go over TLS
(``transport``), files land under ``--root`` atomically (``nodefs``), sleeps
are real, keys come from the OS. ``StartKubelet`` starts the kubelet workflow
(``sim.protocol.kubelet.bootstrap``) as a concurrent task with the same
executor; it keeps "running" (port 10250 in use, ``/healthz`` answering once
it marked itself healthy) until ``StopKubelet`` or until the join command
ends, as the kubelet service outlives nothing here but this process.

Modelled rather than inspected: ``InspectNode`` reports the files under the
root as they are, but the binaries, CPU count, memory, swap, kubelet version,
IP forwarding and the kubelet service are those of a healthy worker
(``NodeFacts.healthy_worker``); only port 10250 follows the kubelet task.
"""

from __future__ import annotations

import asyncio
import random
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Generator, TextIO

from sim.crypto import CRYPTO_COMMANDS, RealCrypto
from sim.emulate.nodefs import NodeFS
from sim.emulate.transport import Transport, user_agent
from sim.protocol import commands as cmd
from sim.protocol.constants import KUBELET_CLIENT_USAGES_ECDSA, KUBELET_PORT
from sim.protocol.join import JoinOutcome, join
from sim.protocol.joinconfig import JoinConfiguration
from sim.protocol.kubelet import KubeletConfig, KubeletOutcome, bootstrap
from sim.protocol.preflight import NodeFacts

KUBELET_LOG_VERBOSITY = 2
"""``-v`` from which the kubelet's own log lines (its journal) are echoed on stderr."""


@dataclass(slots=True)
class _Kubelet:
    """Track the kubelet service: its bootstrap task and what kubeadm can observe of it."""

    task: asyncio.Task[KubeletOutcome | None] | None = None
    running: bool = False
    healthy: bool = False
    csr_name: str = ""
    csr_server: str = ""
    error: str = ""


@dataclass(slots=True, kw_only=True)
class NodeClient:
    """Play kubeadm and the kubelet on one emulated node (see the module docstring)."""

    fs: NodeFS
    verbosity: int = 0
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    kubelet_usages: tuple[str, ...] = KUBELET_CLIENT_USAGES_ECDSA
    """Usages the kubelet requests (a v1.22 cluster wants key encipherment too)."""
    kubelet_start_delay: float = 0.0
    kubelet_ready_delay: float = 0.0
    facts: NodeFacts | None = None
    """The host model preflight sees; by default a healthy worker named like the node."""
    marks: list[tuple[float, str, str, dict[str, str]]] = field(default_factory=list)
    """Every milestone: (monotonic time, "kubeadm"/"kubelet", name, attributes)."""
    logs: list[tuple[str, str, str]] = field(default_factory=list)
    """Every line either process printed: (process, stream, text)."""
    transport: Transport | None = None
    _kubelet: _Kubelet = field(default_factory=_Kubelet)
    _rng: random.SystemRandom = field(default_factory=random.SystemRandom)

    async def join(self, cfg: JoinConfiguration) -> JoinOutcome:
        """Run ``kubeadm join`` to its end; the kubelet stops when it returns, as the process exits."""
        if self.facts is None:
            self.facts = NodeFacts.healthy_worker(cfg.node_name)
        self.transport = Transport(program="kubeadm")
        try:
            outcome: JoinOutcome = await self.drive(join(cfg), "kubeadm")
            return outcome
        finally:
            await self._stop_kubelet()
            await self.transport.close()

    async def drive(self, workflow: Generator[cmd.Command, Any, Any], process: str) -> Any:
        """Run a workflow to completion, executing each command it yields; return its result."""
        value: Any = None
        while True:
            try:
                command = workflow.send(value)
            except StopIteration as done:
                return done.value
            value = await self.execute(command, process)

    async def execute(self, c: cmd.Command, process: str) -> Any:
        """Carry out one command for real and return its result (see ``sim.protocol.commands``)."""
        if isinstance(c, cmd.HttpRequest):
            assert self.transport is not None
            return await self.transport.send(c.endpoint, c.request, c.tls, c.timeout, user_agent=user_agent(process))
        if isinstance(c, cmd.WatchObject):
            assert self.transport is not None
            return await self.transport.watch(c.endpoint, c.request, c.tls, c.resource_version, c.timeout,
                                              user_agent=user_agent(process))
        if isinstance(c, cmd.Sleep):
            await asyncio.sleep(c.seconds)
            return None
        if isinstance(c, cmd.ReadClock):
            return datetime.now(timezone.utc)
        if isinstance(c, cmd.ReadFile):
            return self.fs.read(c.path)
        if isinstance(c, cmd.WriteFile):
            self.fs.write(c.path, c.data, c.mode)
            return None
        if isinstance(c, cmd.RemoveFile):
            self.fs.remove(c.path)
            return None
        if isinstance(c, CRYPTO_COMMANDS):
            return RealCrypto().run(c, datetime.now(timezone.utc), None)  # keys from the OS
        if isinstance(c, cmd.InspectNode):
            return self.inspect()
        if isinstance(c, cmd.StartKubelet):
            await self._start_kubelet(c)
            return None
        if isinstance(c, cmd.StopKubelet):
            await self._stop_kubelet()
            return None
        if isinstance(c, cmd.KubeletStatus):
            k = self._kubelet
            return cmd.KubeletState(running=k.running, healthy=k.running and k.healthy, csr_name=k.csr_name,
                                    csr_server=k.csr_server)
        if isinstance(c, cmd.Log):
            self._log(c, process)
            return None
        if isinstance(c, cmd.Mark):
            self._mark(c, process)
            return None
        if isinstance(c, cmd.ChargeCpu):
            return None
        raise TypeError(f"unknown command {c!r}")

    def inspect(self) -> NodeFacts:
        """Describe the host for preflight: the files under the root, port 10250 while the kubelet runs."""
        base = self.facts or NodeFacts.healthy_worker("node")
        ports = set(base.ports_in_use)
        if self._kubelet.running:
            ports.add(KUBELET_PORT)
        return base.with_changes(files=self.fs.snapshot(), ports_in_use=frozenset(ports))

    def _log(self, c: cmd.Log, process: str) -> None:
        self.logs.append((process, c.stream, c.text))
        if c.stream == "kubelet" or process == "kubelet":
            if self.verbosity >= KUBELET_LOG_VERBOSITY:
                print(f"[kubelet] {c.text}", file=self.stderr, flush=True)
            return
        if c.verbosity <= self.verbosity:
            print(c.text, file=self.stderr if c.stream == "stderr" else self.stdout, flush=True)

    def _mark(self, c: cmd.Mark, process: str) -> None:
        """Record a milestone; the kubelet's marks are what kubeadm's status queries observe (as in the harness)."""
        self.marks.append((asyncio.get_running_loop().time(), process, c.milestone, dict(c.attrs)))
        if process == "kubelet" and c.milestone == "kubelet-healthy":
            self._kubelet.healthy = True
        if process == "kubelet" and c.milestone == "csr-created":
            self._kubelet.csr_name = c.attrs.get("name", "")
            self._kubelet.csr_server = c.attrs.get("server", "")

    async def _start_kubelet(self, c: cmd.StartKubelet) -> None:
        """(Re)start the kubelet service: a fresh bootstrap task beside the join."""
        await self._stop_kubelet()
        config = KubeletConfig(node_name=c.node_name, labels=c.labels, rng=self._rng, usages=self.kubelet_usages,
                               start_delay=self.kubelet_start_delay, ready_delay=self.kubelet_ready_delay)
        self._kubelet.running = True
        self._kubelet.task = asyncio.create_task(self._run_kubelet(config))

    async def _run_kubelet(self, config: KubeletConfig) -> KubeletOutcome | None:
        try:
            outcome: KubeletOutcome = await self.drive(bootstrap(config), "kubelet")
        except Exception as err:  # a crash of the kubelet must not take kubeadm down; kubeadm only sees it unhealthy
            self._kubelet.error = f"{type(err).__name__}: {err}"
            self._kubelet.running = self._kubelet.healthy = False
            self._log(cmd.Log(text=f"kubelet exited: {self._kubelet.error}", stream="kubelet"), "kubelet")
            return None
        return outcome

    async def _stop_kubelet(self) -> None:
        """Stop the kubelet service (cancelling its bootstrap if it is still going)."""
        task = self._kubelet.task
        if task is not None and not task.done():
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
        self._kubelet.task = None
        self._kubelet.running = self._kubelet.healthy = False


async def run_join(cfg: JoinConfiguration, root: str, **options: Any) -> tuple[JoinOutcome, NodeClient]:
    """Join once under ``root``; return the outcome and the client (marks, logs, requests)."""
    host_paths = (cfg.discovery_file,) if cfg.discovery_file.startswith("/") else ()
    client = NodeClient(fs=NodeFS(root, host_paths=host_paths), **options)
    return await client.join(cfg), client
