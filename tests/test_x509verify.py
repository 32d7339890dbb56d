"""Check certificate parsing and verification against Go's crypto/x509 behaviour and error texts."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from sim.protocol import keys, pki, x509verify
from sim.protocol.errors import CryptoError
from tests.pki_support import NOW


# --- parsing ---------------------------------------------------------------------------------------

def test_parse_certs_pem(cas: dict[str, pki.CertKey]) -> None:
    bundle = cas["rsa"].cert_pem + b"junk\n" + cas["ecdsa"].cert_pem
    assert x509verify.parse_certs_pem(bundle) == [cas["rsa"].cert, cas["ecdsa"].cert]
    with_headers = cas["rsa"].cert_pem.replace(b"-----\n", b"-----\nProc-Type: 4,ENCRYPTED\n\n", 1)
    with pytest.raises(CryptoError, match="^data does not contain any valid RSA or ECDSA certificates$"):
        x509verify.parse_certs_pem(with_headers)
    with pytest.raises(CryptoError, match="^data does not contain any valid RSA or ECDSA certificates$"):
        x509verify.parse_certs_pem(b"nothing here")
    with pytest.raises(CryptoError, match="^x509: malformed certificate$"):
        x509verify.parse_certs_pem(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")


# --- verification ------------------------------------------------------------------------------------

def test_verify_chain_errors(cas: dict[str, pki.CertKey], node_key: keys.PrivateKey) -> None:
    ca = cas["ecdsa"]
    cert = pki.sign_csr(ca, pki.parse_csr_pem(pki.kubelet_client_csr(node_key, "n")),
                        usages=["digital signature", "client auth"], now=NOW)
    impostor = pki.create_ca(now=NOW, rng=random.Random(99), key_type="ecdsa")
    stranger = pki.create_ca(now=NOW, rng=random.Random(98), key_type="ecdsa", common_name="other")
    cases = {
        "valid: own CA": ([ca.cert], NOW, None),
        "valid: own CA among others": ([stranger.cert, impostor.cert, ca.cert], NOW, None),
        "invalid: no candidate": ([stranger.cert], NOW, "x509: certificate signed by unknown authority"),
        "invalid: same-name impostor": ([impostor.cert], NOW,
                                        'x509: certificate signed by unknown authority (possibly because of '
                                        '"x509: ECDSA verification failure" while trying to verify candidate '
                                        'authority certificate "kubernetes")'),
        "invalid: expired": ([ca.cert], NOW + timedelta(days=366),
                             "x509: certificate has expired or is not yet valid: current time "
                             "2026-03-02T12:00:00Z is after 2026-03-01T11:55:00Z"),
        "invalid: not yet valid": ([ca.cert], NOW - timedelta(hours=1),
                                   "x509: certificate has expired or is not yet valid: current time "
                                   "2025-03-01T11:00:00Z is before 2025-03-01T11:55:00Z"),
    }
    for case, (roots, when, expected) in cases.items():
        assert x509verify.verify_chain(cert, roots, when) == expected, case


@pytest.mark.parametrize("host, expected", [
    ("api.example", None),
    ("API.Example.", None),
    ("x.wild.example", None),
    ("10.0.0.1", None),
    ("[fd00::1]", None),
    ("a.b.wild.example", "x509: certificate is valid for *.wild.example, api.example, not a.b.wild.example"),
    ("other", "x509: certificate is valid for *.wild.example, api.example, not other"),
    ("10.0.0.2", "x509: certificate is valid for 10.0.0.1, fd00::1, not 10.0.0.2"),
], ids=["valid: exact", "valid: case and trailing dot", "valid: wildcard", "valid: ip", "valid: bracketed ipv6",
        "invalid: wildcard spans one label", "invalid: name", "invalid: ip"])
def test_verify_hostname(cas: dict[str, pki.CertKey], host: str, expected: str | None) -> None:
    cert = pki.create_serving_cert(cas["ecdsa"], common_name="apiserver", dns_names=["api.example", "*.wild.example"],
                                   ip_addresses=["10.0.0.1", "fd00::1"], now=NOW, key_type="ecdsa").cert
    assert x509verify.verify_hostname(cert, host) == expected


def test_verify_hostname_without_ip_sans(cas: dict[str, pki.CertKey]) -> None:
    cert = pki.create_serving_cert(cas["ecdsa"], common_name="c", dns_names=["a", "b"], ip_addresses=[], now=NOW,
                                   key_type="ecdsa").cert
    assert x509verify.verify_hostname(cert, "c") == "x509: certificate is valid for a, b, not c"
    assert x509verify.verify_hostname(cert, "10.0.0.2") == \
        "x509: cannot validate certificate for 10.0.0.2 because it doesn't contain any IP SANs"
