"""Answer, inside the proxy, the requests a man in the middle keeps from the real cluster.

How this works: once a node trusts the proxy's CA (an unpinned join through
``joinsim mitm``), its kubelet sends the TLS-bootstrap CSR to the proxy. The
proxy keeps it: it signs the request with its own CA at once and answers the
create with an object that is already ``Approved`` and carries the
certificate, which client-go's ``WaitForCertificate`` accepts without waiting.
From then on the node authenticates with a certificate only the proxy knows,
so the proxy also answers the node's own requests (Node registration, status
and annotation patches) with plausible objects. Nothing of this reaches the
real cluster. Modelled: this is an attacker, not kube-apiserver, so only the
shapes a joining node reads are filled in.
Upstream shapes: staging/src/k8s.io/client-go/util/certificate/csr/csr.go
(what the kubelet waits for), pkg/apis/certificates/types.go.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sim.control import status
from sim.control.decode import decode_json
from sim.protocol import constants as C
from sim.protocol import pki, tokens
from sim.protocol.csr import CSR_API_VERSION, parse_request, subject_fields
from sim.protocol.errors import ApiStatusError, CryptoError, SigningError, go_quote
from sim.protocol.objects import format_time

__all__ = ["CSR_COLLECTION", "CapturedCsr", "Capture"]

CSR_COLLECTION = "/apis/certificates.k8s.io/v1/certificatesigningrequests"
NODES_COLLECTION = "/api/v1/nodes"
# apiserver's SimpleNameGenerator: 5 characters from k8s.io/apimachinery/pkg/util/rand's alphabet
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"

Answer = tuple[int, dict[str, Any]]


@dataclass(frozen=True, slots=True, kw_only=True)
class CapturedCsr:
    """Record one CSR the proxy kept: its name, subject, who sent it and the certificate it got."""

    name: str
    subject: str
    bearer_token: str
    certificate_pem: bytes


@dataclass(slots=True)
class Capture:
    """Hold the proxy's CA and everything it kept, and answer captured requests."""

    ca: pki.CertKey
    csrs: dict[str, dict[str, Any]] = field(default_factory=dict)
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    captured: list[CapturedCsr] = field(default_factory=list)
    _revision: int = 0

    def csr_request(self, method: str, path: str, body: bytes, bearer: str, now: datetime) -> Answer:
        """Answer a request under the CSR collection: create (signed at once), get, list."""
        name = path[len(CSR_COLLECTION):].strip("/")
        try:
            if method == "POST" and not name:
                return self._create_csr(body, bearer, now)
            if method == "GET" and not name:
                return 200, {"apiVersion": CSR_API_VERSION, "kind": "CertificateSigningRequestList",
                             "metadata": {"resourceVersion": str(self._revision)}, "items": list(self.csrs.values())}
            if method == "GET" and "/" not in name:
                if name not in self.csrs:
                    raise status.not_found("certificatesigningrequests", C.CERTIFICATES_GROUP, name)
                return 200, self.csrs[name]
            raise status.method_not_allowed()
        except ApiStatusError as err:
            return err.code, err.status

    def node_request(self, method: str, path: str, body: bytes, now: datetime) -> Answer:
        """Answer a request the node makes with its (proxy-issued) certificate: its Node object only."""
        rest = path[len(NODES_COLLECTION):].strip("/") if path.startswith(NODES_COLLECTION) else None
        try:
            if rest is None:
                raise status.path_not_found()
            if method == "POST" and not rest:
                node = decode_json(body, "Node")
                if not isinstance(node, dict):
                    raise status.bad_request("the object provided is unrecognized (must be of type Node)")
                name = str((node.get("metadata") or {}).get("name", ""))
                return 201, self._store_node(name, node, now)
            name = rest.split("/", 1)[0]
            if method in ("GET", "PATCH", "PUT") and name:
                return 200, self.nodes.get(name) or self._store_node(name, {"metadata": {"name": name}}, now)
            raise status.method_not_allowed()
        except ApiStatusError as err:
            return err.code, err.status

    def _next_revision(self) -> str:
        self._revision += 1
        return str(self._revision)

    def _store_node(self, name: str, node: dict[str, Any], now: datetime) -> dict[str, Any]:
        metadata = dict(node.get("metadata") or {}, name=name, uid=str(uuid.uuid4()),
                        resourceVersion=self._next_revision(), creationTimestamp=format_time(now))
        stored = dict(node, apiVersion="v1", kind="Node", metadata=metadata)
        self.nodes[name] = stored
        return stored

    def _create_csr(self, body: bytes, bearer: str, now: datetime) -> Answer:
        obj = decode_json(body, "CertificateSigningRequest")
        if not isinstance(obj, dict):
            raise status.bad_request("the object provided is unrecognized (must be of type CertificateSigningRequest)")
        metadata = dict(obj.get("metadata") or {})
        name = str(metadata.get("name") or "")
        if not name:
            name = str(metadata.get("generateName") or "") + "".join(secrets.choice(_NAME_ALPHABET) for _ in range(5))
        spec = dict(obj.get("spec") or {})
        usages = [str(u) for u in spec.get("usages") or []]
        try:
            parsed = parse_request({"metadata": {"name": name}, "spec": spec})
            cert = pki.sign_csr(self.ca, parsed, usages=usages, now=now)
        except (CryptoError, SigningError) as err:
            raise status.bad_request(f"certificate request {go_quote(name)} refused: {err}") from None
        cert_pem = pki.cert_pem(cert)
        common_name, organizations = subject_fields(parsed)
        stamp = format_time(now)
        spec.update(_requester(bearer))
        created = {
            "apiVersion": CSR_API_VERSION, "kind": "CertificateSigningRequest",
            "metadata": dict(metadata, name=name, uid=str(uuid.uuid4()), resourceVersion=self._next_revision(),
                             creationTimestamp=stamp),
            "spec": spec,
            "status": {"conditions": [{"type": "Approved", "status": "True", "reason": C.CSR_APPROVED_REASON,
                                       "message": C.NODECLIENT_APPROVAL_MESSAGE, "lastUpdateTime": stamp,
                                       "lastTransitionTime": stamp}],
                       "certificate": base64.b64encode(cert_pem).decode()},
        }
        self.csrs[name] = created
        subject = f"CN={common_name}" + "".join(f",O={o}" for o in organizations)
        self.captured.append(CapturedCsr(name=name, subject=subject, bearer_token=bearer, certificate_pem=cert_pem))
        return 201, created


def _requester(bearer: str) -> dict[str, Any]:
    """Fill ``spec.username`` and ``groups`` as the API server would for a bootstrap token (unchecked here)."""
    try:
        token_id, _ = tokens.parse_token(bearer)
    except ValueError:
        return {"username": "system:anonymous", "groups": ["system:unauthenticated"]}
    return {"username": C.BOOTSTRAP_USER_PREFIX + token_id,
            "groups": [C.BOOTSTRAP_DEFAULT_GROUP, C.NODE_BOOTSTRAP_TOKEN_AUTH_GROUP, C.AUTHENTICATED_GROUP]}

