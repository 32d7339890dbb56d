"""Judge CertificateSigningRequests as kube-controller-manager's approver and signer do.

How this works: the csrapproving controller tries a table of recognizers in
order (selfnodeclient, then nodeclient). Each is a pure predicate over facts
taken from the CSR object and its parsed PEM request; for every match it asks a
SubjectAccessReview for the recognizer's subresource and approves with the
recognizer's message on the first allowed one. Both recognizers rest on
ValidateKubeletClientCSR, which the kubelet-client signer runs again before it
signs. The 1.22 profile (PROTOCOL section 14) accepts only the RSA usage set.

Upstream: pkg/controller/certificates/approver/sarapprove.go (recognizers),
pkg/apis/certificates/helpers.go (ValidateKubeletClientCSR),
client-go util/certificate/csr/csr.go (the object a client POSTs),
pkg/printers/internalversion/printers.go (extractCSRStatus).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from cryptography import x509
from cryptography.x509.oid import NameOID

from .constants import (
    CERTIFICATES_GROUP, CSR_GENERATE_NAME, KUBE_APISERVER_CLIENT_KUBELET_SIGNER, NODE_USER_PREFIX, NODES_GROUP,
    NODECLIENT_APPROVAL_MESSAGE, SELFNODECLIENT_APPROVAL_MESSAGE, USAGE_CLIENT_AUTH, USAGE_DIGITAL_SIGNATURE,
    USAGE_KEY_ENCIPHERMENT,
)
from .errors import CryptoError, go_quote
from .modeled import ModeledRequest
from .pki import Csr, parse_csr_pem
from .x509verify import request_sans

# pkg/apis/certificates/helpers.go kubeletClientRequiredUsages / kubeletClientRequiredUsagesNoRSA
KUBELET_CLIENT_REQUIRED_USAGES = frozenset({USAGE_DIGITAL_SIGNATURE, USAGE_KEY_ENCIPHERMENT, USAGE_CLIENT_AUTH})
KUBELET_CLIENT_REQUIRED_USAGES_NO_RSA = frozenset({USAGE_DIGITAL_SIGNATURE, USAGE_CLIENT_AUTH})
# pkg/apis/certificates/helpers.go error values, in ValidateKubeletClientCSR's order
ORGANIZATION_NOT_SYSTEM_NODES = "subject organization is not system:nodes"
DNS_SAN_NOT_ALLOWED = "DNS subjectAltNames are not allowed"
EMAIL_SAN_NOT_ALLOWED = "Email subjectAltNames are not allowed"
IP_SAN_NOT_ALLOWED = "IP subjectAltNames are not allowed"
URI_SAN_NOT_ALLOWED = "URI subjectAltNames are not allowed"
COMMON_NAME_NOT_SYSTEM_NODE = "subject common name does not begin with system:node:"
USAGES_DID_NOT_MATCH = f"usages did not match [{' '.join(sorted(KUBELET_CLIENT_REQUIRED_USAGES))}]"
CSR_API_VERSION = f"{CERTIFICATES_GROUP}/v1"


def subject_values(parsed: Csr, oid: x509.ObjectIdentifier) -> list[str]:
    """Return the subject's values of one attribute, in order (a modeled request has one CN and its O)."""
    if isinstance(parsed, ModeledRequest):
        if oid == NameOID.COMMON_NAME:
            return [parsed.common_name] if parsed.common_name else []
        return list(parsed.organizations) if oid == NameOID.ORGANIZATION_NAME else []
    return [str(a.value) for a in parsed.subject.get_attributes_for_oid(oid)]


def subject_fields(parsed: Csr) -> tuple[str, tuple[str, ...]]:
    """Return (CommonName, Organization) as Go's pkix.Name fills them: last CN wins, every O in order."""
    cns = subject_values(parsed, NameOID.COMMON_NAME)
    return (cns[-1] if cns else ""), tuple(subject_values(parsed, NameOID.ORGANIZATION_NAME))


def kubelet_client_csr_error(parsed: Csr, usages: Sequence[str], *,
                             strict_usages: bool = False) -> str | None:
    """Return ValidateKubeletClientCSR's first failure message, or None for a kubelet client CSR."""
    common_name, organizations = subject_fields(parsed)
    if organizations != (NODES_GROUP,):
        return ORGANIZATION_NOT_SYSTEM_NODES
    dns, emails, ips, uris = request_sans(parsed)
    for present, message in ((dns, DNS_SAN_NOT_ALLOWED), (emails, EMAIL_SAN_NOT_ALLOWED),
                             (ips, IP_SAN_NOT_ALLOWED), (uris, URI_SAN_NOT_ALLOWED)):
        if present:
            return message
    if not common_name.startswith(NODE_USER_PREFIX):
        return COMMON_NAME_NOT_SYSTEM_NODE
    allowed = (KUBELET_CLIENT_REQUIRED_USAGES,) if strict_usages else \
        (KUBELET_CLIENT_REQUIRED_USAGES, KUBELET_CLIENT_REQUIRED_USAGES_NO_RSA)
    if frozenset(usages) not in allowed:
        return USAGES_DID_NOT_MATCH
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class CsrFacts:
    """Carry what the recognizers look at: the CSR's spec plus its parsed request."""

    signer_name: str
    username: str
    usages: tuple[str, ...]
    common_name: str
    organizations: tuple[str, ...]
    dns_names: tuple[str, ...]
    emails: tuple[str, ...]
    ip_addresses: tuple[str, ...]
    uris: tuple[str, ...]
    kubelet_client_error: str | None
    """ValidateKubeletClientCSR's verdict under the chosen usage rule (None = a kubelet client CSR)."""

    @property
    def has_sans(self) -> bool:
        """Report whether the request carries any SAN Go's parser exposes."""
        return bool(self.dns_names or self.emails or self.ip_addresses or self.uris)


def csr_facts(csr_object: Mapping[str, Any], parsed: Csr, *,
              strict_usages: bool) -> CsrFacts:
    """Gather the facts the recognizers need from a CSR object and its parsed request."""
    spec = csr_object.get("spec") or {}
    usages = tuple(str(u) for u in spec.get("usages") or ())
    common_name, organizations = subject_fields(parsed)
    dns, emails, ips, uris = request_sans(parsed)
    return CsrFacts(
        signer_name=str(spec.get("signerName", "")), username=str(spec.get("username", "")), usages=usages,
        common_name=common_name, organizations=organizations, dns_names=tuple(dns), emails=tuple(emails),
        ip_addresses=tuple(ips), uris=tuple(uris),
        kubelet_client_error=kubelet_client_csr_error(parsed, usages, strict_usages=strict_usages))


def _is_node_client(facts: CsrFacts) -> bool:
    """Match isNodeClientCert: the kubelet-client signer and a valid kubelet client request."""
    return facts.signer_name == KUBE_APISERVER_CLIENT_KUBELET_SIGNER and facts.kubelet_client_error is None


def _is_self_node_client(facts: CsrFacts) -> bool:
    """Match isSelfNodeClientCert: a node renewing its own certificate (username equals the CN)."""
    return facts.username == facts.common_name and _is_node_client(facts)


@dataclass(frozen=True, slots=True)
class Recognizer:
    """Describe one approver rule: a predicate, the SAR subresource it needs, the approval message."""

    name: str
    subresource: str
    predicate: Callable[[CsrFacts], bool]
    message: str


RECOGNIZERS: tuple[Recognizer, ...] = (
    Recognizer("selfnodeclient", "selfnodeclient", _is_self_node_client, SELFNODECLIENT_APPROVAL_MESSAGE),
    Recognizer("nodeclient", "nodeclient", _is_node_client, NODECLIENT_APPROVAL_MESSAGE),
)


def recognize(csr_object: Mapping[str, Any], parsed: Csr, *,
              strict_usages: bool = False) -> list[Recognizer]:
    """Return the recognizers that match, in the approver's order (each then needs its SAR)."""
    facts = csr_facts(csr_object, parsed, strict_usages=strict_usages)
    return [r for r in RECOGNIZERS if r.predicate(facts)]


def csr_request_pem(obj: Mapping[str, Any]) -> bytes:
    """Return the PEM bytes of ``spec.request`` (base64 on the wire)."""
    try:
        return base64.b64decode(str((obj.get("spec") or {}).get("request", "")), validate=True)
    except (binascii.Error, ValueError):
        return b""


def parse_request(obj: Mapping[str, Any]) -> Csr:
    """Parse ``spec.request`` with the approver's and signer's wrapping of the error."""
    name = str((obj.get("metadata") or {}).get("name", ""))
    try:
        return parse_csr_pem(csr_request_pem(obj))
    except CryptoError as exc:
        raise CryptoError(f"unable to parse csr {go_quote(name)}: {exc}") from exc


def csr_object(*, request_pem: bytes, signer_name: str, usages: Sequence[str], generate_name: str = CSR_GENERATE_NAME,
               expiration_seconds: int | None = None) -> dict[str, Any]:
    """Return the certificates.k8s.io/v1 CSR body client-go's RequestCertificate POSTs."""
    spec: dict[str, Any] = {"request": base64.b64encode(request_pem).decode(), "signerName": signer_name,
                            "usages": list(usages)}
    if expiration_seconds is not None:
        spec["expirationSeconds"] = expiration_seconds
    return {"apiVersion": CSR_API_VERSION, "kind": "CertificateSigningRequest",
            "metadata": {"generateName": generate_name}, "spec": spec, "status": {}}


def csr_state(obj: Mapping[str, Any]) -> str:
    """Return kubectl's CONDITION column: Denied/Approved/Pending, then ",Failed", then ",Issued"."""
    status = obj.get("status") or {}
    types = {c.get("type") for c in status.get("conditions") or ()}
    state = "Denied" if "Denied" in types else "Approved" if "Approved" in types else "Pending"
    if "Failed" in types:
        state += ",Failed"
    if status.get("certificate"):
        state += ",Issued"
    return state
