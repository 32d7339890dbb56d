"""Check joinsim's certificates, CSRs and signing against kubeadm and kube-controller-manager (PROTOCOL 7.5, 14)."""

from __future__ import annotations

import ast
import random
from datetime import datetime, timedelta, timezone

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, NameOID

from sim.protocol import keys, pki, x509verify
from sim.protocol.constants import SIGNING_DURATION_DEFAULT
from sim.protocol.errors import CryptoError, SigningError
from tests.pki_support import NOW

NOW_S = NOW.replace(microsecond=0)
MIN5 = timedelta(minutes=5)


def _csr(key: keys.PrivateKey, **kwargs: object) -> x509.CertificateSigningRequest:
    return pki.parse_csr_pem(pki.build_csr(key, **kwargs))  # type: ignore[arg-type]


def _ext(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> x509.Extension[x509.ExtensionType]:
    return cert.extensions.get_extension_for_oid(oid)


# --- the certificate a kubelet gets ------------------------------------------------------------

@pytest.mark.parametrize("ca_kind", ["rsa", "ecdsa"], ids=["valid: rsa CA", "valid: ecdsa CA"])
def test_issued_kubelet_client_certificate_field_by_field(cas: dict[str, pki.CertKey], node_key: keys.PrivateKey,
                                                          ca_kind: str) -> None:
    ca = cas[ca_kind]
    csr = pki.parse_csr_pem(pki.kubelet_client_csr(node_key, "n"))
    cert = pki.sign_csr(ca, csr, usages=pki.kubelet_client_usages(node_key), now=NOW, rng=random.Random(1))

    assert [(a.oid, a.value) for a in cert.subject] == [(NameOID.ORGANIZATION_NAME, "system:nodes"),
                                                        (NameOID.COMMON_NAME, "system:node:n")]
    assert cert.issuer == ca.cert.subject
    assert cert.not_valid_before_utc == NOW_S - MIN5
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == timedelta(days=365)
    assert [e.oid for e in cert.extensions] == [ExtensionOID.KEY_USAGE, ExtensionOID.EXTENDED_KEY_USAGE,
                                               ExtensionOID.BASIC_CONSTRAINTS, ExtensionOID.AUTHORITY_KEY_IDENTIFIER]
    ku = _ext(cert, ExtensionOID.KEY_USAGE)
    assert ku.critical and ku.value == x509.KeyUsage(True, False, False, False, False, False, False, False, False)
    eku = _ext(cert, ExtensionOID.EXTENDED_KEY_USAGE)
    assert not eku.critical and list(eku.value) == [ExtendedKeyUsageOID.CLIENT_AUTH]  # type: ignore[call-overload]
    bc = _ext(cert, ExtensionOID.BASIC_CONSTRAINTS)
    assert bc.critical and bc.value == x509.BasicConstraints(ca=False, path_length=None)
    aki = _ext(cert, ExtensionOID.AUTHORITY_KEY_IDENTIFIER).value
    ski = _ext(ca.cert, ExtensionOID.SUBJECT_KEY_IDENTIFIER).value
    assert aki.key_identifier == ski.digest  # type: ignore[attr-defined]
    with pytest.raises(x509.ExtensionNotFound):
        cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert 0 < cert.serial_number < 2**128
    assert x509verify.verify_signed_by(cert, ca.cert)
    assert x509verify.verify_chain(cert, [ca.cert], NOW, key_usage="client auth") is None


def test_rsa_node_key_gets_key_encipherment(cas: dict[str, pki.CertKey]) -> None:
    key = keys.generate_private_key("rsa", random.Random(5))
    assert pki.kubelet_client_usages(key) == ("digital signature", "key encipherment", "client auth")
    cert = pki.sign_csr(cas["ecdsa"], pki.parse_csr_pem(pki.kubelet_client_csr(key, "n")),
                        usages=pki.kubelet_client_usages(key), now=NOW)
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature and ku.key_encipherment and not ku.key_cert_sign


def test_csr_extensions_are_dropped_and_sans_copied(cas: dict[str, pki.CertKey], node_key: keys.PrivateKey) -> None:
    csr = _csr(node_key, common_name="svc", dns_names=["b.example", "a.example"], ip_addresses=["10.0.0.9"],
               emails=["x@example.com"], uris=["spiffe://c/x"])
    cert = pki.sign_csr(cas["ecdsa"], csr, usages=["server auth", "client auth", "digital signature"], now=NOW)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert not san.critical
    assert x509verify.request_sans(cert) == (["b.example", "a.example"], ["x@example.com"], ["10.0.0.9"],
                                             ["spiffe://c/x"])
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]  # Go sorts by enum


# --- validity: clamping, short certificates, the CA's end -------------------------------------

@pytest.mark.parametrize("requested, default, expected", [
    (None, SIGNING_DURATION_DEFAULT, SIGNING_DURATION_DEFAULT),
    (3600, SIGNING_DURATION_DEFAULT, 3600),
    (600, SIGNING_DURATION_DEFAULT, 600),
    (599, SIGNING_DURATION_DEFAULT, 600),
    (-5, SIGNING_DURATION_DEFAULT, 600),
    (SIGNING_DURATION_DEFAULT + 1, SIGNING_DURATION_DEFAULT, SIGNING_DURATION_DEFAULT),
    (10 * 3600, 2 * 3600, 2 * 3600),
], ids=["valid: unset uses default", "valid: 1h honoured", "valid: 10min floor honoured",
        "invalid: below 10min raised", "invalid: negative raised", "invalid: above default cut",
        "invalid: above custom default cut"])
def test_signing_duration_clamps(requested: int | None, default: float, expected: float) -> None:
    assert pki.signing_duration(requested, default) == expected


@pytest.mark.parametrize("expiration, lifetime_after_now", [
    (None, timedelta(hours=8760) - MIN5),
    (3600, timedelta(hours=1)),
    (100, timedelta(minutes=10)),
    (8 * 3600, timedelta(hours=8) - MIN5),
    (8 * 3600 - 1, timedelta(hours=8, seconds=-1)),
], ids=["valid: default is backdated", "valid: short 1h not backdated", "invalid: 100s becomes 10min",
        "valid: 8h counts as long", "valid: just under 8h is short"])
def test_not_after_follows_permissive_policy(cas: dict[str, pki.CertKey], node_key: keys.PrivateKey,
                                             expiration: int | None, lifetime_after_now: timedelta) -> None:
    csr = pki.parse_csr_pem(pki.kubelet_client_csr(node_key, "n"))
    cert = pki.sign_csr(cas["ecdsa"], csr, usages=["digital signature", "client auth"], now=NOW_S,
                        expiration_seconds=expiration)
    assert cert.not_valid_before_utc == NOW_S - MIN5
    assert cert.not_valid_after_utc == NOW_S + lifetime_after_now


def test_not_after_is_capped_at_the_ca(cas: dict[str, pki.CertKey], node_key: keys.PrivateKey) -> None:
    ca = cas["ecdsa"]
    late = ca.cert.not_valid_after_utc - timedelta(days=30)
    cert = pki.sign_csr(ca, pki.parse_csr_pem(pki.kubelet_client_csr(node_key, "n")),
                        usages=["digital signature", "client auth"], now=late)
    assert cert.not_valid_after_utc == ca.cert.not_valid_after_utc
    assert cert.not_valid_before_utc == late - MIN5


@pytest.mark.parametrize("offset, message", [
    (timedelta(0), "refusing to sign a certificate that expired in the past: NotAfter={}"),
    (timedelta(minutes=4, seconds=59), "refusing to sign a certificate that expired in the past: NotAfter={}"),
    (MIN5, "the signer has expired: NotAfter={}"),
    (timedelta(days=1), "the signer has expired: NotAfter={}"),
], ids=["invalid: at CA NotAfter", "invalid: within backdate", "invalid: backdated start at NotAfter",
        "invalid: long expired"])
def test_expired_ca_refuses(cas: dict[str, pki.CertKey], node_key: keys.PrivateKey, offset: timedelta,
                            message: str) -> None:
    ca = cas["ecdsa"]
    with pytest.raises(SigningError) as err:
        pki.sign_csr(ca, pki.parse_csr_pem(pki.kubelet_client_csr(node_key, "n")),
                     usages=["client auth"], now=ca.cert.not_valid_after_utc + offset)
    assert str(err.value) == message.format(pki.go_time(ca.cert.not_valid_after_utc))
    assert pki.go_time(ca.cert.not_valid_after_utc) == "2035-02-27 12:00:00 +0000 UTC"


def test_unknown_usage_and_bad_signature_refused(cas: dict[str, pki.CertKey], node_key: keys.PrivateKey) -> None:
    csr = pki.parse_csr_pem(pki.kubelet_client_csr(node_key, "n"))
    with pytest.raises(SigningError, match=r'^unrecognized usage values: \["bogus" "x"\]$'):
        pki.sign_csr(cas["ecdsa"], csr, usages=["client auth", "bogus", "x"], now=NOW)
    der = bytearray(csr.public_bytes(serialization.Encoding.DER))
    der[-1] ^= 1
    tampered = x509.load_der_x509_csr(bytes(der))
    assert not pki.verify_csr_signature(tampered) and pki.verify_csr_signature(csr)
    with pytest.raises(SigningError, match="^unable to verify certificate request signature: x509: ECDSA verification"):
        pki.sign_csr(cas["ecdsa"], tampered, usages=["client auth"], now=NOW)


# --- determinism ---------------------------------------------------------------------------------

@pytest.mark.parametrize("ca_kind", ["rsa", "ecdsa"], ids=["valid: rsa CA", "valid: ecdsa CA"])
def test_same_seed_same_bytes(ca_kind: str) -> None:
    def run(seed: int) -> tuple[bytes, bytes, bytes, bytes]:
        rng = random.Random(seed)
        ca = pki.create_ca(now=NOW, rng=rng, key_type=ca_kind)
        key = keys.generate_private_key("ecdsa", rng)
        csr_pem = pki.kubelet_client_csr(key, "node-1")
        cert = pki.sign_csr(ca, pki.parse_csr_pem(csr_pem), usages=pki.kubelet_client_usages(key), now=NOW, rng=rng)
        return ca.cert_pem, ca.key_pem, csr_pem, pki.cert_pem(cert)

    first = run(42)
    assert run(42) == first
    assert all(a != b for a, b in zip(run(43), first))


# --- the CA and kubeadm leaf certificates -----------------------------------------------------------

@pytest.mark.parametrize("ca_kind, key_header", [("rsa", b"RSA PRIVATE KEY"), ("ecdsa", b"EC PRIVATE KEY")],
                         ids=["valid: rsa", "valid: ecdsa"])
def test_ca_like_kubeadm(cas: dict[str, pki.CertKey], ca_kind: str, key_header: bytes) -> None:
    ca = cas[ca_kind]
    cert = ca.cert
    assert cert.subject == cert.issuer and cert.subject.rfc4514_string() == "CN=kubernetes"
    assert cert.not_valid_before_utc == NOW_S - MIN5
    assert cert.not_valid_after_utc == NOW_S + timedelta(days=3650)
    assert 0 < cert.serial_number < 2**63 - 1
    assert [(e.oid, e.critical) for e in cert.extensions] == [
        (ExtensionOID.KEY_USAGE, True), (ExtensionOID.BASIC_CONSTRAINTS, True),
        (ExtensionOID.SUBJECT_KEY_IDENTIFIER, False), (ExtensionOID.SUBJECT_ALTERNATIVE_NAME, False)]
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert (ku.key_cert_sign, ku.digital_signature, ku.key_encipherment, ku.crl_sign) == (True, True, True, False)
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert x509verify.request_sans(cert)[0] == ["kubernetes"]
    assert key_header in ca.key_pem
    loaded = pki.CertKey.from_pem(ca.cert_pem, ca.key_pem)
    assert (loaded.cert, loaded.key_pem) == (ca.cert, ca.key_pem)
    assert x509verify.verify_chain(cert, [cert], NOW) is None


def test_cert_key_from_pem_rejects_mismatch(cas: dict[str, pki.CertKey]) -> None:
    with pytest.raises(CryptoError, match="^tls: private key does not match public key$"):
        pki.CertKey.from_pem(cas["rsa"].cert_pem, cas["ecdsa"].key_pem)


def test_serving_and_client_certificates(cas: dict[str, pki.CertKey]) -> None:
    ca = cas["ecdsa"]
    serving = pki.create_serving_cert(ca, common_name="kube-apiserver", dns_names=["kubernetes", "b", "kubernetes"],
                                      ip_addresses=["10.96.0.1", "10.0.0.1", "10.96.0.1"], now=NOW,
                                      rng=random.Random(3), key_type="ecdsa")
    assert x509verify.request_sans(serving.cert)[0] == ["b", "kubernetes"]
    assert x509verify.request_sans(serving.cert)[2] == ["10.96.0.1", "10.0.0.1"]
    assert serving.cert.not_valid_before_utc == ca.cert.not_valid_before_utc
    assert serving.cert.not_valid_after_utc == NOW_S + timedelta(days=365)
    assert x509verify.verify_chain(serving.cert, [ca.cert], NOW, key_usage="server auth") is None
    admin = pki.create_client_cert(ca, common_name="kubernetes-admin", organizations=["system:masters"], now=NOW,
                                   rng=random.Random(4), key_type="ecdsa")
    assert admin.cert.subject.rfc4514_string() == "CN=kubernetes-admin,O=system:masters"
    assert x509verify.verify_chain(admin.cert, [ca.cert], NOW, key_usage="server auth") == \
        "x509: certificate specifies an incompatible key usage"


# --- parsing ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("data, message", [
    (b"", "PEM block type must be CERTIFICATE REQUEST"),
    (b"not pem at all", "PEM block type must be CERTIFICATE REQUEST"),
    (b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "PEM block type must be CERTIFICATE REQUEST"),
    (b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n", "asn1: structure error: "),
    (b"-----BEGIN CERTIFICATE REQUEST-----\n\n-----END CERTIFICATE REQUEST-----\n",
     "asn1: syntax error: sequence truncated"),
], ids=["invalid: empty", "invalid: not PEM", "invalid: certificate block", "invalid: bad DER",
        "invalid: empty DER"])
def test_parse_csr_pem_errors(data: bytes, message: str) -> None:
    with pytest.raises(CryptoError) as err:
        pki.parse_csr_pem(data)
    assert str(err.value).startswith(message)


def test_subject_strings_are_encoded_like_go(node_key: keys.PrivateKey) -> None:
    csr = _csr(node_key, common_name="system:node:n", organizations=["system:nodes", "team_a"])
    kinds = {str(a.value): a._type.name for a in csr.subject}
    assert kinds == {"system:node:n": "PrintableString", "system:nodes": "PrintableString", "team_a": "UTF8String"}
    assert len(csr.subject.rdns) == 2  # every O in one RDN, then CN


# --- formatting and purity ---------------------------------------------------------------------------

def test_go_time_format() -> None:
    assert pki.go_time(datetime(2034, 1, 2, 3, 4, 5, tzinfo=timezone.utc)) == "2034-01-02 03:04:05 +0000 UTC"
    assert pki.go_time(datetime(2034, 1, 2, 3, 4, 5, 120000, tzinfo=timezone.utc)) == \
        "2034-01-02 03:04:05.12 +0000 UTC"


@pytest.mark.parametrize("module", ["pki", "csr", "kubeconfig", "certkey"], ids=lambda m: f"valid: {m}")
def test_modules_import_nothing_impure(module: str) -> None:
    # Checked on the source: cryptography itself loads random and socket, so sys.modules cannot tell.
    tree = ast.parse((Path(pki.__file__).parent / f"{module}.py").read_text())
    names = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    names |= {(node.module or "").split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not names & {"simpy", "asyncio", "socket", "ssl", "time", "random"}
