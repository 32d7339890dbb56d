"""Check --certificate-key handling and the kubeadm-certs Secret against copycerts.go (PROTOCOL 8.4)."""

from __future__ import annotations

import base64
import random

import pytest

from sim.protocol import certkey
from sim.protocol.constants import KUBEADM_CERTS_FILES
from sim.protocol.errors import CertificateKeyError

KEY = bytes(range(32))
FILES: dict[str, bytes | None] = {name: f"contents of {name}".encode() for name in KUBEADM_CERTS_FILES}
FILES["sa.pub"] = None
FILES["etcd/ca.key"] = b""


def test_generate_certificate_key_is_64_hex_and_seeded() -> None:
    key = certkey.generate_certificate_key(random.Random(5))
    assert len(key) == 64 and key == key.lower() and key == certkey.generate_certificate_key(random.Random(5))
    assert certkey.decode_certificate_key(key) == bytes.fromhex(key)


@pytest.mark.parametrize("key, expected", [
    ("00" * 32, bytes(32)),
    ("AbCdEf" + "00" * 29, bytes.fromhex("abcdef") + bytes(29)),
    ("g" + "0" * 63, "certificate key decoding error: encoding/hex: invalid byte: U+0067 'g'"),
    ("0" * 63, "certificate key decoding error: encoding/hex: odd length hex string"),
    ("0" * 62 + "z", "certificate key decoding error: encoding/hex: invalid byte: U+007A 'z'"),
    ("0" * 62 + "\u00e9", "certificate key decoding error: encoding/hex: invalid byte: U+00C3 'Ã'"),
    ("0" * 62 + "\n0", "certificate key decoding error: encoding/hex: invalid byte: U+000A"),
    ("00" * 16, "invalid certificate key size 16, the key must be an AES key of size 32"),
    ("", "invalid certificate key size 0, the key must be an AES key of size 32"),
], ids=["valid: zeros", "valid: upper case accepted", "invalid: non-hex letter", "invalid: odd length",
        "invalid: bad last char beats odd length", "invalid: non-ascii reports first byte",
        "invalid: control char has no glyph", "invalid: AES-128 size", "invalid: empty"])
def test_decode_certificate_key(key: str, expected: bytes | str) -> None:
    if isinstance(expected, bytes):
        assert certkey.decode_certificate_key(key) == expected
    else:
        with pytest.raises(CertificateKeyError) as err:
            certkey.decode_certificate_key(key)
        assert str(err.value) == expected


def test_encrypt_layout_and_round_trip() -> None:
    sealed = certkey.encrypt(b"secret", KEY, random.Random(3))
    assert sealed[:12] == random.Random(3).randbytes(12)
    assert len(sealed) == 12 + len(b"secret") + 16
    assert certkey.decrypt(sealed, KEY) == b"secret"
    assert certkey.encrypt(b"secret", KEY, random.Random(3)) == sealed


@pytest.mark.parametrize("data, key, message", [
    (b"", KEY, "size of data is less than the nonce"),
    (b"x" * 11, KEY, "size of data is less than the nonce"),
    (b"x" * 12, KEY, "cipher: message authentication failed"),
    (None, bytes(32), "cipher: message authentication failed"),
    (None, b"short", "crypto/aes: invalid key size 5"),
], ids=["invalid: empty", "invalid: shorter than nonce", "invalid: nonce only", "invalid: wrong key",
        "invalid: bad key size"])
def test_decrypt_errors(data: bytes | None, key: bytes, message: str) -> None:
    sealed = data if data is not None else certkey.encrypt(b"payload", KEY, random.Random(1))
    with pytest.raises(CertificateKeyError) as err:
        certkey.decrypt(sealed, key)
    assert str(err.value) == message


def test_kubeadm_certs_secret_layout() -> None:
    owner = {"name": "bootstrap-token-abcdef", "uid": "1234"}
    obj = certkey.kubeadm_certs_secret(FILES, KEY, random.Random(9), owner)
    assert (obj["apiVersion"], obj["kind"], obj["type"]) == ("v1", "Secret", "Opaque")
    assert obj["metadata"]["name"] == "kubeadm-certs" and obj["metadata"]["namespace"] == "kube-system"
    assert obj["metadata"]["ownerReferences"] == [{
        "apiVersion": "v1", "kind": "Secret", "name": "bootstrap-token-abcdef", "uid": "1234",
        "controller": True, "blockOwnerDeletion": True}]
    assert list(obj["data"]) == ["ca.crt", "ca.key", "front-proxy-ca.crt", "front-proxy-ca.key", "sa.pub", "sa.key",
                                 "etcd-ca.crt", "etcd-ca.key"]
    assert obj["data"]["sa.pub"] == "" and obj["data"]["etcd-ca.key"] == ""
    assert obj == certkey.kubeadm_certs_secret(FILES, KEY, random.Random(9), owner)
    assert "ownerReferences" not in certkey.kubeadm_certs_secret(FILES, KEY, random.Random(9), None)["metadata"]


def test_decode_round_trip_skips_empty_values() -> None:
    obj = certkey.kubeadm_certs_secret(FILES, KEY, random.Random(9), None)
    decoded = certkey.decode_kubeadm_certs_secret(obj, KEY)
    assert decoded == {certkey.secret_key_name(n): c for n, c in FILES.items() if c}
    assert "sa.pub" not in decoded and decoded["etcd-ca.crt"] == b"contents of etcd/ca.crt"


@pytest.mark.parametrize("mutate, message", [
    (lambda data: None, "error decoding secret data with provided key: cipher: message authentication failed"),
    (lambda data: data.update({"ca.crt": base64.b64encode(b"short").decode()}),
     "error decoding secret data with provided key: size of data is less than the nonce"),
], ids=["invalid: wrong key", "invalid: truncated entry"])
def test_decode_errors_give_no_partial_result(mutate: object, message: str) -> None:
    obj = certkey.kubeadm_certs_secret(FILES, KEY, random.Random(9), None)
    mutate(obj["data"])  # type: ignore[operator]
    key = bytes(32) if "authentication" in message else KEY
    with pytest.raises(CertificateKeyError) as err:
        certkey.decode_kubeadm_certs_secret(obj, key)
    assert str(err.value) == message
