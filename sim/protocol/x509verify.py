"""Parse and verify X.509 certificates as Go's crypto/x509 does, error texts included.

Why: joinsim reports the very messages a joining node or a client would print
(``x509: certificate signed by unknown authority (possibly because of ...)``,
``x509: certificate is valid for ..., not ...``), so chain building, signature
checks, key usage and host name matching follow Go's rules rather than
OpenSSL's, and PEM bundles are read as client-go's certutil reads them.

Every node of a run presents the same CA bundle and checks the same serving
certificate, so parsed bundles and signature checks (pure functions of the
certificates) are remembered.

Upstream: Go crypto/x509 verify.go (Verify, VerifyHostname, error texts),
x509.go (CheckSignatureFrom), encoding/pem (Decode), client-go
util/cert/pem.go (ParseCertsPEM), pkg/controller/certificates/authority/
policies.go (usage names).
"""

from __future__ import annotations

import base64
import binascii
import functools
import ipaddress
import re
from datetime import datetime, timezone
from typing import Iterator, Sequence

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from . import modeled
from .errors import X509_EXPIRED_PREFIX, X509_UNKNOWN_AUTHORITY, CryptoError, go_quote

# pkg/controller/certificates/authority/policies.go extKeyUsageDict, also read by the signer policy in pki.
# value: (Go x509.ExtKeyUsage enum, OID); Go sorts by the enum
EXT_KEY_USAGES = {
    "any": (0, x509.ObjectIdentifier("2.5.29.37.0")), "server auth": (1, ExtendedKeyUsageOID.SERVER_AUTH),
    "client auth": (2, ExtendedKeyUsageOID.CLIENT_AUTH), "code signing": (3, ExtendedKeyUsageOID.CODE_SIGNING),
    "email protection": (4, ExtendedKeyUsageOID.EMAIL_PROTECTION),
    "s/mime": (4, ExtendedKeyUsageOID.EMAIL_PROTECTION),
    "ipsec end system": (5, x509.ObjectIdentifier("1.3.6.1.5.5.7.3.5")),
    "ipsec tunnel": (6, x509.ObjectIdentifier("1.3.6.1.5.5.7.3.6")),
    "ipsec user": (7, x509.ObjectIdentifier("1.3.6.1.5.5.7.3.7")),
    "timestamping": (8, ExtendedKeyUsageOID.TIME_STAMPING), "ocsp signing": (9, ExtendedKeyUsageOID.OCSP_SIGNING),
    "microsoft sgc": (10, x509.ObjectIdentifier("1.3.6.1.4.1.311.10.3.3")),
    "netscape sgc": (11, x509.ObjectIdentifier("2.16.840.1.113730.4.1")),
}


def as_utc(now: datetime) -> datetime:
    """Return ``now`` in UTC, refusing naive datetimes so no local clock leaks in."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware UTC datetime")
    return now.astimezone(timezone.utc)


def _rfc3339(when: datetime) -> str:
    return f"{as_utc(when):%Y-%m-%dT%H:%M:%SZ}"


_PEM_BLOCK = re.compile(rb"-----BEGIN ([^\r\n]*?)-----\r?\n(.*?)-----END \1-----", re.S)


def pem_blocks(data: bytes) -> Iterator[tuple[str, bool, bytes]]:
    """Yield (type, has_headers, der) for each well-formed PEM block, skipping bad ones as pem.Decode does."""
    for match in _PEM_BLOCK.finditer(data):
        body = match.group(2)
        head, sep, rest = body.partition(b"\n\n") if b":" in body.split(b"\n", 1)[0] else (b"", b"", body)
        try:
            der = base64.b64decode(b"".join(rest.split()), validate=True)
        except (binascii.Error, ValueError):
            continue
        yield match.group(1).decode("latin-1"), bool(sep), der


def request_sans(obj: x509.Certificate | x509.CertificateSigningRequest | modeled.ModeledRequest
                 | modeled.ModeledCertificate) -> tuple[list[str], ...]:
    """Return the (DNS, email, IP, URI) SANs Go's parser would expose; other kinds are ignored."""
    if isinstance(obj, (modeled.ModeledRequest, modeled.ModeledCertificate)):
        return list(obj.dns_names), list(obj.emails), list(obj.ip_addresses), list(obj.uris)
    try:
        san = obj.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return [], [], [], []
    return (san.get_values_for_type(x509.DNSName), san.get_values_for_type(x509.RFC822Name),
            [str(ip) for ip in san.get_values_for_type(x509.IPAddress)],
            san.get_values_for_type(x509.UniformResourceIdentifier))


def signature_error(signature: bytes, data: bytes, public_key: object) -> str | None:
    """Check a SHA-256 signature; return Go's error text on failure."""
    try:
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        elif isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            return "x509: cannot verify signature: algorithm unimplemented"
    except InvalidSignature:
        return "x509: ECDSA verification failure" if isinstance(public_key, ec.EllipticCurvePublicKey) \
            else "crypto/rsa: verification error"
    return None


def parse_certs_pem(data: bytes) -> list[x509.Certificate]:
    """Parse every header-less CERTIFICATE block, as client-go certutil.ParseCertsPEM does."""
    return list(_parse_certs_pem(data))


@functools.lru_cache(maxsize=256)
def _parse_certs_pem(data: bytes) -> tuple[x509.Certificate, ...]:
    certs = []
    for kind, has_headers, der in pem_blocks(data):
        if kind != "CERTIFICATE" or has_headers:
            continue
        try:
            certs.append(x509.load_der_x509_certificate(der))
        except ValueError as exc:
            raise CryptoError("x509: malformed certificate") from exc
    if not certs:
        raise CryptoError("data does not contain any valid RSA or ECDSA certificates")
    return tuple(certs)


def verify_signed_by(cert: x509.Certificate, ca_cert: x509.Certificate) -> bool:
    """Return whether ``ca_cert``'s key produced ``cert``'s signature."""
    return signature_error(cert.signature, cert.tbs_certificate_bytes, ca_cert.public_key()) is None


def _validity_error(cert: x509.Certificate, now: datetime) -> str | None:
    prefix = X509_EXPIRED_PREFIX
    if now < cert.not_valid_before_utc:
        return f"{prefix} {_rfc3339(now)} is before {_rfc3339(cert.not_valid_before_utc)}"
    if now > cert.not_valid_after_utc:
        return f"{prefix} {_rfc3339(now)} is after {_rfc3339(cert.not_valid_after_utc)}"
    return None


def _ext(cert: x509.Certificate, cls: type[x509.ExtensionType]) -> x509.ExtensionType | None:
    try:
        return cert.extensions.get_extension_for_class(cls).value
    except x509.ExtensionNotFound:
        return None


@functools.lru_cache(maxsize=4096)
def _check_signature_from(cert: x509.Certificate, parent: x509.Certificate) -> str | None:
    """Mirror Go's Certificate.CheckSignatureFrom, including the parent's CA constraints."""
    bc, ku = _ext(parent, x509.BasicConstraints), _ext(parent, x509.KeyUsage)
    if (isinstance(bc, x509.BasicConstraints) and not bc.ca) or (bc is None and parent.version == x509.Version.v3) \
            or (isinstance(ku, x509.KeyUsage) and not ku.key_cert_sign):
        return "x509: invalid signature: parent certificate cannot sign this kind of certificate"
    return signature_error(cert.signature, cert.tbs_certificate_bytes, parent.public_key())


def verify_chain(cert: x509.Certificate, roots: Sequence[x509.Certificate], now: datetime, *,
                 key_usage: str | None = None) -> str | None:
    """Verify ``cert`` against ``roots`` as Go's x509.Verify does; return its error text or None."""
    now = as_utc(now)
    err = _validity_error(cert, now)
    if err:
        return err
    is_root, candidates = _candidate_roots(cert, tuple(roots))
    chain_root = cert if is_root else None
    if chain_root is None:
        hint: tuple[str, x509.Certificate] | None = None
        for root in candidates:
            err = _check_signature_from(cert, root) or _validity_error(root, now)
            if err is None:
                chain_root = root
                break
            hint = hint or (err, root)
        if chain_root is None:
            return _unknown_authority(hint)
    if key_usage is not None:
        wanted = EXT_KEY_USAGES[key_usage][1]
        for member in (cert, chain_root):
            eku = _ext(member, x509.ExtendedKeyUsage)
            if isinstance(eku, x509.ExtendedKeyUsage) and wanted not in eku and EXT_KEY_USAGES["any"][1] not in eku:
                return "x509: certificate specifies an incompatible key usage"
    return None


@functools.lru_cache(maxsize=1024)
def _candidate_roots(cert: x509.Certificate,
                     roots: tuple[x509.Certificate, ...]) -> tuple[bool, tuple[x509.Certificate, ...]]:
    """Return whether ``cert`` is itself a root, and the roots that may have issued it, best first.

    Go ranks the roots whose subject is the issuer by key identifiers
    (matching, then one missing, then mismatching); none of this depends on
    the time, so it is worked out once per certificate and bundle.
    """
    der = cert.public_bytes(serialization.Encoding.DER)
    if any(r.public_bytes(serialization.Encoding.DER) == der for r in roots):
        return True, ()
    aki = _ext(cert, x509.AuthorityKeyIdentifier)
    kid = aki.key_identifier if isinstance(aki, x509.AuthorityKeyIdentifier) else None
    ranked = []
    issuer = cert.issuer.public_bytes()
    for root in roots:
        if root.subject.public_bytes() != issuer:
            continue
        ski = _ext(root, x509.SubjectKeyIdentifier)
        digest = ski.digest if isinstance(ski, x509.SubjectKeyIdentifier) else None
        ranked.append((0 if digest == kid else 1 if (digest is None) != (kid is None) else 2, root))
    return False, tuple(root for _, root in sorted(ranked, key=lambda item: item[0]))


def _unknown_authority(hint: tuple[str, x509.Certificate] | None) -> str:
    text = X509_UNKNOWN_AUTHORITY
    if hint is None:
        return text
    err, candidate = hint
    cns = candidate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    orgs = candidate.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    name = str(cns[-1].value) if cns else str(orgs[0].value) if orgs else f"serial:{candidate.serial_number}"
    return f"{text} (possibly because of {go_quote(err)} while trying to verify candidate authority certificate " \
           f"{go_quote(name)})"


def _valid_hostname(host: str, pattern: bool) -> bool:
    host = host if pattern else host.removesuffix(".")
    if not host or host == "*":
        return False
    for i, part in enumerate(host.split(".")):
        if pattern and i == 0 and part == "*":
            continue
        if not part or not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_-]*", part):
            return False
    return True


def _match_hostnames(pattern: str, host: str) -> bool:
    pattern, host = pattern.lower(), host.removesuffix(".").lower()
    p_parts, h_parts = pattern.split("."), host.split(".")
    if not pattern or not host or len(p_parts) != len(h_parts):
        return False
    return all((i == 0 and p == "*") or p == h for i, (p, h) in enumerate(zip(p_parts, h_parts)))


def verify_hostname(cert: x509.Certificate, host: str) -> str | None:
    """Check a host name or IP against the SANs as Go's VerifyHostname does; return its error text or None."""
    return _verify_hostname(cert, host)


@functools.lru_cache(maxsize=1024)
def _verify_hostname(cert: x509.Certificate, host: str) -> str | None:
    dns, _, ips, _ = request_sans(cert)
    candidate = host[1:-1] if len(host) >= 3 and host[0] == "[" and host[-1] == "]" else host
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(candidate)
    except ValueError:
        ip = None
    if ip is not None:
        if any(ipaddress.ip_address(s) == ip for s in ips):
            return None
        host = candidate
    else:
        name = host.lower()
        for match in dns:
            if _valid_hostname(name, False) and _valid_hostname(match, True):
                if _match_hostnames(match, name):
                    return None
            elif name not in ("", ".") and match not in ("", ".") and match.lower() == name:
                return None
    # HostnameError.Error()
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if _ext(cert, x509.SubjectAlternativeName) is None and cns and _match_hostnames(str(cns[-1].value), host):
        return "x509: certificate relies on legacy Common Name field, use SANs instead"
    if ip is not None and not ips:
        return f"x509: cannot validate certificate for {host} because it doesn't contain any IP SANs"
    valid = ", ".join(ips if ip is not None else dns)
    if not valid:
        return f"x509: certificate is not valid for any names, but wanted to match {host}"
    return f"x509: certificate is valid for {valid}, not {host}"
