"""Pin CA public keys the way ``--discovery-token-ca-cert-hash`` does.

How this works: a pin is ``sha256:<hex>``, the SHA-256 of the DER
SubjectPublicKeyInfo of a CA certificate (not of the whole certificate, so a
re-issued CA with the same key keeps its pin). During token discovery kubeadm
parses every pin first (one bad pin fails the join even if another is good),
then accepts the cluster-info CA bundle if any certificate in it is pinned.
Upstream: cmd/kubeadm/app/util/pubkeypin/pubkeypin.go.
"""

from __future__ import annotations

import functools
import hashlib
from typing import TYPE_CHECKING, Iterable

from sim.protocol.errors import PinError, go_quote

if TYPE_CHECKING:
    # Only for hints: importing cryptography.x509 loads email.utils, hence socket and random.
    from cryptography import x509

__all__ = ["PinSet", "certificate_pin", "subject_public_key_info"]

# pubkeypin.go formatSHA256 / supportedFormats
PIN_FORMAT_SHA256 = "sha256"
PIN_SUPPORTED_FORMATS = "sha256"
# crypto/sha256.Size
SHA256_SIZE = 32
# encoding/hex ErrLength
HEX_ERR_LENGTH = "encoding/hex: odd length hex string"

_HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")


def _der_element(der: bytes, pos: int) -> tuple[int, int, int]:
    """Return (tag, start of content, end of element) of the DER element at ``pos``."""
    tag, first = der[pos], der[pos + 1]
    if first < 0x80:
        return tag, pos + 2, pos + 2 + first
    count = first & 0x7F
    length = int.from_bytes(der[pos + 2 : pos + 2 + count], "big")
    start = pos + 2 + count
    return tag, start, start + length


@functools.lru_cache(maxsize=256)
def subject_public_key_info(cert: x509.Certificate) -> bytes:
    """Return the certificate's SubjectPublicKeyInfo exactly as encoded in it.

    Go hashes ``cert.RawSubjectPublicKeyInfo``, the original bytes. Re-encoding
    the parsed key could differ for unusual encodings, so this walks the
    TBSCertificate: [0] version (optional), serial, signature algorithm,
    issuer, validity, subject, then the SubjectPublicKeyInfo.
    """
    tbs = cert.tbs_certificate_bytes
    _, pos, _ = _der_element(tbs, 0)
    tag, _, end = _der_element(tbs, pos)
    if tag == 0xA0:
        pos = end
    for _ in range(5):
        pos = _der_element(tbs, pos)[2]
    return tbs[pos : _der_element(tbs, pos)[2]]


def certificate_pin(cert: x509.Certificate) -> str:
    """Return ``sha256:<lowercase hex>`` of the certificate's SubjectPublicKeyInfo."""
    digest = hashlib.sha256(subject_public_key_info(cert)).hexdigest()
    return f"{PIN_FORMAT_SHA256}:{digest}"


def _go_hex_error(raw: bytes) -> str | None:
    """Return the error Go's ``hex.DecodeString`` gives for ``raw``, or None.

    Go reports the first invalid byte (as a rune, with ``%#U``) before it
    reports an odd length, so ``"abg"`` fails on ``g``, not on its length.
    """
    for byte in raw:
        if byte not in _HEX_DIGITS:
            return _invalid_byte(byte)
    return HEX_ERR_LENGTH if len(raw) % 2 else None


def _invalid_byte(byte: int) -> str:
    """Format ``hex.InvalidByteError``: ``%#U`` of the byte taken as a rune."""
    char = chr(byte)
    shown = f" '{char}'" if char.isprintable() else ""
    return f"encoding/hex: invalid byte: U+{byte:04X}{shown}"


class PinSet:
    """Hold the allowed CA key pins of one join; empty means unsafe-skip."""

    __slots__ = ("_hashes",)

    def __init__(self, *pins: str) -> None:
        self._hashes: set[str] = set()
        self.allow(*pins)

    def allow(self, *pins: str) -> None:
        """Add pins in order, stopping at the first bad one.

        Pins added before the failure stay in the set, as upstream's ``Allow``
        leaves them in its map.
        """
        for pin in pins:
            parts = pin.split(":")
            if len(parts) != 2:
                raise PinError(
                    'invalid hash, expected "format:hex-value". '
                    f"Known format(s) are: {PIN_SUPPORTED_FORMATS}"
                )
            fmt, value = parts
            if fmt.lower() != PIN_FORMAT_SHA256:
                raise PinError(
                    f"unknown hash format {go_quote(fmt)}. Known format(s) are: {PIN_SUPPORTED_FORMATS}"
                )
            problem = self._sha256_problem(value)
            if problem is not None:
                raise PinError(f"invalid hash {go_quote(pin)}, {problem}")
            self._hashes.add(value.lower())

    @staticmethod
    def _sha256_problem(value: str) -> str | None:
        """Return why ``value`` is not a SHA-256 hex digest, in upstream's words."""
        raw = value.encode()
        decoded_len = len(raw) // 2  # hex.DecodedLen
        if decoded_len != SHA256_SIZE:
            return f"expected a {SHA256_SIZE} byte SHA-256 hash, found {decoded_len} bytes"
        error = _go_hex_error(raw)
        if error is not None:
            return f"could not decode SHA-256 from hex: {error}"
        return None

    def check_any(self, certs: Iterable[x509.Certificate]) -> None:
        """Pass if any certificate is pinned, else name every key's pin.

        The pins of all certificates are joined with ``:`` and the whole list
        is quoted once, as upstream formats it with ``%q``.
        """
        seen: list[str] = []
        for cert in certs:
            digest = hashlib.sha256(subject_public_key_info(cert)).hexdigest()
            if digest in self._hashes:
                return
            seen.append(f"{PIN_FORMAT_SHA256}:{digest}")
        raise PinError(f"none of the public keys {go_quote(':'.join(seen))} are pinned")

    @property
    def empty(self) -> bool:
        """Tell whether no pin was allowed (the unsafe-skip path of discovery)."""
        return not self._hashes

    @property
    def pins(self) -> frozenset[str]:
        """Return the allowed pins in canonical ``sha256:<lowercase hex>`` form."""
        return frozenset(f"{PIN_FORMAT_SHA256}:{h}" for h in self._hashes)

    def __repr__(self) -> str:
        return f"PinSet({', '.join(sorted(self.pins))})"
