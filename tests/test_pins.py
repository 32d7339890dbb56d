"""Check CA key pins against upstream's pubkeypin tests and the openssl pipeline."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from sim.protocol.errors import PinError
from sim.protocol.pins import PinSet, certificate_pin, subject_public_key_info

# Upstream cmd/kubeadm/app/util/pubkeypin/pubkeypin_test.go: testCertPEM and its expectedHash.
UPSTREAM_CERT_PEM = b"""-----BEGIN CERTIFICATE-----
MIIDRDCCAiygAwIBAgIJAJgVaCXvC6HkMA0GCSqGSIb3DQEBBQUAMB8xHTAbBgNV
BAMTFGt1YmVhZG0ta2V5cGlucy10ZXN0MCAXDTE3MDcwNTE3NDMxMFoYDzIxMTcw
NjExMTc0MzEwWjAfMR0wGwYDVQQDExRrdWJlYWRtLWtleXBpbnMtdGVzdDCCASIw
DQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEBAK0ba8mHU9UtYlzM1Own2Fk/XGjR
J4uJQvSeGLtz1hID1IA0dLwruvgLCPadXEOw/f/IWIWcmT+ZmvIHZKa/woq2iHi5
+HLhXs7aG4tjKGLYhag1hLjBI7icqV7ovkjdGAt9pWkxEzhIYClFMXDjKpMSynu+
YX6nZ9tic1cOkHmx2yiZdMkuriRQnpTOa7bb03OC1VfGl7gHlOAIYaj4539WCOr8
+ACTUMJUFEHcRZ2o8a/v6F9GMK+7SC8SJUI+GuroXqlMAdhEv4lX5Co52enYaClN
+D9FJLRpBv2YfiCQdJRaiTvCBSxEFz6BN+PtP5l2Hs703ZWEkOqCByM6HV8CAwEA
AaOBgDB+MB0GA1UdDgQWBBRQgUX8MhK2rWBWQiPHWcKzoWDH5DBPBgNVHSMESDBG
gBRQgUX8MhK2rWBWQiPHWcKzoWDH5KEjpCEwHzEdMBsGA1UEAxMUa3ViZWFkbS1r
ZXlwaW5zLXRlc3SCCQCYFWgl7wuh5DAMBgNVHRMEBTADAQH/MA0GCSqGSIb3DQEB
BQUAA4IBAQCaAUif7Pfx3X0F08cxhx8/Hdx4jcJw6MCq6iq6rsXM32ge43t8OHKC
pJW08dk58a3O1YQSMMvD6GJDAiAfXzfwcwY6j258b1ZlI9Ag0VokvhMl/XfdCsdh
AWImnL1t4hvU5jLaImUUMlYxMcSfHBGAm7WJIZ2LdEfg6YWfZh+WGbg1W7uxLxk6
y4h5rWdNnzBHWAGf7zJ0oEDV6W6RSwNXtC0JNnLaeIUm/6xdSddJlQPwUv8YH4jX
c1vuFqTnJBPcb7W//R/GI2Paicm1cmns9NLnPR35exHxFTy+D1yxmGokpoPMdife
aH+sfuxT8xeTPb3kjzF9eJTlnEquUDLM
-----END CERTIFICATE-----
"""
UPSTREAM_PIN = "sha256:345959acb2c3b2feb87d281961c893f62a314207ef02599f1cc4a5fb255480b3"

# Upstream testCert2PEM; its pin was computed here with the openssl pipeline.
UPSTREAM_CERT2_PEM = b"""-----BEGIN CERTIFICATE-----
MIID9jCCAt6gAwIBAgIJAN5MXZDic7qYMA0GCSqGSIb3DQEBBQUAMFkxCzAJBgNV
BAYTAkFVMRMwEQYDVQQIEwpTb21lLVN0YXRlMSEwHwYDVQQKExhJbnRlcm5ldCBX
aWRnaXRzIFB0eSBMdGQxEjAQBgNVBAMTCXRlc3RDZXJ0MjAgFw0xNzA3MjQxNjA0
MDFaGA8yMTE3MDYzMDE2MDQwMVowWTELMAkGA1UEBhMCQVUxEzARBgNVBAgTClNv
bWUtU3RhdGUxITAfBgNVBAoTGEludGVybmV0IFdpZGdpdHMgUHR5IEx0ZDESMBAG
A1UEAxMJdGVzdENlcnQyMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA
0brwpJYN2ytPWzRBtZSVc3dhkQlA59AzxzqeLLkano0Pxo9NIc3T/y58nnRI8uaS
I1P7BzUfJTiUEvmAtX8NggqKK4ld/gPrU+IRww1CUYS4KCkA/0d0ctPy0JwBCjD+
b57G3rmNE8c+0jns6J96ZzNtqmv6N+ZlFBAXm1p4S+k0kGi5+hoQ6H7SYXjk2lG+
r/8jPQEjy/NSdw1dcCA0Nc6o+hPr32927dS6J9KOhBeXNYUNdbuDDmroM9/gN2e/
YMSA1olLeDPQ7Xvhk0PIyEDnHh83AffPCx5yM3htVRGddjIsPAVUJEL3z5leJtxe
fzyPghOhHJY0PXqznDQTcwIDAQABo4G+MIG7MB0GA1UdDgQWBBRP0IJqv/5rQ4Uf
SByl77dJeEapRDCBiwYDVR0jBIGDMIGAgBRP0IJqv/5rQ4UfSByl77dJeEapRKFd
pFswWTELMAkGA1UEBhMCQVUxEzARBgNVBAgTClNvbWUtU3RhdGUxITAfBgNVBAoT
GEludGVybmV0IFdpZGdpdHMgUHR5IEx0ZDESMBAGA1UEAxMJdGVzdENlcnQyggkA
3kxdkOJzupgwDAYDVR0TBAUwAwEB/zANBgkqhkiG9w0BAQUFAAOCAQEA0RIMHc10
wHHPMh9UflqBgDMF7gfbOL0juJfGloAOcohWWfMZBBJ0CQKMy3xRyoK3HmbW1eeb
iATjesw7t4VEAwf7mgKAd+eTfWYB952uq5qYJ2TI28mSofEq1Wz3RmrNkC1KCBs1
u+YMFGwyl6necV9zKCeiju4jeovI1GA38TvH7MgYln6vMJ+FbgOXj7XCpek7dQiY
KGaeSSH218mGNQaWRQw2Sm3W6cFdANoCJUph4w18s7gjtFpfV63s80hXRps+vEyv
jEQMEQpG8Ss7HGJLGLBw/xAmG0e//XS/o2dDonbGbvzToFByz8OGxjMhk6yV6hdd
+iyvsLAw/MYMSA==
-----END CERTIFICATE-----
"""
UPSTREAM_PIN2 = "sha256:d1ef16989563fe7775f81a7dc55ce16a467ca9baedae2d081cb0a068b6a81971"

# An X.509 v1 certificate (no [0] version field), made with openssl 3.0 `x509 -req`;
# pin from `openssl x509 -pubkey | openssl pkey -pubin -outform der | openssl dgst -sha256`.
V1_EC_CERT_PEM = b"""-----BEGIN CERTIFICATE-----
MIIBMDCB1wIUbUXReU9ubIh6WvgK+c3hHjNdNnkwCgYIKoZIzj0EAwIwGjEYMBYG
A1UEAwwPam9pbnNpbS12MS10ZXN0MCAXDTI2MTEyMjE0MDM0MloYDzIxMjYxMDI5
MTQwMzQyWjAaMRgwFgYDVQQDDA9qb2luc2ltLXYxLXRlc3QwWTATBgcqhkjOPQIB
BggqhkjOPQMBBwNCAASYM5F917Ujr0Bg8ZrhBKxEvxoB/DLfGZ9gQ2JpXaLb8RbJ
LSVLv+kU+c7KHlrKMsf6GGzvRzbWOg5VIiYJLvp4MAoGCCqGSM49BAMCA0gAMEUC
IAkK7uV27N/fwlt+UZLJABlK6buqkXQX+aMkZdoLmcG1AiEA+VgYPP10ansKpGcM
dSiOutCCcEJY/V0HXa3klgrnr78=
-----END CERTIFICATE-----
"""
V1_EC_PIN = "sha256:61f67a2d21a98d596caed0313f2bcc938ae449e7ce6e4004a6d206e27ebb322e"

CERT1 = x509.load_pem_x509_certificate(UPSTREAM_CERT_PEM)
CERT2 = x509.load_pem_x509_certificate(UPSTREAM_CERT2_PEM)
V1_CERT = x509.load_pem_x509_certificate(V1_EC_CERT_PEM)
HEX1 = UPSTREAM_PIN.split(":")[1]
FORMAT_ERROR = 'invalid hash, expected "format:hex-value". Known format(s) are: sha256'


def _ca(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> x509.Certificate:
    """Build a self-signed CA the way kubeadm's ca.crt looks."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubernetes")])
    now = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    return (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )


@pytest.mark.parametrize(
    ("cert", "pin"),
    [
        pytest.param(CERT1, UPSTREAM_PIN, id="valid: upstream testCertPEM"),
        pytest.param(CERT2, UPSTREAM_PIN2, id="valid: upstream testCert2PEM"),
        pytest.param(V1_CERT, V1_EC_PIN, id="valid: v1 certificate without version field"),
    ],
)
def test_certificate_pin(cert: x509.Certificate, pin: str) -> None:
    assert certificate_pin(cert) == pin


@pytest.mark.parametrize(
    "cert",
    [
        pytest.param(CERT1, id="valid: rsa v3"),
        pytest.param(V1_CERT, id="valid: ec v1"),
        pytest.param(_ca(ec.generate_private_key(ec.SECP256R1())), id="valid: fresh ec p-256 ca"),
    ],
)
def test_raw_spki_equals_reencoded_key(cert: x509.Certificate) -> None:
    reencoded = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert subject_public_key_info(cert) == reencoded


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed")
def test_pin_equals_openssl_pipeline(tmp_path: Path) -> None:
    cert = _ca(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    ca_path = tmp_path / "ca.crt"
    ca_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pipeline = (
        f"openssl x509 -pubkey -noout -in {ca_path} | openssl rsa -pubin -outform der 2>/dev/null"
        " | openssl dgst -sha256 -hex"
    )
    out = subprocess.run(["sh", "-c", pipeline], check=True, capture_output=True, text=True).stdout
    match = re.search(r"([0-9a-f]{64})\s*$", out)
    assert match is not None, out
    assert certificate_pin(cert) == f"sha256:{match.group(1)}"


def test_upstream_set_sequence() -> None:
    """Replay upstream's TestSet step by step."""
    s = PinSet()
    assert s.empty
    for junk in ("xyz", "0011223344", UPSTREAM_PIN + UPSTREAM_PIN):
        with pytest.raises(PinError):
            s.allow(junk)
        assert s.empty
    with pytest.raises(PinError):
        s.check_any([CERT1])
    s.allow(UPSTREAM_PIN.upper())
    assert not s.empty
    s.check_any([CERT1])
    with pytest.raises(PinError):
        s.check_any([CERT2])


@pytest.mark.parametrize(
    ("pin", "message"),
    [
        pytest.param("xyz", FORMAT_ERROR, id="invalid: no format label"),
        pytest.param("0011223344", FORMAT_ERROR, id="invalid: bare hex"),
        pytest.param(UPSTREAM_PIN + UPSTREAM_PIN, FORMAT_ERROR, id="invalid: two pins glued (three fields)"),
        pytest.param("sha256:", 'invalid hash "sha256:", expected a 32 byte SHA-256 hash, found 0 bytes',
                     id="invalid: empty value"),
        pytest.param("sha256:0011223344",
                     'invalid hash "sha256:0011223344", expected a 32 byte SHA-256 hash, found 5 bytes',
                     id="invalid: too short"),
        pytest.param("md5:" + HEX1, 'unknown hash format "md5". Known format(s) are: sha256',
                     id="invalid: unknown format"),
        pytest.param("sha-256:" + HEX1, 'unknown hash format "sha-256". Known format(s) are: sha256',
                     id="invalid: format spelled with dash"),
        pytest.param("sha256:" + "g" * 64,
                     f'invalid hash "sha256:{"g" * 64}", could not decode SHA-256 from hex: '
                     "encoding/hex: invalid byte: U+0067 'g'",
                     id="invalid: non-hex letter"),
        pytest.param("sha256:" + "a" * 65,
                     f'invalid hash "sha256:{"a" * 65}", could not decode SHA-256 from hex: '
                     "encoding/hex: odd length hex string",
                     id="invalid: 65 hex digits pass the length check then fail decoding"),
        pytest.param("sha256:" + "a" * 64 + "z",
                     f'invalid hash "sha256:{"a" * 64}z", could not decode SHA-256 from hex: '
                     "encoding/hex: invalid byte: U+007A 'z'",
                     id="invalid: odd length with a bad last byte reports the byte"),
        pytest.param("sha256:\t" + "a" * 63,
                     f'invalid hash "sha256:\\t{"a" * 63}", could not decode SHA-256 from hex: '
                     "encoding/hex: invalid byte: U+0009",
                     id="invalid: control byte printed without its glyph"),
        pytest.param("sha256:é" + "a" * 62,
                     f'invalid hash "sha256:é{"a" * 62}", could not decode SHA-256 from hex: '
                     "encoding/hex: invalid byte: U+00C3 'Ã'",
                     id="invalid: non-ascii counts bytes and reports the first byte as a rune"),
    ],
)
def test_allow_rejects_with_upstream_text(pin: str, message: str) -> None:
    with pytest.raises(PinError) as info:
        PinSet().allow(pin)
    assert str(info.value) == message
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "pin",
    [
        pytest.param(UPSTREAM_PIN, id="valid: canonical"),
        pytest.param(UPSTREAM_PIN.upper(), id="valid: upper-case label and hex"),
        pytest.param("Sha256:" + HEX1, id="valid: mixed-case label"),
    ],
)
def test_allow_accepts_and_canonicalizes(pin: str) -> None:
    s = PinSet()
    s.allow(pin)
    assert s.pins == frozenset({UPSTREAM_PIN})
    s.check_any([CERT1])


def test_allow_keeps_pins_added_before_a_failure() -> None:
    s = PinSet()
    with pytest.raises(PinError):
        s.allow(UPSTREAM_PIN, "sha256:bad", UPSTREAM_PIN2)
    assert s.pins == frozenset({UPSTREAM_PIN})


def test_several_pins_any_one_matches() -> None:
    s = PinSet()
    s.allow(UPSTREAM_PIN2, UPSTREAM_PIN)
    assert s.pins == frozenset({UPSTREAM_PIN, UPSTREAM_PIN2})
    s.check_any([CERT1])
    s.check_any([CERT2])


@pytest.mark.parametrize(
    ("certs", "message"),
    [
        pytest.param([CERT2], f'none of the public keys "{UPSTREAM_PIN2}" are pinned', id="invalid: one cert"),
        pytest.param([CERT2, V1_CERT], f'none of the public keys "{UPSTREAM_PIN2}:{V1_EC_PIN}" are pinned',
                     id="invalid: bundle, whole list quoted once"),
        pytest.param([], 'none of the public keys "" are pinned', id="invalid: empty bundle"),
    ],
)
def test_check_any_rejects(certs: list[x509.Certificate], message: str) -> None:
    s = PinSet()
    s.allow(UPSTREAM_PIN)
    with pytest.raises(PinError) as info:
        s.check_any(certs)
    assert str(info.value) == message


def test_check_any_passes_if_any_cert_in_bundle_is_pinned() -> None:
    s = PinSet()
    s.allow(UPSTREAM_PIN)
    s.check_any([CERT2, V1_CERT, CERT1])
