"""Describe the attackers of a run and run them against the real control plane.

How this works: three attackers, each with a network group (and host) named
after it, so links, firewall rules and partitions can name it too.

- ``MitmAttacker`` sits between a node group and the API endpoint (a
  ``network.Interception`` for its window) with a CA of its own, knowing the
  victims' token or not; ``sim.engine.mitm`` is the proxy.
- ``TokenThief`` holds a stolen bootstrap token and runs a kubelet of its
  own under an existing node's name: the kubelet posts a kubelet-client CSR
  for ``system:node:<victim>``, the approver's ``nodeclient`` rule
  approves it (a bootstrap token may ask for any node name: the known
  weakness), and the thief ends with a client certificate for the victim and
  registers (or takes over) its Node. One CSR attempt (up to 15 min).
  Model: the thief knows the cluster CA (cluster-info is public).
- ``CsrFlooder`` holds a token and posts kubelet-client CSRs for made-up
  node names (``<name>-<n>``) at a fixed rate, with one key, never waiting
  for them: each is approved and signed, using up the approver's client
  rate and the signer's CPU. Its requests meet APF like anyone's.

``AttackerResult`` reports each one after the run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final, Generator, Literal, Union

import simpy

from sim.engine.client import HttpClient
from sim.engine.network import ALWAYS, Host, Interception, Window
from sim.engine.mitm import Mitm
from sim.engine.node import NodeModels, NodeRuntime, SimNode
from sim.machine import Machine
from sim.protocol import commands as cmd
from sim.protocol import constants as C
from sim.protocol import kubeconfig
from sim.protocol.commands import TlsConfig, TransportFailure
from sim.protocol.csr import csr_object
from sim.protocol.discovery import response_error
from sim.protocol.http import Request
from sim.protocol.kubelet import CSR_COLLECTION, KubeletConfig, KubeletOutcome
from sim.tlsmodel import certificate_identity

__all__ = [
    "Attacker", "AttackerResult", "CsrFlooder", "MitmAttacker", "RunningAttacker", "TokenThief", "attacker_hosts",
    "start_attacker",
]

_FLOOD_TIMEOUT: Final = 10.0
"""The client timeout of each flood request (client-go's ``?timeout=10s``, as the kubelet's)."""


def _check_name(kind: str, name: str) -> None:
    if not name or any(c.isspace() for c in name) or ">" in name:
        raise ValueError(f"a {kind} needs a name without blanks, got {name!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class MitmAttacker:
    """Put a man in the middle between node group ``group`` and the API endpoint (module docstring)."""

    name: str
    group: str
    """The node group whose connections to the API endpoint it intercepts."""
    knows_token: bool = False
    """It stole the token the group discovers with, so it can re-sign cluster-info."""
    window: Window = ALWAYS
    """When it intercepts (simulated seconds, [start, end))."""
    ca_key_type: str = "ecdsa"

    def __post_init__(self) -> None:
        _check_name("MITM attacker", self.name)
        if self.ca_key_type not in ("rsa", "ecdsa"):
            raise ValueError(f"MITM attacker {self.name!r}: ca_key_type must be rsa or ecdsa")


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenThief:
    """Use a stolen token to get a client certificate for node ``victim`` at ``at`` seconds."""

    name: str
    victim: str
    at: float = 0.0
    token: str | None = None
    """The stolen token (``None``: the init token)."""

    def __post_init__(self) -> None:
        _check_name("token thief", self.name)
        if not self.victim:
            raise ValueError(f"token thief {self.name!r} needs a victim node name")
        if not (math.isfinite(self.at) and self.at >= 0):
            raise ValueError(f"token thief {self.name!r}: at must be a non-negative number of seconds")


@dataclass(frozen=True, slots=True, kw_only=True)
class CsrFlooder:
    """Post ``count`` kubelet-client CSRs at ``rate`` a second from ``start``, with a held token."""

    name: str
    rate: float
    count: int
    start: float = 0.0
    token: str | None = None
    """The token it holds (``None``: the init token)."""

    def __post_init__(self) -> None:
        _check_name("CSR flooder", self.name)
        if not (math.isfinite(self.rate) and self.rate > 0) or self.count < 1:
            raise ValueError(f"CSR flooder {self.name!r} needs a positive rate and count")
        if not (math.isfinite(self.start) and self.start >= 0):
            raise ValueError(f"CSR flooder {self.name!r}: start must be a non-negative number of seconds")


Attacker = Union[MitmAttacker, TokenThief, CsrFlooder]
AttackerKind = Literal["mitm", "token-thief", "csr-flooder"]


@dataclass(frozen=True, slots=True, kw_only=True)
class AttackerResult:
    """Report what one attacker did and got."""

    name: str
    kind: AttackerKind
    ca_pin: str = ""
    """The MITM's CA pin: a node whose ``trusted_ca_pin`` equals it trusts the attacker."""
    intercepted: int = 0
    """Requests the MITM answered."""
    victims: tuple[str, ...] = ()
    """Nodes whose CSR the MITM received, or the thief's victim."""
    csrs_created: int = 0
    """CSRs the attacker created at the real API server."""
    csrs_failed: int = 0
    """CSR creations the API server refused (or that got no answer)."""
    identities: tuple[str, ...] = ()
    """Users the cluster CA certified for keys the attacker holds (``system:node:<name>``)."""
    node_registered: bool = False
    """The thief's kubelet registered (or took over) the victim's Node."""
    error: str = ""
    """The last error the attacker met."""


def attacker_hosts(attacker: Attacker, endpoints: tuple[str, ...]) -> tuple[list[Host], list[Interception]]:
    """Return the hosts and interceptions the network needs for an attacker."""
    if not isinstance(attacker, MitmAttacker):
        return [], []
    host = Host(name=attacker.name, group=attacker.name)
    return [host], [Interception(attacker=attacker.name, source_group=attacker.group, endpoint=endpoint,
                                 window=attacker.window) for endpoint in endpoints]


class RunningAttacker:
    """Hold one attacker's running parts: its process (if it ends) and how to report it."""

    def __init__(self, attacker: Attacker, runtime: NodeRuntime, *, endpoint: str, token: str | None,
                 ca_pem: bytes) -> None:
        self.attacker = attacker
        self.runtime = runtime
        self.env = runtime.world.env
        self.process: simpy.Process | None = None
        self.mitm: Mitm | None = None
        self.thief: SimNode | None = None
        self.created = self.failed = 0
        self.error = ""
        if isinstance(attacker, MitmAttacker):
            self.mitm = Mitm(runtime.world, runtime.network, runtime.server, name=attacker.name,
                             token=token if attacker.knows_token else None, crypto=runtime.crypto,
                             key_type=attacker.ca_key_type)
            runtime.interceptors[attacker.name] = self.mitm
        elif isinstance(attacker, TokenThief):
            self.process = self._steal(attacker, endpoint, token or "", ca_pem)
        else:
            self.process = self.env.process(self._flood(attacker, endpoint, token or ""))

    def _steal(self, thief: TokenThief, endpoint: str, token: str, ca_pem: bytes) -> simpy.Process:
        machine = Machine.fresh(thief.name)
        machine.files[C.BOOTSTRAP_KUBELET_CONF_PATH] = kubeconfig.token_kubeconfig(
            f"https://{endpoint}", ca_pem, token, cluster_name=C.DEFAULT_CLUSTER_NAME,
            user=C.TLS_BOOTSTRAP_TOKEN_USER).encode()
        rng = self.runtime.world.stream(f"attacker/{thief.name}")
        self.thief = SimNode(self.runtime, machine, thief.name, NodeModels(kubelet_start_delay=0.0), rng)
        config = KubeletConfig(node_name=thief.victim, rng=rng, usages=self.runtime.usages, max_attempts=1)
        return self.thief.run_kubelet(config, thief.at)

    def _flood(self, flood: CsrFlooder, endpoint: str, token: str) -> Generator[simpy.Event, Any, None]:
        world = self.runtime.world
        rng = world.stream(f"attacker/{flood.name}")
        client = HttpClient(world, self.runtime.network, self.runtime.server, source=flood.name, group=flood.name,
                            rng=rng)
        if flood.start > 0:
            yield self.env.timeout(flood.start)
        key = self.runtime.crypto.run(cmd.GenerateKey(key_type="ecdsa"), world.now(), rng)
        sent: list[simpy.Process] = []
        for number in range(1, flood.count + 1):
            pem: bytes = self.runtime.crypto.run(cmd.CreateCSR(
                key=key, common_name=f"{C.NODE_USER_PREFIX}{flood.name}-{number}", organizations=(C.NODES_GROUP,)),
                world.now(), rng)
            body = csr_object(request_pem=pem, signer_name=C.KUBE_APISERVER_CLIENT_KUBELET_SIGNER,
                              usages=self.runtime.usages)
            request = Request.build("POST", CSR_COLLECTION + "?timeout=10s", body=body, bearer=token)
            sent.append(self.env.process(self._post(client, cmd.HttpRequest(
                endpoint=endpoint, request=request, tls=TlsConfig(insecure=True), timeout=_FLOOD_TIMEOUT,
                purpose="csr-flood"))))
            if number < flood.count:
                yield self.env.timeout(1.0 / flood.rate)
        yield self.env.all_of(sent)

    def _post(self, client: HttpClient, request: cmd.HttpRequest) -> Generator[simpy.Event, Any, None]:
        result = yield from client.request(request)
        if isinstance(result, TransportFailure) or not result.ok:
            self.failed += 1
            self.error = response_error("POST", f"https://{request.endpoint}{request.request.target}", result)
        else:
            self.created += 1

    def result(self) -> AttackerResult:
        """Report the attacker after the run."""
        attacker = self.attacker
        if self.mitm is not None:
            m = self.mitm
            return AttackerResult(name=attacker.name, kind="mitm", ca_pin=m.ca_pin, intercepted=m.intercepted,
                                  victims=tuple(m.victims), csrs_created=m.csrs_created, csrs_failed=m.csrs_failed,
                                  identities=tuple(sorted(m.stolen)), error=m.error)
        if self.thief is not None:
            return self._thief_result()
        return AttackerResult(name=attacker.name, kind="csr-flooder", csrs_created=self.created,
                              csrs_failed=self.failed, error=self.error)

    def _thief_result(self) -> AttackerResult:
        assert self.thief is not None and isinstance(self.attacker, TokenThief)
        machine = self.thief.machine
        outcome = self.process.value if self.process is not None and self.process.triggered else None
        identities: tuple[str, ...] = ()
        stored = machine.files.get(C.KUBELET_CLIENT_CURRENT_PATH)
        if stored:  # the kubelet stores its certificate and key together, the certificate first
            identity = certificate_identity(self.runtime.plane.ca, stored, self.runtime.world.now())
            identities = (identity.subject.common_name,) if identity.subject is not None else ()
        created = machine.milestone("csr-created") is not None
        error = outcome.error if isinstance(outcome, KubeletOutcome) else ""
        if not error:
            error = next((line.text for line in reversed(machine.logs) if line.stream == "kubelet"), "")
        return AttackerResult(name=self.attacker.name, kind="token-thief", victims=(self.attacker.victim,),
                              csrs_created=int(created), csrs_failed=int(not created), identities=identities,
                              node_registered=machine.milestone("node-registered") is not None,
                              error=error if not identities else "")


def start_attacker(attacker: Attacker, runtime: NodeRuntime, *, endpoint: str, token: str | None,
                   ca_pem: bytes) -> RunningAttacker:
    """Start one attacker; ``token`` is the one it knows (the MITM's victims', or the stolen one)."""
    return RunningAttacker(attacker, runtime, endpoint=endpoint, token=token, ca_pem=ca_pem)
