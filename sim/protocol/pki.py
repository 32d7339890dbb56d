"""Build kubeadm's certificates and CSRs, and sign CSRs as the csrsigning controller does.

How this works: the cluster CA, kubeadm's leaf certificates, CSRs and the
csrsigning controller's certificates are made with ``cryptography`` but laid out
the way Go's ``crypto/x509`` lays them out (subject attribute order and string
types, extension order and criticality, serial ranges), so a Go client would
accept them and the bytes stay stable. With an ``rng`` every key, serial and
signature is a function of the seed (keys come from ``keys``, ECDSA signs per
RFC 6979); without one, the OS supplies the randomness. Parsing and verifying
certificates lives in ``x509verify``. In the ``modeled`` crypto mode a node's
CSR and certificate are symbolic records (``modeled``): parsing, the CSR
signature check, signing and PEM encoding accept them here, and the signer's
policy (serial, validity, usages, errors) is the same for both.

Upstream: cmd/kubeadm/app/util/pkiutil/pki_helpers.go (CA, leaf certificates),
client-go util/cert/cert.go (NewSelfSignedCACert), pkg/controller/certificates/
authority/{authority,policies}.go (signing), pkg/apis/certificates/v1/helpers.go
(ParseCSR).
"""

from __future__ import annotations

import functools
import ipaddress
import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .constants import (
    CA_CERTIFICATE_VALIDITY, CERTIFICATE_VALIDITY, KUBELET_CLIENT_USAGES_ECDSA, KUBELET_CLIENT_USAGES_RSA,
    NODE_USER_PREFIX, NODES_GROUP, SIGNING_BACKDATE, SIGNING_BACKDATE_THRESHOLD, SIGNING_DURATION_DEFAULT,
    SIGNING_MIN_DURATION,
)
from .errors import CryptoError, SigningError, go_quote
from . import modeled
from .keys import PrivateKey, generate_private_key, parse_private_key_pem, private_key_pem
from .rng import Rng
from .x509verify import EXT_KEY_USAGES, as_utc, parse_certs_pem, pem_blocks, request_sans, signature_error

# cmd/kubeadm/app/constants/constants.go CertificateBackdate: the CA's NotBefore offset.
CA_CERTIFICATE_BACKDATE = 5 * 60
_MAX_INT64 = 2**63 - 1

# pkg/controller/certificates/authority/policies.go keyUsageDict (extKeyUsageDict: x509verify.EXT_KEY_USAGES)
_KEY_USAGE_BITS = {
    "signing": "digital_signature", "digital signature": "digital_signature",
    "content commitment": "content_commitment", "key encipherment": "key_encipherment",
    "key agreement": "key_agreement", "data encipherment": "data_encipherment", "cert sign": "key_cert_sign",
    "crl sign": "crl_sign", "encipher only": "encipher_only", "decipher only": "decipher_only",
}
Csr = x509.CertificateSigningRequest | modeled.ModeledRequest
"""A parsed CSR: a PKCS#10 request, or its record in the modeled crypto mode."""
Certificate = x509.Certificate | modeled.ModeledCertificate
"""An issued certificate: X.509, or its record in the modeled crypto mode."""
_MODELED_REQUEST = b"-----BEGIN " + modeled.REQUEST.encode() + b"-----"
_KU_FIELDS = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
              "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only")


@dataclass(frozen=True)
class CertKey:
    """Pair a certificate with its private key, as kubeadm's ``ca.crt``/``ca.key`` files do."""

    cert: x509.Certificate
    key: PrivateKey

    @property
    def cert_pem(self) -> bytes:
        """Return the certificate as a PEM ``CERTIFICATE`` block."""
        return cert_pem(self.cert)

    @property
    def key_pem(self) -> bytes:
        """Return the key in the PKCS#1 / SEC 1 PEM form client-go keyutil writes."""
        return private_key_pem(self.key)

    @classmethod
    def from_pem(cls, cert_pem: bytes, key_pem: bytes) -> CertKey:
        """Load a pair from PEM, refusing keys that are not RSA/ECDSA or do not match."""
        cert = parse_certs_pem(cert_pem)[0]
        key = parse_private_key_pem(key_pem)
        spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        if key.public_key().public_bytes(*spki) != cert.public_key().public_bytes(*spki):
            raise CryptoError("tls: private key does not match public key")
        return cls(cert, key)


# --- encoding helpers -----------------------------------------------------------------------

def _seconds(when: datetime) -> datetime:
    return when.replace(microsecond=0)  # X.509 times carry whole seconds; Go truncates


def go_time(when: datetime) -> str:
    """Format a UTC time as Go's ``%v`` does (``2006-01-02 15:04:05.999999999 -0700 MST``)."""
    when = as_utc(when)
    frac = f".{when.microsecond:06d}".rstrip("0") if when.microsecond else ""
    return f"{when:%Y-%m-%d %H:%M:%S}{frac} +0000 UTC"


_PRINTABLE = re.compile(r"[A-Za-z0-9 '()+,\-./:=?]*")


def _attr(oid: x509.ObjectIdentifier, value: str) -> x509.NameAttribute[str]:
    # Go encoding/asn1 uses PrintableString when every character allows it, else UTF8String.
    kind = _ASN1Type.PrintableString if _PRINTABLE.fullmatch(value) else _ASN1Type.UTF8String
    return x509.NameAttribute(oid, value, _type=kind)


def _name(common_name: str, organizations: Sequence[str] = ()) -> x509.Name:
    """Build a subject in Go's pkix.Name order: all O values in one RDN, then CN."""
    rdns = []
    if organizations:
        rdns.append(x509.RelativeDistinguishedName([_attr(NameOID.ORGANIZATION_NAME, o) for o in organizations]))
    if common_name:
        rdns.append(x509.RelativeDistinguishedName([_attr(NameOID.COMMON_NAME, common_name)]))
    return x509.Name(rdns)


def _sans(dns_names: Sequence[str] = (), emails: Sequence[str] = (), ips: Sequence[str] = (),
          uris: Sequence[str] = ()) -> list[x509.GeneralName]:
    """Return SANs in Go's marshalSANs order: DNS, email, IP, URI."""
    return [*(x509.DNSName(d) for d in dns_names), *(x509.RFC822Name(e) for e in emails),
            *(x509.IPAddress(ipaddress.ip_address(i)) for i in ips),
            *(x509.UniformResourceIdentifier(u) for u in uris)]


def _sign(builder: x509.CertificateBuilder, key: PrivateKey) -> x509.Certificate:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return builder.sign(key, hashes.SHA256(), ecdsa_deterministic=True)
    return builder.sign(key, hashes.SHA256(), rsa_padding=padding.PKCS1v15())


def _serial(rng: Rng | None, bits: int | None) -> int:
    """Draw a serial: [1, MaxInt64) as kubeadm does, or [0, 2^bits) as the csrsigning CA does."""
    while True:
        if rng is not None:
            value = rng.randrange(1, _MAX_INT64) if bits is None else rng.getrandbits(bits)
        else:
            value = int.from_bytes(os.urandom(8 if bits is None else bits // 8)) >> (1 if bits is None else 0)
        if 0 < value < (_MAX_INT64 if bits is None else 2**bits):  # cryptography refuses serial 0
            return value


# --- kubeadm certificates --------------------------------------------------------------------

def create_ca(*, now: datetime, rng: Rng | None = None, key_type: str = "rsa",
              common_name: str = "kubernetes") -> CertKey:
    """Create the self-signed cluster CA the way ``kubeadm init`` does (backdated 5 min, 10 years)."""
    now = as_utc(now)
    key = generate_private_key(key_type, rng)
    subject = _name(common_name)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
               .serial_number(_serial(rng, None))
               .not_valid_before(_seconds(now - timedelta(seconds=CA_CERTIFICATE_BACKDATE)))
               .not_valid_after(_seconds(now + timedelta(seconds=CA_CERTIFICATE_VALIDITY)))
               .add_extension(_key_usage({"digital_signature", "key_encipherment", "key_cert_sign"}), critical=True)
               .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
               .add_extension(x509.SubjectAlternativeName([x509.DNSName(common_name)]), critical=False))
    return CertKey(_sign(builder, key), key)


def _key_usage(bits: set[str]) -> x509.KeyUsage:
    return x509.KeyUsage(**{field: field in bits for field in _KU_FIELDS})


def _authority_key_id(ca: x509.Certificate) -> x509.AuthorityKeyIdentifier | None:
    try:
        ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except x509.ExtensionNotFound:
        return None
    return x509.AuthorityKeyIdentifier(ski.digest, None, None)


def _leaf(ca: CertKey, key: PrivateKey, subject: x509.Name, eku: x509.ObjectIdentifier, sans: list[x509.GeneralName],
          now: datetime, rng: Rng | None) -> CertKey:
    """Sign a kubeadm leaf (pkiutil.NewSignedCert): NotBefore = CA NotBefore, NotAfter = now + 1 year."""
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(ca.cert.subject)
               .public_key(key.public_key()).serial_number(_serial(rng, None))
               .not_valid_before(ca.cert.not_valid_before_utc)
               .not_valid_after(_seconds(as_utc(now) + timedelta(seconds=CERTIFICATE_VALIDITY)))
               .add_extension(_key_usage({"digital_signature", "key_encipherment"}), critical=True)
               .add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True))
    aki = _authority_key_id(ca.cert)
    if aki is not None:
        builder = builder.add_extension(aki, critical=False)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return CertKey(_sign(builder, ca.key), key)


def create_serving_cert(ca: CertKey, *, common_name: str, dns_names: Sequence[str], ip_addresses: Sequence[str],
                        now: datetime, rng: Rng | None = None, key_type: str = "rsa") -> CertKey:
    """Create an API-server-style serving certificate (serverAuth, SANs deduplicated as kubeadm does)."""
    key = generate_private_key(key_type, rng)
    ips = list(dict.fromkeys(str(ipaddress.ip_address(ip)) for ip in ip_addresses))
    sans = _sans(dns_names=sorted(set(dns_names)), ips=ips)
    return _leaf(ca, key, _name(common_name), ExtendedKeyUsageOID.SERVER_AUTH, sans, now, rng)


def create_client_cert(ca: CertKey, *, common_name: str, organizations: Sequence[str], now: datetime,
                       rng: Rng | None = None, key_type: str = "rsa") -> CertKey:
    """Create a client certificate such as admin.conf's (clientAuth, O = groups)."""
    key = generate_private_key(key_type, rng)
    return _leaf(ca, key, _name(common_name, organizations), ExtendedKeyUsageOID.CLIENT_AUTH, [], now, rng)


# --- CSRs --------------------------------------------------------------------------------------

def build_csr(key: PrivateKey, *, common_name: str, organizations: Sequence[str] = (), dns_names: Sequence[str] = (),
              ip_addresses: Sequence[str] = (), emails: Sequence[str] = (), uris: Sequence[str] = ()) -> bytes:
    """Return a PEM CSR laid out as Go's x509.CreateCertificateRequest would, signed deterministically."""
    builder = x509.CertificateSigningRequestBuilder().subject_name(_name(common_name, organizations))
    sans = _sans(dns_names, emails, ip_addresses, uris)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        csr = builder.sign(key, hashes.SHA256(), ecdsa_deterministic=True)
    else:
        csr = builder.sign(key, hashes.SHA256(), rsa_padding=padding.PKCS1v15())
    return csr.public_bytes(serialization.Encoding.PEM)


def kubelet_client_csr(key: PrivateKey, node_name: str) -> bytes:
    """Return the kubelet's client CSR (certificate_manager template): CN=system:node:<n>, O=system:nodes."""
    return build_csr(key, common_name=NODE_USER_PREFIX + node_name, organizations=(NODES_GROUP,))


def kubelet_client_usages(key: PrivateKey) -> tuple[str, ...]:
    """Return DefaultKubeletClientGetUsages: key encipherment only for RSA keys."""
    return KUBELET_CLIENT_USAGES_RSA if isinstance(key, rsa.RSAPrivateKey) else KUBELET_CLIENT_USAGES_ECDSA


def parse_csr_pem(data: bytes) -> Csr:
    """Parse a CSR as certificates/v1 ParseCSR does: the first PEM block must be a CERTIFICATE REQUEST."""
    if data.lstrip().startswith(_MODELED_REQUEST):
        return modeled.parse_request(data)
    return _parse_csr(data)


@functools.lru_cache(maxsize=1024)
def _parse_csr(data: bytes) -> x509.CertificateSigningRequest:
    """Parse a PKCS#10 request (remembered: the server, approver and signer each parse the same bytes)."""
    block = next(pem_blocks(data), None)
    if block is None or block[0] != "CERTIFICATE REQUEST":
        raise CryptoError("PEM block type must be CERTIFICATE REQUEST")
    try:
        csr = x509.load_der_x509_csr(block[2])
        csr.extensions  # noqa: B018 - surface malformed extensions now, as Go's parser would
        csr.public_key()
    except ValueError as exc:
        raise CryptoError("asn1: syntax error: sequence truncated" if not block[2]
                          else f"asn1: structure error: {exc}") from exc
    return csr


def verify_csr_signature(csr: Csr) -> bool:
    """Return whether the CSR is signed by the key it carries (proof of possession; modeled: intact)."""
    return csr.signature_valid if isinstance(csr, modeled.ModeledRequest) else csr.is_signature_valid


@functools.lru_cache(maxsize=1024)
def csr_signature_error(csr: Csr) -> str | None:
    """Return Go's error text for a CSR whose signature does not verify, or None (remembered per request)."""
    if isinstance(csr, modeled.ModeledRequest):
        return None if csr.signature_valid else "x509: ECDSA verification failure"
    return signature_error(csr.signature, csr.tbs_certrequest_bytes, csr.public_key())


# --- csrsigning ---------------------------------------------------------------------------------

def signing_duration(expiration_seconds: int | None, default: float = SIGNING_DURATION_DEFAULT) -> float:
    """Clamp a requested spec.expirationSeconds as signer.duration does: at most default, at least 10 min."""
    if expiration_seconds is None or expiration_seconds > default:
        return float(default)
    return float(max(expiration_seconds, SIGNING_MIN_DURATION))


def _usage_extensions(usages: Sequence[str]) -> tuple[set[str], list[x509.ObjectIdentifier]]:
    bits: set[str] = set()
    ekus: dict[int, x509.ObjectIdentifier] = {}
    unknown = []
    for usage in usages:
        if usage in _KEY_USAGE_BITS:
            bits.add(_KEY_USAGE_BITS[usage])
        elif usage in EXT_KEY_USAGES:
            order, oid = EXT_KEY_USAGES[usage]
            ekus[order] = oid
        else:
            unknown.append(usage)
    if unknown:
        raise SigningError(f"unrecognized usage values: [{' '.join(go_quote(u) for u in unknown)}]")
    return bits, [ekus[k] for k in sorted(ekus)]


def sign_csr(ca: CertKey, csr: Csr, *, usages: Sequence[str], now: datetime,
             rng: Rng | None = None, duration: float = SIGNING_DURATION_DEFAULT,
             expiration_seconds: int | None = None) -> Certificate:
    """Issue a certificate as the csrsigning controller's CA with PermissiveSigningPolicy does."""
    now = as_utc(now)
    sig_err = csr_signature_error(csr)
    if sig_err:
        raise SigningError(f"unable to verify certificate request signature: {sig_err}")
    serial = _serial(rng, 128)
    bits, ekus = _usage_extensions(usages)
    ttl = signing_duration(expiration_seconds, duration)
    ca_not_after = ca.cert.not_valid_after_utc
    not_before = now - timedelta(seconds=SIGNING_BACKDATE)
    backdate = 0 if ttl < SIGNING_BACKDATE_THRESHOLD else SIGNING_BACKDATE
    not_after = min(now + timedelta(seconds=ttl - backdate), ca_not_after)
    if not not_before < ca_not_after:
        raise SigningError(f"the signer has expired: NotAfter={go_time(ca_not_after)}")
    if not now < ca_not_after:
        raise SigningError(f"refusing to sign a certificate that expired in the past: NotAfter={go_time(ca_not_after)}")
    if isinstance(csr, modeled.ModeledRequest):
        return _sign_modeled(ca, csr, serial, bits, ekus, _seconds(not_before), _seconds(not_after))
    builder = (x509.CertificateBuilder().subject_name(csr.subject).issuer_name(ca.cert.subject)
               .public_key(csr.public_key()).serial_number(serial)
               .not_valid_before(_seconds(not_before)).not_valid_after(_seconds(not_after)))
    try:
        if bits:
            builder = builder.add_extension(_key_usage(bits), critical=True)
        if ekus:
            builder = builder.add_extension(x509.ExtendedKeyUsage(ekus), critical=False)
    except ValueError as exc:
        raise SigningError(f"failed to sign certificate: {exc}") from exc
    builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    aki = _authority_key_id(ca.cert)
    if aki is not None:
        builder = builder.add_extension(aki, critical=False)
    sans = _sans(*request_sans(csr))
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=len(csr.subject) == 0)
    return _sign(builder, ca.key)


def _sign_modeled(ca: CertKey, csr: modeled.ModeledRequest, serial: int, bits: set[str],
                  ekus: list[x509.ObjectIdentifier], not_before: datetime, not_after: datetime) -> Certificate:
    """Issue the modeled certificate the real signer would issue (same policy, same extension errors)."""
    try:
        if bits:
            _key_usage(bits)
    except ValueError as exc:
        raise SigningError(f"failed to sign certificate: {exc}") from exc
    return modeled.issue(ca.cert, ca.key, csr, serial=serial, not_before=not_before, not_after=not_after,
                         key_usages=sorted(bits), ext_key_usages=[oid.dotted_string for oid in ekus])


# --- PEM ------------------------------------------------------------------------------------------

def cert_pem(cert: Certificate) -> bytes:
    """Encode a certificate as a PEM ``CERTIFICATE`` block (a modeled one in its own armour)."""
    if isinstance(cert, modeled.ModeledCertificate):
        return cert.pem()
    return cert.public_bytes(serialization.Encoding.PEM)
