"""Stand symbolic records in for a node's key, CSR and certificate (the ``modeled`` crypto mode, DESIGN rule 5).

How this works (a model, named as one): a 100k-node run cannot afford an
ECDSA key, a PKCS#10 request and an X.509 certificate per node, and needs
none of their bytes; what the protocol looks at is whom a request names
(CN, O, SANs), whether it is intact, who issued a certificate, for whom and
until when. So:

- a modeled key is the private scalar the real backend would draw (the same
  draw from the same generator, so both modes stay in step) without its
  public point; its public id is a digest of the scalar;
- a modeled CSR and a modeled certificate are canonical JSON records in PEM
  armour with block types of their own (``MODELED CERTIFICATE REQUEST``,
  ``MODELED CERTIFICATE``, ``MODELED EC PRIVATE KEY``), so they travel
  wherever PEM bytes travel (node files, ``spec.request``,
  ``status.certificate``, TLS configs) and no X.509 parser mistakes them
  for real ones;
- a CSR's signature is a digest of its body under the key's public id: it
  shows the request is intact (proof of possession is not modelled);
- a certificate's signature is an HMAC keyed with a secret derived from the
  CA's private key, so only the holder of the real CA key can issue one; the
  control plane, which holds that key, checks it in place of the public-key
  check and gives Go's texts for the outcomes.

The cluster CA, the serving certificate, JWS signatures and pins stay real.
The signer's policy (serial, validity, usages, errors) is ``pki.sign_csr``'s,
shared by both modes. Records are parsed once per distinct byte string.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import functools
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Final, Sequence

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from .errors import X509_EXPIRED_PREFIX, X509_UNKNOWN_AUTHORITY, CryptoError
from .keys import PrivateKey, ecdsa_scalar
from .rng import Rng

__all__ = [
    "CERTIFICATE", "KEY", "REQUEST", "ModeledCertificate", "ModeledKey", "ModeledRequest", "create_request",
    "generate_key", "is_modeled", "issue", "parse_certificate", "parse_key", "parse_request", "verify_certificate",
]

REQUEST: Final = "MODELED CERTIFICATE REQUEST"
CERTIFICATE: Final = "MODELED CERTIFICATE"
KEY: Final = "MODELED EC PRIVATE KEY"
_MARK: Final = b"-----BEGIN MODELED "
_TIME: Final = "%Y-%m-%dT%H:%M:%SZ"


def is_modeled(data: bytes | None) -> bool:
    """Tell whether PEM bytes begin with a modeled block (a record of this model, not X.509)."""
    return data is not None and data.lstrip().startswith(_MARK)


def _armour(kind: str, record: dict[str, Any]) -> bytes:
    body = base64.b64encode(json.dumps(record, sort_keys=True, separators=(",", ":")).encode())
    lines = b"\n".join(body[i:i + 64] for i in range(0, len(body), 64))
    return b"-----BEGIN " + kind.encode() + b"-----\n" + lines + b"\n-----END " + kind.encode() + b"-----\n"


def _unarmour(kind: str, data: bytes) -> dict[str, Any]:
    """Return the record of the first block of this type; raise CryptoError when there is none."""
    begin, end = b"-----BEGIN " + kind.encode() + b"-----", b"-----END " + kind.encode() + b"-----"
    start = data.find(begin)
    stop = data.find(end, start + len(begin))
    if start < 0 or stop < 0:
        raise CryptoError(f"no {kind} PEM block")
    try:
        record = json.loads(base64.b64decode(b"".join(data[start + len(begin):stop].split()), validate=True))
    except (binascii.Error, ValueError) as exc:
        raise CryptoError(f"malformed {kind}: {exc}") from exc
    if not isinstance(record, dict):
        raise CryptoError(f"malformed {kind}")
    return record


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def _strings(record: dict[str, Any], name: str) -> tuple[str, ...]:
    value = record.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CryptoError(f"malformed field {name}")
    return tuple(value)


def _names_record(named: ModeledRequest | ModeledCertificate) -> dict[str, Any]:
    """Return the subject and SANs of a request or certificate as their record fields."""
    return {"cn": named.common_name, "o": list(named.organizations), "dns": list(named.dns_names),
            "email": list(named.emails), "ip": list(named.ip_addresses), "uri": list(named.uris)}


def _names_fields(record: dict[str, Any]) -> dict[str, Any]:
    """Return the subject and SANs of a record as keyword arguments (``_names_record`` reversed)."""
    return {"common_name": str(record["cn"]), "organizations": _strings(record, "o"),
            "dns_names": _strings(record, "dns"), "emails": _strings(record, "email"),
            "ip_addresses": _strings(record, "ip"), "uris": _strings(record, "uri")}


# --- keys ---------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ModeledKey:
    """Hold an ECDSA P-256 private scalar without its public point (what ``GenerateKey`` gives in this mode)."""

    scalar: int
    key_type: str = "ecdsa"

    @property
    def public_id(self) -> str:
        """Return the key's public identity: a digest of the scalar (stands in for the public point)."""
        return _digest("modeled public key", self.key_type, str(self.scalar))[:32]

    def pem(self) -> bytes:
        """Return the key as the PEM the kubelet stores next to its certificate."""
        return _armour(KEY, {"type": self.key_type, "scalar": format(self.scalar, "x")})


def generate_key(rng: Rng) -> ModeledKey:
    """Draw a key exactly as the real backend draws an ECDSA key (so the generator stays in step)."""
    return ModeledKey(scalar=ecdsa_scalar(rng))


def parse_key(data: bytes) -> ModeledKey:
    """Load a modeled key; raise CryptoError (a ValueError) when the bytes are not one."""
    record = _unarmour(KEY, data)
    try:
        return ModeledKey(scalar=int(str(record["scalar"]), 16), key_type=str(record["type"]))
    except (KeyError, ValueError) as exc:
        raise CryptoError(f"malformed {KEY}") from exc


# --- requests -----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class ModeledRequest:
    """Hold what a kubelet's PKCS#10 request says: the subject, the SANs, the key and an integrity digest."""

    common_name: str
    organizations: tuple[str, ...] = ()
    dns_names: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    ip_addresses: tuple[str, ...] = ()
    uris: tuple[str, ...] = ()
    key_type: str = "ecdsa"
    public_key: str = ""
    signature: str = ""

    def _body(self) -> dict[str, Any]:
        return {**_names_record(self), "keyType": self.key_type, "publicKey": self.public_key}

    def expected_signature(self) -> str:
        """Return the digest a request with this body carries when nobody altered it."""
        return _digest("modeled csr", self.public_key, json.dumps(self._body(), sort_keys=True))

    @property
    def signature_valid(self) -> bool:
        """Tell whether the request is intact (stands in for the PKCS#10 self-signature check)."""
        return hmac.compare_digest(self.signature, self.expected_signature())

    def pem(self) -> bytes:
        """Return the request in its PEM armour."""
        return _armour(REQUEST, {**self._body(), "signature": self.signature})


def create_request(key: ModeledKey, *, common_name: str, organizations: Sequence[str] = (),
                   dns_names: Sequence[str] = (), ip_addresses: Sequence[str] = ()) -> bytes:
    """Return a modeled CSR for ``key`` (what ``CreateCSR`` gives in this mode)."""
    unsigned = ModeledRequest(common_name=common_name, organizations=tuple(organizations),
                              dns_names=tuple(dns_names), ip_addresses=tuple(ip_addresses),
                              key_type=key.key_type, public_key=key.public_id)
    return dataclasses.replace(unsigned, signature=unsigned.expected_signature()).pem()


@functools.lru_cache(maxsize=4096)
def parse_request(data: bytes) -> ModeledRequest:
    """Load a modeled CSR; raise CryptoError when the bytes are not one."""
    record = _unarmour(REQUEST, data)
    try:
        return ModeledRequest(**_names_fields(record), key_type=str(record["keyType"]),
                              public_key=str(record["publicKey"]), signature=str(record["signature"]))
    except KeyError as exc:
        raise CryptoError(f"malformed {REQUEST}: missing {exc}") from exc


# --- certificates -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class ModeledCertificate:
    """Hold what a client certificate says: subject, SANs, key, validity, usages, issuer and the CA's MAC."""

    common_name: str
    organizations: tuple[str, ...]
    dns_names: tuple[str, ...]
    emails: tuple[str, ...]
    ip_addresses: tuple[str, ...]
    uris: tuple[str, ...]
    public_key: str
    serial: int
    not_before: datetime
    not_after: datetime
    key_usages: tuple[str, ...]
    ext_key_usages: tuple[str, ...]
    issuer: str
    signature: str = ""

    @property
    def not_valid_before_utc(self) -> datetime:
        """Return NotBefore (named as ``x509.Certificate`` names it)."""
        return self.not_before

    @property
    def not_valid_after_utc(self) -> datetime:
        """Return NotAfter (named as ``x509.Certificate`` names it)."""
        return self.not_after

    def _body(self) -> dict[str, Any]:
        return {**_names_record(self), "publicKey": self.public_key, "serial": format(self.serial, "x"),
                "notBefore": self.not_before.strftime(_TIME), "notAfter": self.not_after.strftime(_TIME),
                "keyUsages": list(self.key_usages), "extKeyUsages": list(self.ext_key_usages), "issuer": self.issuer}

    def tbs(self) -> bytes:
        """Return the to-be-signed bytes the CA's MAC covers."""
        return json.dumps(self._body(), sort_keys=True, separators=(",", ":")).encode()

    def pem(self) -> bytes:
        """Return the certificate in its PEM armour."""
        return _armour(CERTIFICATE, {**self._body(), "signature": self.signature})


@functools.lru_cache(maxsize=64)
def _ca_secret(ca_key: PrivateKey) -> bytes:
    """Derive the MAC key of a CA from its private key (cached: one serialization per CA)."""
    der = ca_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                               serialization.NoEncryption())
    return hashlib.sha256(b"joinsim modeled certificate signature\x00" + der).digest()


@functools.lru_cache(maxsize=64)
def _issuer_name(ca_cert: x509.Certificate) -> str:
    return ca_cert.subject.rfc4514_string()


def issue(ca_cert: x509.Certificate, ca_key: PrivateKey, request: ModeledRequest, *, serial: int,
          not_before: datetime, not_after: datetime, key_usages: Sequence[str],
          ext_key_usages: Sequence[str]) -> ModeledCertificate:
    """Issue a modeled certificate for a request, MACed with the CA's derived secret (policy is the caller's)."""
    unsigned = ModeledCertificate(
        common_name=request.common_name, organizations=request.organizations, dns_names=request.dns_names,
        emails=request.emails, ip_addresses=request.ip_addresses, uris=request.uris, public_key=request.public_key,
        serial=serial, not_before=not_before.replace(microsecond=0), not_after=not_after.replace(microsecond=0),
        key_usages=tuple(key_usages), ext_key_usages=tuple(ext_key_usages), issuer=_issuer_name(ca_cert))
    mac = hmac.new(_ca_secret(ca_key), unsigned.tbs(), hashlib.sha256).hexdigest()
    return dataclasses.replace(unsigned, signature=mac)


def _time(value: Any) -> datetime:
    return datetime.fromisoformat(str(value)).astimezone(timezone.utc)


@functools.lru_cache(maxsize=4096)
def parse_certificate(data: bytes) -> ModeledCertificate:
    """Load a modeled certificate; raise CryptoError (a ValueError) when the bytes are not one."""
    record = _unarmour(CERTIFICATE, data)
    try:
        return ModeledCertificate(
            **_names_fields(record), public_key=str(record["publicKey"]), serial=int(str(record["serial"]), 16),
            not_before=_time(record["notBefore"]), not_after=_time(record["notAfter"]),
            key_usages=_strings(record, "keyUsages"), ext_key_usages=_strings(record, "extKeyUsages"),
            issuer=str(record["issuer"]), signature=str(record["signature"]))
    except (KeyError, ValueError) as exc:
        raise CryptoError(f"malformed {CERTIFICATE}") from exc


def verify_certificate(cert: ModeledCertificate, ca_cert: x509.Certificate, ca_key: PrivateKey,
                       now: datetime) -> str | None:
    """Check a modeled certificate against the CA as Go's x509.Verify would; return its error text or None."""
    prefix = X509_EXPIRED_PREFIX
    stamp = now.astimezone(timezone.utc).strftime(_TIME)
    if now < cert.not_before:
        return f"{prefix} {stamp} is before {cert.not_before.strftime(_TIME)}"
    if now > cert.not_after:
        return f"{prefix} {stamp} is after {cert.not_after.strftime(_TIME)}"
    mac = hmac.new(_ca_secret(ca_key), cert.tbs(), hashlib.sha256).hexdigest()
    if cert.issuer != _issuer_name(ca_cert) or not hmac.compare_digest(mac, cert.signature):
        return X509_UNKNOWN_AUTHORITY
    return None
