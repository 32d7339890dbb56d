"""Ask the openssl command line for a CA pin, to check our own pin against an independent tool.

Why: ``--discovery-token-ca-cert-hash`` is documented as the SHA-256 of the
CA's SubjectPublicKeyInfo, and administrators compute it with an openssl
pipeline. Running that same pipeline on our CA shows the pin is not a
joinsim invention. openssl is optional: without it the functions return None
and a notebook says so instead of failing.
"""

from __future__ import annotations

import shutil
import subprocess

__all__ = ["OPENSSL_PIN_PIPELINE", "openssl_pin", "openssl_text"]

OPENSSL_PIN_PIPELINE = ("openssl x509 -pubkey -noout -in ca.crt | openssl pkey -pubin -outform der "
                        "| openssl dgst -sha256 -hex")
"""The shell pipeline ``openssl_pin`` runs, stage by stage, for showing to a reader."""


def _run(args: list[str], data: bytes) -> bytes:
    return subprocess.run(args, input=data, capture_output=True, check=True, timeout=30).stdout


def openssl_pin(cert_pem: bytes, *, openssl: str = "openssl") -> str | None:
    """Return ``sha256:<hex>`` of the certificate's public key as computed by openssl, or None without it.

    The three stages are those of ``OPENSSL_PIN_PIPELINE``: extract the
    public key as PEM, re-encode it as DER SubjectPublicKeyInfo, hash it.
    """
    exe = shutil.which(openssl)
    if exe is None:
        return None
    public_pem = _run([exe, "x509", "-pubkey", "-noout"], cert_pem)
    der = _run([exe, "pkey", "-pubin", "-outform", "der"], public_pem)
    digest = _run([exe, "dgst", "-sha256", "-hex"], der).decode().strip()
    return "sha256:" + digest.rsplit("= ", 1)[-1]  # "SHA2-256(stdin)= <hex>" or "(stdin)= <hex>"


def openssl_text(pem: bytes, *, kind: str = "x509", openssl: str = "openssl") -> str | None:
    """Return openssl's ``-noout -text`` dump of a certificate (``x509``) or CSR (``req``), or None without it."""
    if kind not in ("x509", "req"):
        raise ValueError(f"kind must be 'x509' or 'req', not {kind!r}")
    exe = shutil.which(openssl)
    if exe is None:
        return None
    return _run([exe, kind, "-noout", "-text"], pem).decode()
