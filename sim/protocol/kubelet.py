"""Run the kubelet's side of the TLS bootstrap, then register the Node.

How this works: kubeadm forces ``rotateCertificates: true``, so the kubelet
bootstraps through client-go's certificate manager
(``staging/src/k8s.io/client-go/util/certificate/certificate_manager.go``):
``bootstrap.LoadClientConfig`` rewrites kubelet.conf to point at
``kubelet-client-current.pem``; then each attempt makes a fresh ECDSA P-256 key,
posts a CSR (``generateName: csr-``) with the bootstrap token, and waits up to
15 min for approval and issuance. Up to 5 attempts are spaced by
``wait.ExponentialBackoff`` (2 s, doubling, 10 % jitter: 4 sleeps), then
``wait.PollInfinite`` retries every 32 s without end. Once the certificate is
on disk the kubelet registers its Node with that identity.
The kubelet runs beside kubeadm; kubeadm only sees the files appear.
"""

from __future__ import annotations

import base64
import functools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generator

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from sim.protocol import constants as C
from sim.protocol import kubeconfig, modeled
from sim.protocol.commands import (
    Command, CreateCSR, GenerateKey, HttpRequest, Log, Mark, ReadClock, ReadFile, Sleep, TlsConfig,
    TransportFailure, WatchObject, WriteFile,
)
from sim.protocol.csr import csr_object
from sim.protocol.discovery import response_error
from sim.protocol.hostport import server_endpoint
from sim.protocol.http import Request, Response
from sim.protocol.objects import condition, format_time
from sim.protocol.rng import Rng

CSR_COLLECTION = "/apis/certificates.k8s.io/v1/certificatesigningrequests"


@dataclass(frozen=True, slots=True, kw_only=True)
class KubeletConfig:
    """Name the kubelet settings the bootstrap depends on, plus the timing models."""

    node_name: str
    rng: Rng
    """Jitter for the retry backoff (the driver's seeded generator)."""
    start_delay: float = 0.0
    """Model: seconds from service start until ``/healthz`` answers."""
    ready_delay: float = 0.0
    """Model: seconds from registration until the Node reports Ready (CNI start-up)."""
    csr_attempt_timeout: float = C.KUBELET_CSR_ATTEMPT_TIMEOUT
    usages: tuple[str, ...] = C.KUBELET_CLIENT_USAGES_ECDSA
    """Key usages requested; a v1.22 kubelet asked for key encipherment even with ECDSA keys."""
    labels: tuple[tuple[str, str], ...] = field(default=())
    max_attempts: int = 0
    """Stop after this many CSR attempts (0: retry forever, as the kubelet does)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class KubeletOutcome:
    """Say how the kubelet's bootstrap ended."""

    bootstrapped: bool
    csr_name: str = ""
    csr_server: str = ""
    error: str = ""


# client-go's wait.ErrWaitTimeout, which csr.WaitForCertificate returns unwrapped at its deadline.
WAIT_TIMEOUT = "timed out waiting for the condition"


class CsrWaitError(Exception):
    """End one CSR attempt with the error ``csr.WaitForCertificate`` returns (denied, failed, deleted, timed out)."""


class CsrCreateError(CsrWaitError):
    """End one CSR attempt with the error ``csr.RequestCertificate`` returns (the create failed)."""


def backoff_delays(rng: Rng) -> Generator[float, None, None]:
    """Yield the sleeps between CSR attempts: 2, 4, 8, 16 s with 10 % jitter, then 32 s forever.

    ``wait.ExponentialBackoff`` with ``Steps: 5`` runs the condition 5 times and
    sleeps only between them (4 jittered sleeps); ``wait.PollInfinite(32s)``
    then waits a flat 32 s before each further attempt.
    """
    delay = C.KUBELET_CSR_BACKOFF_INITIAL
    for _ in range(C.KUBELET_CSR_BACKOFF_STEPS - 1):
        yield delay + rng.random() * C.KUBELET_CSR_BACKOFF_JITTER * delay
        delay *= C.KUBELET_CSR_BACKOFF_FACTOR
    while True:
        yield C.KUBELET_CSR_BACKOFF_CAP


def bootstrap(config: KubeletConfig) -> Generator[Command, Any, KubeletOutcome]:
    """Start, obtain a client certificate (unless a valid one exists), register the Node."""
    if config.start_delay:
        yield Sleep(seconds=config.start_delay)
    existing = yield ReadFile(path=C.KUBELET_CONF_PATH)
    boot = yield ReadFile(path=C.BOOTSTRAP_KUBELET_CONF_PATH)
    if existing is None and boot is None:
        # The kubelet exits before its healthz server starts, so it never becomes healthy.
        message = (f"failed to run Kubelet: unable to load bootstrap kubeconfig: stat {C.BOOTSTRAP_KUBELET_CONF_PATH}: "
                   "no such file or directory")
        yield Log(text=message, stream="kubelet")
        return KubeletOutcome(bootstrapped=False, error=message)
    yield Mark(milestone="kubelet-healthy")
    current = (yield from load_kubelet_identity()) if existing is not None else None
    if current is not None and current.not_after > (yield ReadClock()):
        # bootstrap.LoadClientConfig: a kubelet.conf whose certificate has not expired is kept.
        yield from _register_node(config, server_endpoint(current.server), current.tls)
        return KubeletOutcome(bootstrapped=False)
    if boot is None:
        return KubeletOutcome(bootstrapped=False, error="")
    boot_config = kubeconfig.load(boot)
    cluster = boot_config.current_cluster()
    user = boot_config.current_user()
    token = user.token if user is not None else None
    endpoint = server_endpoint(cluster.server)
    yield WriteFile(path=C.KUBELET_CONF_PATH,
                    data=kubeconfig.file_bytes(kubeconfig.kubelet_kubeconfig(cluster.server, cluster.ca_data)))
    tls = TlsConfig(ca_pem=cluster.ca_data)

    signer = C.KUBE_APISERVER_CLIENT_KUBELET_SIGNER  # the manager's name in its logs (Config.Name is unset)
    delays = backoff_delays(config.rng)
    attempts = 0
    csr_name = csr_server = last_error = ""
    while True:
        attempts += 1
        try:
            csr_name, csr_server, cert_pem, key_pem = yield from _request_certificate(config, endpoint, tls, token)
            break
        except CsrWaitError as err:
            last_error = str(err)
            what = ("Failed while requesting a signed certificate from the control plane"
                    if isinstance(err, CsrCreateError) else "certificate request was not signed")
            yield Log(text=f"{signer}: {what}: {last_error}", stream="kubelet")
        if attempts == C.KUBELET_CSR_BACKOFF_STEPS:
            yield Log(text=f"{signer}: Reached backoff limit, still unable to rotate certs: {WAIT_TIMEOUT}",
                      stream="kubelet")
        if config.max_attempts and attempts >= config.max_attempts:
            return KubeletOutcome(bootstrapped=False, csr_name=csr_name, csr_server=csr_server, error=last_error)
        yield Sleep(seconds=next(delays))

    now: datetime = yield ReadClock()
    stamped = f"{C.KUBELET_PKI_DIR}/kubelet-client-{now.strftime('%Y-%m-%d-%H-%M-%S')}.pem"
    bundle = cert_pem + key_pem
    yield WriteFile(path=stamped, data=bundle)
    yield WriteFile(path=C.KUBELET_CLIENT_CURRENT_PATH, data=bundle)
    yield Mark(milestone="certificate-stored")
    node_tls = TlsConfig(ca_pem=cluster.ca_data, client_cert_pem=cert_pem, client_key_pem=key_pem)
    yield from _register_node(config, endpoint, node_tls)
    return KubeletOutcome(bootstrapped=True, csr_name=csr_name, csr_server=csr_server)


def _request_certificate(
    config: KubeletConfig, endpoint: str, tls: TlsConfig, token: str | None
) -> Generator[Command, Any, tuple[str, str, bytes, bytes]]:
    """Make one CSR attempt: key, CSR, create, wait; return (name, server, cert PEM, key PEM)."""
    key = yield GenerateKey(key_type="ecdsa")
    request_pem: bytes = yield CreateCSR(key=key, common_name=C.NODE_USER_PREFIX + config.node_name,
                                         organizations=(C.NODES_GROUP,))
    body = csr_object(request_pem=request_pem, signer_name=C.KUBE_APISERVER_CLIENT_KUBELET_SIGNER,
                      usages=config.usages)
    create = Request.build("POST", CSR_COLLECTION + "?timeout=10s", body=body, bearer=token)
    result = yield HttpRequest(endpoint=endpoint, request=create, tls=tls, purpose="csr-create")
    if isinstance(result, TransportFailure) or not result.ok:
        url = f"https://{endpoint}{CSR_COLLECTION}?timeout=10s"
        raise CsrCreateError("cannot create certificate signing request: " + response_error("POST", url, result))
    created = result.body
    name = created["metadata"]["name"]
    yield Mark(milestone="csr-created", attrs={"name": name, "server": result.server})
    cert_pem = yield from _wait_for_certificate(config, endpoint, tls, token, created)
    return name, result.server, cert_pem, _key_pem(key)


def _wait_for_certificate(
    config: KubeletConfig, endpoint: str, tls: TlsConfig, token: str | None, created: dict[str, Any]
) -> Generator[Command, Any, bytes]:
    """Watch the CSR until it is issued, denied, failed or deleted, or the attempt times out."""
    name = created["metadata"]["name"]
    uid = created["metadata"]["uid"]
    start: datetime = yield ReadClock()
    current = created
    get = Request.build("GET", f"{CSR_COLLECTION}/{name}", bearer=token)
    while True:
        verdict = _csr_verdict(current, name, uid)
        if isinstance(verdict, bytes):
            yield Mark(milestone="csr-issued", attrs={"name": name})
            return verdict
        now: datetime = yield ReadClock()
        remaining = config.csr_attempt_timeout - (now - start).total_seconds()
        if remaining <= 0:
            raise CsrWaitError(WAIT_TIMEOUT)
        result = yield WatchObject(endpoint=endpoint, request=get, tls=tls,
                                   resource_version=current["metadata"]["resourceVersion"], timeout=remaining)
        if result is None:
            continue
        if isinstance(result, TransportFailure):
            yield Sleep(seconds=1.0)
            continue
        if result.status == 404:
            raise _watch_error(f'csr "{name}" was deleted')
        if result.ok:
            current = result.body


def _csr_verdict(obj: dict[str, Any], name: str, uid: str) -> bytes | None:
    """Read a CSR as client-go's ``WaitForCertificate`` does; raise for terminal failures."""
    if obj["metadata"].get("uid") != uid:
        raise _watch_error(f'csr "{name}" changed UIDs')
    for kind, verb in (("Denied", "is denied"), ("Failed", "failed")):
        cond = condition(obj, kind)
        if cond is not None and cond.get("status") == "True":
            raise _watch_error(f"certificate signing request {verb}, reason: {cond.get('reason', '')}, "
                               f"message: {cond.get('message', '')}")
    approved = condition(obj, "Approved")
    cert = (obj.get("status") or {}).get("certificate")
    if approved is not None and approved.get("status") == "True" and cert:
        return base64.b64decode(cert)
    return None


def _watch_error(reason: str) -> CsrWaitError:
    """Wrap a watch condition's error as ``WaitForCertificate`` does (``formatError``)."""
    return CsrWaitError(f"cannot watch on the certificate signing request: {reason}")


def _register_node(config: KubeletConfig, endpoint: str, tls: TlsConfig) -> Generator[Command, Any, None]:
    """Create the Node as ``system:node:<name>``; report Ready after the CNI delay (a model)."""
    now: datetime = yield ReadClock()
    labels = {"kubernetes.io/hostname": config.node_name, "kubernetes.io/os": "linux",
              "kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64"}
    labels.update(dict(config.labels))
    node = {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": config.node_name, "labels": labels,
                     "annotations": {"volumes.kubernetes.io/controller-managed-attach-detach": "true"}},
        "spec": {},
        "status": {"conditions": [_ready(False, now)]},
    }
    while True:
        result = yield HttpRequest(endpoint=endpoint, request=Request.build("POST", "/api/v1/nodes", body=node),
                                   tls=tls, purpose="node-register")
        if isinstance(result, Response) and (result.ok or result.status == 409):
            break
        yield Log(text="Unable to register node with API server: "
                       + response_error("POST", f"https://{endpoint}/api/v1/nodes", result), stream="kubelet")
        yield Sleep(seconds=7.0)
    yield Mark(milestone="node-registered")
    if config.ready_delay:
        yield Sleep(seconds=config.ready_delay)
    now = yield ReadClock()
    patch = Request.build("PATCH", f"/api/v1/nodes/{config.node_name}/status",
                          body={"status": {"conditions": [_ready(True, now)]}},
                          content_type="application/merge-patch+json")
    result = yield HttpRequest(endpoint=endpoint, request=patch, tls=tls, purpose="node-ready")
    if isinstance(result, Response) and result.ok:
        yield Mark(milestone="node-ready")


def _ready(ready: bool, now: datetime) -> dict[str, str]:
    stamp = format_time(now)
    if ready:
        return {"type": "Ready", "status": "True", "reason": "KubeletReady",
                "message": "kubelet is posting ready status", "lastHeartbeatTime": stamp, "lastTransitionTime": stamp}
    return {"type": "Ready", "status": "False", "reason": "KubeletNotReady",
            "message": "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady "
                       "message:Network plugin returns error: cni plugin not initialized",
            "lastHeartbeatTime": stamp, "lastTransitionTime": stamp}


def _key_pem(key: Any) -> bytes:
    """Serialize the kubelet's key as the PEM it stores next to its certificate."""
    if isinstance(key, bytes):
        return key
    if isinstance(key, modeled.ModeledKey):
        return key.pem()
    return bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                   serialization.NoEncryption()))


@dataclass(frozen=True, slots=True, kw_only=True)
class KubeletIdentity:
    """Hold what kubelet.conf gives a client: the server, the TLS identity and when it expires."""

    server: str
    tls: TlsConfig
    not_after: datetime


def load_kubelet_identity() -> Generator[Command, Any, KubeletIdentity | None]:
    """Load the node's own identity from kubelet.conf, or None while it is incomplete."""
    raw = yield ReadFile(path=C.KUBELET_CONF_PATH)
    if raw is None:
        return None
    try:
        config = kubeconfig.load(raw)
        cluster = config.current_cluster()
        user = config.current_user()
    except ValueError:
        return None
    if user is None:
        return None
    cert_pem, key_pem = user.client_cert_data, user.client_key_data
    if not cert_pem and user.client_cert_path:
        cert_pem = (yield ReadFile(path=user.client_cert_path)) or b""
    if not key_pem and user.client_key_path:
        key_pem = (yield ReadFile(path=user.client_key_path)) or b""
    try:
        not_after = _not_after(cert_pem)
        _check_private_key(key_pem)
    except ValueError:
        return None
    tls = TlsConfig(ca_pem=cluster.ca_data, client_cert_pem=_first_block(cert_pem, b"CERTIFICATE"),
                    client_key_pem=_first_block(key_pem, b"PRIVATE KEY"))
    return KubeletIdentity(server=cluster.server, tls=tls, not_after=not_after)


@functools.lru_cache(maxsize=1024)
def _not_after(cert_pem: bytes) -> datetime:
    """Return NotAfter of the first certificate (X.509 or modeled); raise ValueError when there is none."""
    if modeled.is_modeled(cert_pem):
        return modeled.parse_certificate(cert_pem).not_after
    return x509.load_pem_x509_certificate(cert_pem).not_valid_after_utc


@functools.lru_cache(maxsize=1024)
def _check_private_key(key_pem: bytes) -> None:
    """Raise ValueError unless the bytes hold a private key (PEM, or a modeled key); kubeadm polls this every second."""
    if modeled.is_modeled(key_pem):
        modeled.parse_key(key_pem)
    else:
        serialization.load_pem_private_key(key_pem, password=None)


def _first_block(data: bytes, kind: bytes) -> bytes:
    """Return the first PEM block whose type ends with ``kind`` (the kubelet stores cert and key together)."""
    blocks = data.split(b"-----BEGIN ")
    for block in blocks[1:]:
        header = block.split(b"-----", 1)[0]
        if header.endswith(kind):
            return b"-----BEGIN " + block.split(b"-----END ", 1)[0] + b"-----END " + header + b"-----\n"
    return data
