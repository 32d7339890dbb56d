"""Check that openssl's pin pipeline agrees with ours, and that a missing openssl is no error."""

from __future__ import annotations

import random
import shutil
from datetime import datetime, timezone

import pytest

from sim.protocol import pins, pki
from sim.teach.openssl import openssl_pin, openssl_text

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")


@needs_openssl
@pytest.mark.parametrize("key_type", [pytest.param("ecdsa", id="valid: ECDSA CA"),
                                      pytest.param("rsa", id="valid: RSA CA")])
def test_openssl_pin_matches_certificate_pin(key_type: str) -> None:
    ca = pki.create_ca(now=NOW, key_type=key_type)
    assert openssl_pin(ca.cert_pem) == pins.certificate_pin(ca.cert)


@needs_openssl
@pytest.mark.parametrize("kind, expected", [pytest.param("x509", "Subject: CN", id="valid: a certificate"),
                                            pytest.param("req", "Certificate Request", id="valid: a CSR")])
def test_openssl_text(kind: str, expected: str) -> None:
    ca = pki.create_ca(now=NOW, rng=random.Random(1), key_type="ecdsa")
    pem = ca.cert_pem if kind == "x509" else pki.build_csr(ca.key, common_name="x")
    text = openssl_text(pem, kind=kind)
    assert text is not None and expected in text


@pytest.mark.parametrize("call", [pytest.param(lambda pem: openssl_pin(pem, openssl="no-such-openssl"),
                                               id="invalid: pin without openssl"),
                                  pytest.param(lambda pem: openssl_text(pem, openssl="no-such-openssl"),
                                               id="invalid: text without openssl")])
def test_missing_openssl_gives_none(call: object) -> None:
    assert callable(call) and call(b"") is None


def test_openssl_text_rejects_an_unknown_kind() -> None:
    with pytest.raises(ValueError, match="kind must be"):
        openssl_text(b"", kind="pkey")
