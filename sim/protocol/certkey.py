"""Encrypt the control-plane certificates for ``--certificate-key`` (the kubeadm-certs Secret).

How this works: ``kubeadm init --upload-certs`` encrypts each shared CA file with
AES-256-GCM under a random 32-byte key shown as 64 hex characters, and stores
``nonce || ciphertext || tag`` in ``kube-system/kubeadm-certs``, owned by a
short-lived bootstrap token Secret so the garbage collector removes it with the
token. A joining control plane decodes the key and decrypts every entry.

Upstream: cmd/kubeadm/app/phases/copycerts/copycerts.go (Secret layout, error
wrapping), cmd/kubeadm/app/util/crypto/crypto.go (EncryptBytes/DecryptBytes),
cmd/kubeadm/app/apis/kubeadm/validation/validation.go (ValidateCertificateKey),
Go encoding/hex (error texts).
"""

from __future__ import annotations

import base64
import binascii
import unicodedata
from typing import Any, Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .constants import CERTIFICATE_KEY_SIZE, KUBE_SYSTEM_NAMESPACE, KUBEADM_CERTS_SECRET
from .errors import CertificateKeyError, wrap
from .objects import secret
from .rng import Rng

# Go crypto/cipher gcmStandardNonceSize
GCM_NONCE_SIZE = 12
# Go crypto/cipher errOpen
GCM_AUTH_FAILED = "cipher: message authentication failed"
# cmd/kubeadm/app/phases/copycerts/copycerts.go DownloadCerts
DECODE_WRAP = "error decoding secret data with provided key"
_HEX = "0123456789abcdefABCDEF"


def _go_rune(value: int) -> str:
    """Format a rune as Go's ``%#U`` does: ``U+0067 'g'`` when printable, else ``U+0007``."""
    char = chr(value)
    printable = char == " " or unicodedata.category(char)[0] in "LMNPS"
    return f"U+{value:04X} '{char}'" if printable else f"U+{value:04X}"


def _hex_decode(text: str) -> bytes:
    """Decode hex with Go's encoding/hex rules and error texts (invalid byte before odd length)."""
    raw = text.encode()
    for byte in raw:  # Go checks every byte, pairs first, before it reports an odd length
        if chr(byte) not in _HEX:
            raise CertificateKeyError(f"encoding/hex: invalid byte: {_go_rune(byte)}")
    if len(raw) % 2:
        raise CertificateKeyError("encoding/hex: odd length hex string")
    return bytes.fromhex(text)


def generate_certificate_key(rng: Rng) -> str:
    """Return a new certificate key: 32 bytes from the rng as 64 lowercase hex characters."""
    return rng.randbytes(CERTIFICATE_KEY_SIZE).hex()


def decode_certificate_key(key: str) -> bytes:
    """Decode and size-check a ``--certificate-key`` as ValidateCertificateKey does."""
    try:
        decoded = _hex_decode(key)
    except CertificateKeyError as exc:
        raise CertificateKeyError(wrap("certificate key decoding error", exc)) from exc
    if len(decoded) != CERTIFICATE_KEY_SIZE:
        raise CertificateKeyError(
            f"invalid certificate key size {len(decoded)}, the key must be an AES key of size {CERTIFICATE_KEY_SIZE}")
    return decoded


def _cipher(key: bytes) -> AESGCM:
    if len(key) not in (16, 24, 32):
        raise CertificateKeyError(f"crypto/aes: invalid key size {len(key)}")
    return AESGCM(key)


def encrypt(data: bytes, key: bytes, rng: Rng) -> bytes:
    """Seal ``data`` with AES-GCM under a 12-byte rng nonce; return ``nonce || ciphertext || tag``."""
    aead = _cipher(key)
    nonce = rng.randbytes(GCM_NONCE_SIZE)
    return nonce + aead.encrypt(nonce, data, None)


def decrypt(data: bytes, key: bytes) -> bytes:
    """Open a value made by :func:`encrypt`, with DecryptBytes' error texts."""
    aead = _cipher(key)
    if len(data) < GCM_NONCE_SIZE:
        raise CertificateKeyError("size of data is less than the nonce")
    try:
        return aead.decrypt(data[:GCM_NONCE_SIZE], data[GCM_NONCE_SIZE:], None)
    except InvalidTag:
        raise CertificateKeyError(GCM_AUTH_FAILED) from None


def secret_key_name(file_name: str) -> str:
    """Map a PKI file name to its Secret key (certOrKeyNameToSecretName: "/" becomes "-")."""
    return file_name.replace("/", "-")


def kubeadm_certs_secret(files: Mapping[str, bytes | None], key: bytes, rng: Rng,
                         owner: Mapping[str, str] | None) -> dict[str, Any]:
    """Build the kube-system/kubeadm-certs Secret as UploadCerts does.

    Files are encrypted in the mapping's order, so the rng is consumed in a
    fixed order (upstream walks a Go map). ``None`` or ``b""`` stands for a file
    missing on disk and is stored as an empty value.
    """
    data = {secret_key_name(name): encrypt(content, key, rng) if content else b""
            for name, content in files.items()}
    obj = secret(KUBEADM_CERTS_SECRET, KUBE_SYSTEM_NAMESPACE, data)
    if owner is not None:
        # metav1.NewControllerRef(secret, {Version: "v1", Kind: "Secret"})
        obj["metadata"]["ownerReferences"] = [{
            "apiVersion": "v1", "kind": "Secret", "name": owner["name"], "uid": owner["uid"],
            "controller": True, "blockOwnerDeletion": True,
        }]
    return obj


def decode_kubeadm_certs_secret(secret_obj: Mapping[str, Any], key: bytes) -> dict[str, bytes]:
    """Decrypt every non-empty entry of kubeadm-certs; any failure returns nothing (getDataFromSecret)."""
    out: dict[str, bytes] = {}
    for name, value in (secret_obj.get("data") or {}).items():
        try:
            sealed = base64.b64decode(value, validate=True)
            if sealed:
                out[name] = decrypt(sealed, key)
        except (binascii.Error, ValueError, TypeError) as exc:
            raise CertificateKeyError(wrap(DECODE_WRAP, exc)) from exc
    return out
