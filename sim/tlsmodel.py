"""Decide what a TLS handshake with the API server gives, as Go's crypto/tls and kube-apiserver would.

How this works (the TLS model both in-process drivers share): no bytes are
encrypted; the checks a real handshake makes are made on the real
certificates instead. The client verifies the server's chain against the CA
it trusts and the endpoint host against the certificate's SANs, unless it is
``insecure`` (kubeadm's first, unverified discovery fetch); a failure is the
client-side error ``tls: failed to verify certificate: x509: ...``. A client
certificate is checked by the server against the cluster CA: a certificate
it does not trust fails the request with 401 (the x509 authenticator is
wrapped in ``union.NewFailOnError``), a trusted one authenticates as CN / O.
A modeled client certificate (the ``modeled`` crypto mode) is checked with
the CA key the control plane holds (``sim.protocol.modeled``) instead.
Upstream: go/src/crypto/tls/handshake_client.go (verifyServerCertificate),
staging/src/k8s.io/apiserver/pkg/authentication/request/x509/x509.go.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography import x509

from sim.control import status
from sim.control.plane import ControlPlane, subject_of
from sim.protocol import modeled, pki, x509verify
from sim.protocol.commands import TlsConfig, TransportFailure
from sim.protocol.errors import TLS_VERIFY_PREFIX, X509_UNKNOWN_AUTHORITY
from sim.protocol.hostport import endpoint_host
from sim.protocol.http import ClientSubject, Response

__all__ = [
    "ClientIdentity", "certificate_identity", "client_identity", "server_failure", "serving_failure", "unauthorized",
    "verify_server", "watch_changed",
]

def verify_server(serving: x509.Certificate, tls: TlsConfig, host: str, now: datetime) -> str | None:
    """Return the x509 error a client trusting ``tls.ca_pem`` sees for this server certificate, or None."""
    if not tls.ca_pem:
        return X509_UNKNOWN_AUTHORITY
    try:
        roots = x509verify.parse_certs_pem(tls.ca_pem)
    except ValueError:
        return X509_UNKNOWN_AUTHORITY
    return x509verify.verify_chain(serving, roots, now) or x509verify.verify_hostname(serving, host)


def server_failure(plane: ControlPlane, tls: TlsConfig, endpoint: str, now: datetime) -> TransportFailure | None:
    """Return the transport failure of a handshake whose server verification fails (None if it passes)."""
    return serving_failure(plane.serving.cert, tls, endpoint, now)


def serving_failure(serving: x509.Certificate, tls: TlsConfig, endpoint: str,
                    now: datetime) -> TransportFailure | None:
    """Return the failure of a handshake with a server presenting ``serving`` (None if the client accepts it)."""
    if tls.insecure:
        return None
    problem = verify_server(serving, tls, endpoint_host(endpoint), now)
    if problem is None:
        return None
    return TransportFailure(message=TLS_VERIFY_PREFIX + problem)


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientIdentity:
    """Say what the server makes of the client's certificate: who it is, or that it must answer 401."""

    subject: ClientSubject | None = None
    rejected: bool = False


def client_identity(plane: ControlPlane, tls: TlsConfig, now: datetime) -> ClientIdentity:
    """Check the client certificate (if any) against the cluster CA, as the server's x509 authenticator does."""
    if not tls.client_cert_pem:
        return ClientIdentity()
    return certificate_identity(plane.ca, tls.client_cert_pem, now)


def certificate_identity(ca: pki.CertKey, cert_pem: bytes, now: datetime) -> ClientIdentity:
    """Check a client certificate (the first in ``cert_pem``) against ``ca``: its CN / O, or rejected."""
    if modeled.is_modeled(cert_pem):
        return _modeled_identity(ca, cert_pem, now)
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError:
        return ClientIdentity(rejected=True)
    if x509verify.verify_chain(cert, [ca.cert], now) is not None:
        return ClientIdentity(rejected=True)
    return ClientIdentity(subject=subject_of(cert))


def _modeled_identity(ca: pki.CertKey, cert_pem: bytes, now: datetime) -> ClientIdentity:
    """Check a modeled client certificate against the CA (the model's stand-in for x509.Verify)."""
    try:
        cert = modeled.parse_certificate(cert_pem)
    except ValueError:
        return ClientIdentity(rejected=True)
    if modeled.verify_certificate(cert, ca.cert, ca.key, now) is not None:
        return ClientIdentity(rejected=True)
    return ClientIdentity(subject=ClientSubject(common_name=cert.common_name, organizations=cert.organizations))


def unauthorized(server: str) -> Response:
    """Return kube-apiserver's 401 for a rejected credential, labelled with the serving host."""
    return Response(status=401, body=status.unauthorized().status, server=server)


def watch_changed(response: Response, resource_version: str) -> bool:
    """Tell whether a watched object's GET shows a change after ``resource_version`` (404: deleted)."""
    if response.status == 404:
        return True
    if not response.ok or not isinstance(response.body, dict):
        return False
    return str(response.body.get("metadata", {}).get("resourceVersion")) != resource_version
