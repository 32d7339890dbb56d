"""Translate Python socket, TLS and aiohttp failures into the texts Go's net/http client prints.

Why: the join workflow wraps a ``TransportFailure.message`` as client-go does
(``Get "<url>": <message>``), so a real join must report Go's wording, not
Python's. Certificate problems are re-derived from the server's certificate
with ``sim.protocol.x509verify`` (Go's order: validity, host name, chain), so
the text names the same SANs and authorities Go would.
Upstream: net/dial.go, crypto/tls/handshake_client.go, crypto/x509/verify.go,
net/http/client.go.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import socket
import ssl
from datetime import datetime, timezone

import aiohttp
from cryptography import x509

from sim.protocol import x509verify
from sim.protocol.constants import HTTPS_DEFAULT_PORT
from sim.protocol.errors import CLIENT_TIMEOUT_CONNECTING, TLS_VERIFY_PREFIX, X509_UNKNOWN_AUTHORITY, go_quote
from sim.protocol.hostport import endpoint_host

# OpenSSL X509_V_ERR_* codes for a host name / IP address mismatch
_HOSTNAME_CODES = frozenset({62, 64})
# OpenSSL alert reasons a server sends about our client certificate, in Go's crypto/tls words
_ALERTS = {
    "TLSV1_ALERT_UNKNOWN_CA": "remote error: tls: unknown certificate authority",
    "SSLV3_ALERT_BAD_CERTIFICATE": "remote error: tls: bad certificate",
    "TLSV13_ALERT_CERTIFICATE_REQUIRED": "remote error: tls: certificate required",
    "SSLV3_ALERT_CERTIFICATE_EXPIRED": "remote error: tls: expired certificate",
    "SSLV3_ALERT_HANDSHAKE_FAILURE": "remote error: tls: handshake failure",
    "TLSV1_ALERT_PROTOCOL_VERSION": "remote error: tls: protocol version not supported",
    "TLSV1_ALERT_INTERNAL_ERROR": "remote error: tls: internal error",
    "WRONG_VERSION_NUMBER": "tls: first record does not look like a TLS handshake",
}


def split_endpoint(endpoint: str) -> tuple[str, int]:
    """Split ``host:port`` (``[v6]:port`` too) into the host and port a real dial uses; an empty port is 443.

    Not Go's ``net.SplitHostPort`` (``sim.protocol.hostport``) on purpose: an
    endpoint reaching a dial comes from a validated join configuration or a
    kubeconfig's server URL, and ``port_error`` has already turned a port Go
    cannot dial into Go's text, so this only reads the host
    (``hostport.endpoint_host``, the name TLS checks) and the port number, with
    Go's default for an empty one (net/http dials ``host:`` on 443).
    """
    port = endpoint.rpartition(":")[2]
    return endpoint_host(endpoint), int(port) if port else HTTPS_DEFAULT_PORT


def port_error(endpoint: str) -> str | None:
    """Return Go's error for a port it cannot dial, before anything is sent; None for a usable (or empty) port.

    Digits beyond 65535 fail the dial (net/ipsock.go: ``dial tcp: address
    99999: invalid port``); anything else but digits fails net/url's parse
    (``invalid port ":abc" after host``).
    """
    port = endpoint.rpartition(":")[2]
    if not port or "]" in port:
        return None
    if not (port.isascii() and port.isdigit()):
        return f"invalid port {go_quote(':' + port)} after host"
    if int(port) > 65535:
        return f"dial tcp: address {port}: invalid port"
    return None


def dial_address(endpoint: str) -> str:
    """Return the address Go's dialer names in errors: an IP literal as given, a name resolved."""
    host, port = split_endpoint(endpoint)
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError:
            return endpoint
        ip = ipaddress.ip_address(infos[0][4][0])
    return f"[{ip}]:{port}" if ip.version == 6 else f"{ip}:{port}"


def dial_error(endpoint: str, err: OSError) -> str:
    """Render a failed TCP connect as Go's ``*net.OpError`` (``dial tcp <addr>: connect: <errno text>``)."""
    if isinstance(err, socket.gaierror):
        return f"dial tcp: lookup {split_endpoint(endpoint)[0]}: no such host"
    code = err.errno
    if code is None and err.__cause__ is not None and isinstance(err.__cause__, OSError):
        code = err.__cause__.errno
    texts = {
        errno.ECONNREFUSED: "connection refused", errno.ENETUNREACH: "network is unreachable",
        errno.EHOSTUNREACH: "no route to host", errno.ETIMEDOUT: "connection timed out",
        errno.ECONNRESET: "connection reset by peer",
    }
    text = texts.get(code or 0, (err.strerror or str(err)).lower())
    return f"dial tcp {dial_address(endpoint)}: connect: {text}"


def ssl_error(err: ssl.SSLError) -> str:
    """Render a TLS handshake failure other than certificate verification (alerts, garbage)."""
    reason = getattr(err, "reason", None) or ""
    if reason in _ALERTS:
        return _ALERTS[reason]
    return f"tls: {reason.lower().replace('_', ' ')}" if reason else f"tls: {err}"


async def peer_certificate(endpoint: str, timeout: float = 5.0) -> x509.Certificate | None:
    """Fetch the server's leaf certificate without verifying it (to explain a verification failure)."""
    host, port = split_endpoint(endpoint)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=context, server_hostname=host or None), timeout)
    except (OSError, asyncio.TimeoutError, ssl.SSLError):
        return None
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    finally:
        writer.close()
        try:
            await asyncio.wait_for(writer.wait_closed(), 1.0)
        except (OSError, asyncio.TimeoutError, ssl.SSLError):
            pass
    return x509.load_der_x509_certificate(der) if der else None


def verification_text(leaf: x509.Certificate | None, host: str, ca_pem: bytes | None, code: int | None,
                      now: datetime | None = None) -> str:
    """Return Go's x509 error for a server certificate that failed verification.

    Go checks validity, then the host name, then the chain; without the
    leaf (or with the host's trust store) the OpenSSL code decides.
    """
    if leaf is None:  # the server went away before we could look: Go's texts for an unnamed certificate
        if code in _HOSTNAME_CODES:
            return f"x509: certificate is not valid for any names, but wanted to match {host}"
        return X509_UNKNOWN_AUTHORITY
    now = now or datetime.now(timezone.utc)
    try:
        roots = x509verify.parse_certs_pem(ca_pem) if ca_pem else []
    except ValueError:
        roots = []
    chain = x509verify.verify_chain(leaf, roots, now) if roots else X509_UNKNOWN_AUTHORITY
    if chain and chain.startswith("x509: certificate has expired"):
        return chain
    hostname = x509verify.verify_hostname(leaf, host)
    if hostname:
        return hostname
    if not roots and code not in _HOSTNAME_CODES and code is not None:
        return X509_UNKNOWN_AUTHORITY
    return chain or X509_UNKNOWN_AUTHORITY


async def failure_text(err: BaseException, endpoint: str, ca_pem: bytes | None) -> str:
    """Map any exception raised while sending a request to Go's error text for it."""
    if isinstance(err, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
        return CLIENT_TIMEOUT_CONNECTING
    if isinstance(err, aiohttp.ClientConnectorCertificateError):
        cert_err = err.certificate_error
        code = getattr(cert_err, "verify_code", None)
        leaf = await peer_certificate(endpoint)
        return TLS_VERIFY_PREFIX + verification_text(leaf, split_endpoint(endpoint)[0], ca_pem, code)
    if isinstance(err, aiohttp.ClientConnectorSSLError):
        inner = err.os_error
        return ssl_error(inner) if isinstance(inner, ssl.SSLError) else f"tls: {inner}"
    if isinstance(err, aiohttp.ClientConnectorDNSError):
        return f"dial tcp: lookup {split_endpoint(endpoint)[0]}: no such host"
    if isinstance(err, aiohttp.ClientConnectorError):
        return dial_error(endpoint, err.os_error)
    if isinstance(err, ssl.SSLError):
        return ssl_error(err)
    if isinstance(err, (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError, ConnectionResetError)):
        return "EOF"
    if isinstance(err, OSError):
        return dial_error(endpoint, err)
    return str(err) or type(err).__name__
