"""Describe certificates and CSRs field by field, in the words a TLS textbook uses.

Why: a notebook that says "the signer issued a client certificate" should
let the reader check it: who it names, who signed it, from when to when,
what it may be used for. These functions turn the parsed objects into rows
of (field, value) that print as an aligned table, without reading openssl's
long text output.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Sequence

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

__all__ = ["describe_certificate", "describe_csr", "describe_name", "describe_public_key", "format_rows"]

Rows = list[tuple[str, str]]

_KEY_USAGE_NAMES = (
    ("digital_signature", "digital signature"), ("content_commitment", "content commitment"),
    ("key_encipherment", "key encipherment"), ("data_encipherment", "data encipherment"),
    ("key_agreement", "key agreement"), ("key_cert_sign", "cert sign"), ("crl_sign", "crl sign"),
)


def describe_name(name: x509.Name) -> str:
    """Return a distinguished name in encoding order, ``O=system:nodes, CN=system:node:node-1``."""
    parts = []
    for attribute in name:
        label = attribute.rfc4514_attribute_name
        value = attribute.value if isinstance(attribute.value, str) else attribute.value.hex()
        parts.append(f"{label}={value}")
    return ", ".join(parts) or "(empty)"


def describe_public_key(key: object) -> str:
    """Name a public key's algorithm and size: ``ECDSA P-256`` or ``RSA 2048 bits``."""
    if isinstance(key, ec.EllipticCurvePublicKey):
        curve = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}.get(key.curve.name, key.curve.name)
        return f"ECDSA {curve}"
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA {key.key_size} bits"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519"
    return type(key).__name__


def _key_usage(usage: x509.KeyUsage) -> str:
    return ", ".join(label for attr, label in _KEY_USAGE_NAMES if getattr(usage, attr))


def _eku(usage: x509.ExtendedKeyUsage) -> str:
    return ", ".join(getattr(oid, "_name", oid.dotted_string) for oid in usage)


def _extension(ext: x509.Extension[x509.ExtensionType]) -> tuple[str, str]:
    """Return one extension as a row, ``(critical)`` appended when it is."""
    value = ext.value
    if isinstance(value, x509.KeyUsage):
        label, text = "key usage", _key_usage(value)
    elif isinstance(value, x509.ExtendedKeyUsage):
        label, text = "extended key usage", _eku(value)
    elif isinstance(value, x509.BasicConstraints):
        label, text = "basic constraints", f"CA:{'TRUE' if value.ca else 'FALSE'}" + (
            f", pathlen:{value.path_length}" if value.path_length is not None else "")
    elif isinstance(value, x509.SubjectAlternativeName):
        label, text = "subject alt names", ", ".join(str(n.value) for n in value)
    elif isinstance(value, x509.AuthorityKeyIdentifier):
        label, text = "authority key id", (value.key_identifier or b"").hex(":")
    elif isinstance(value, x509.SubjectKeyIdentifier):
        label, text = "subject key id", value.digest.hex(":")
    else:
        label, text = getattr(ext.oid, "_name", ext.oid.dotted_string), type(value).__name__
    return label, text + (" (critical)" if ext.critical else "")


def _duration(delta: timedelta) -> str:
    days, rest = divmod(int(delta.total_seconds()), 86400)
    hours, rest = divmod(rest, 3600)
    return f"{days} d {hours} h {rest // 60} min"


def describe_certificate(cert: x509.Certificate) -> Rows:
    """Return a certificate's fields as rows: names, validity, key, signature and every extension."""
    rows: Rows = [
        ("subject", describe_name(cert.subject)),
        ("issuer", describe_name(cert.issuer)),
        ("serial", f"{cert.serial_number:x}"),
        ("not before", cert.not_valid_before_utc.isoformat()),
        ("not after", cert.not_valid_after_utc.isoformat()),
        ("valid for", _duration(cert.not_valid_after_utc - cert.not_valid_before_utc)),
        ("public key", describe_public_key(cert.public_key())),
        ("signature", getattr(cert.signature_algorithm_oid, "_name", cert.signature_algorithm_oid.dotted_string)),
    ]
    rows += [_extension(ext) for ext in cert.extensions]
    return rows


def describe_csr(csr: x509.CertificateSigningRequest) -> Rows:
    """Return a CSR's fields as rows: the subject asked for, the key, and the proof of possession."""
    rows: Rows = [
        ("subject", describe_name(csr.subject)),
        ("public key", describe_public_key(csr.public_key())),
        ("signature", getattr(csr.signature_algorithm_oid, "_name", csr.signature_algorithm_oid.dotted_string)),
        ("signature valid", "yes (signed by the key it carries)" if csr.is_signature_valid else "NO"),
    ]
    extensions = [_extension(ext) for ext in csr.extensions]
    return rows + (extensions or [("extensions", "(none)")])


def format_rows(rows: Sequence[tuple[str, str]]) -> str:
    """Align rows as ``field : value`` lines, for printing in a notebook."""
    width = max((len(field) for field, _ in rows), default=0)
    return "\n".join(f"{field:<{width}} : {value}" for field, value in rows)
