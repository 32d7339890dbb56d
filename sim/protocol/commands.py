"""Define the commands a workflow yields and the results a driver sends back.

How this works: the join workflow (``join.py``) and the kubelet's TLS bootstrap
(``kubelet.py``) are generators. Each ``yield`` hands a driver one command; the
driver carries it out (for real over sockets, or in simulated time with
simulated costs) and ``send``s the result back. Every command documents the
result type it expects. Retry loops, poll intervals and timeouts stay in the
workflows, so every driver behaves alike (DESIGN rule 2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generator, Mapping, Union

from sim.protocol.http import Request, Response


@dataclass(frozen=True, slots=True, kw_only=True)
class TlsConfig:
    """Say how a client verifies the server and proves its own identity.

    ``insecure`` skips server verification (the first discovery fetch);
    otherwise the server chain must verify against ``ca_pem``. A client
    certificate, when given, is presented during the handshake.
    """

    insecure: bool = False
    ca_pem: bytes | None = None
    client_cert_pem: bytes | None = None
    client_key_pem: bytes | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TransportFailure:
    """Report that no HTTP response arrived; ``message`` is Go's inner error text.

    Example messages: ``dial tcp 10.0.0.1:6443: connect: connection refused``,
    ``tls: failed to verify certificate: x509: certificate signed by unknown authority``,
    ``net/http: request canceled while waiting for connection (Client.Timeout exceeded while awaiting headers)``.
    The workflow adds the ``Get "<url>": `` prefix.
    """

    message: str


HttpResult = Union[Response, TransportFailure]


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpRequest:
    """Send one request to ``https://<endpoint>``. Result: ``Response | TransportFailure``."""

    endpoint: str
    request: Request
    tls: TlsConfig
    timeout: float = 10.0
    purpose: str = ""
    """A short label for traces (``cluster-info``, ``csr-create``...)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchObject:
    """Wait for the object at ``request.path`` to change after ``resource_version``.

    Result: the ``Response`` of a GET of the object once it changed (404 once
    deleted), ``None`` when ``timeout`` passes with no change, or a
    ``TransportFailure``. Models client-go's watch-until-condition.
    """

    endpoint: str
    request: Request
    tls: TlsConfig
    resource_version: str
    timeout: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Sleep:
    """Let ``seconds`` pass. Result: ``None``."""

    seconds: float


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadClock:
    """Read the node's wall clock (with its skew). Result: an aware UTC ``datetime``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class GenerateKey:
    """Generate a private key (ECDSA P-256 for the kubelet). Result: a ``PrivateKey``."""

    key_type: str = "ecdsa"


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateCSR:
    """Build and sign a PKCS#10 request with ``key``. Result: PEM ``bytes``."""

    key: Any
    common_name: str
    organizations: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class IssueCertificate:
    """Issue a key and certificate signed by a CA the node holds (control-plane joins).

    Result: ``(cert_pem, key_pem)``. ``server`` selects serverAuth, else clientAuth.
    """

    ca_cert_pem: bytes
    ca_key_pem: bytes
    common_name: str
    organizations: tuple[str, ...] = ()
    dns_names: tuple[str, ...] = ()
    ip_addresses: tuple[str, ...] = ()
    server: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargeCpu:
    """Account CPU for crypto the workflow did inline (``jws-verify``, ``pin``). Result: ``None``."""

    operation: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadFile:
    """Read a file on the node. Result: ``bytes``, or ``None`` if it is missing."""

    path: str


@dataclass(frozen=True, slots=True, kw_only=True)
class WriteFile:
    """Write a file on the node atomically. Result: ``None``."""

    path: str
    data: bytes
    mode: int = 0o600


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoveFile:
    """Remove a file on the node if present. Result: ``None``."""

    path: str


@dataclass(frozen=True, slots=True, kw_only=True)
class InspectNode:
    """Read the facts preflight checks (files, ports, swap, binaries). Result: ``NodeFacts``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StartKubelet:
    """(Re)start the kubelet service. Result: ``None``.

    The driver runs ``kubelet.bootstrap`` beside the join, adding its own
    models (start-up delay, CNI delay, the seeded jitter source).
    """

    node_name: str
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class StopKubelet:
    """Stop the kubelet service. Result: ``None``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class KubeletStatus:
    """Ask the node's service manager about the kubelet. Result: ``KubeletState``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class KubeletState:
    """Describe the kubelet as kubeadm can see it: running and healthy (``/healthz``)."""

    running: bool
    healthy: bool
    csr_name: str = ""
    """The CSR the kubelet last created (from its ``csr-created`` mark)."""
    csr_server: str = ""
    """Which host answered that CSR's creation."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Log:
    """Print a line as kubeadm or the kubelet would (``verbosity`` as klog's V). Result: ``None``."""

    text: str
    verbosity: int = 0
    stream: str = "stdout"


@dataclass(frozen=True, slots=True, kw_only=True)
class Mark:
    """Record a milestone with its attributes (``discovery-attempt``, ``csr-created``...). Result: ``None``."""

    milestone: str
    attrs: Mapping[str, str] = field(default_factory=dict)


Command = Union[
    HttpRequest, WatchObject, Sleep, ReadClock, GenerateKey, CreateCSR, IssueCertificate, ChargeCpu, ReadFile, WriteFile,
    RemoveFile, InspectNode, StartKubelet, StopKubelet, KubeletStatus, Log, Mark,
]

# A workflow: yields commands, receives their results, returns its outcome.
Workflow = Generator[Command, Any, Any]
