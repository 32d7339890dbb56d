"""Check the field-by-field descriptions of certificates and CSRs against what the join produced."""

from __future__ import annotations

import random
from datetime import datetime, timezone

import pytest
from cryptography import x509

from sim.protocol import constants as C
from sim.protocol import keys, pki
from sim.teach.x509text import describe_certificate, describe_csr, describe_name, describe_public_key, format_rows
from tests.teach_support import joined

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_issued_kubelet_certificate_reads_as_the_protocol_says() -> None:
    run = joined()
    cert = x509.load_pem_x509_certificate(run.node.files[C.KUBELET_CLIENT_CURRENT_PATH])
    rows = dict(describe_certificate(cert))
    assert rows["subject"] == "O=system:nodes, CN=system:node:node-1"
    assert rows["issuer"] == "CN=kubernetes"
    assert rows["valid for"] == "365 d 0 h 0 min"
    assert rows["not before"] == "2025-12-31T23:55:00+00:00"
    assert rows["public key"] == "ECDSA P-256"
    assert rows["key usage"] == "digital signature (critical)"
    assert rows["extended key usage"] == "clientAuth"
    assert rows["basic constraints"] == "CA:FALSE (critical)"
    assert "subject alt names" not in rows


def test_csr_shows_the_requested_subject_and_its_proof_of_possession() -> None:
    key = keys.generate_private_key("ecdsa", random.Random(1))
    rows = describe_csr(x509.load_pem_x509_csr(pki.kubelet_client_csr(key, "node-7")))
    assert rows == [("subject", "O=system:nodes, CN=system:node:node-7"), ("public key", "ECDSA P-256"),
                    ("signature", "ecdsa-with-SHA256"), ("signature valid", "yes (signed by the key it carries)"),
                    ("extensions", "(none)")]


def test_csr_with_sans_lists_them() -> None:
    key = keys.generate_private_key("ecdsa", random.Random(1))
    csr = x509.load_pem_x509_csr(pki.build_csr(key, common_name="x", dns_names=("a.example",)))
    assert ("subject alt names", "a.example") in describe_csr(csr)


@pytest.mark.parametrize(
    "key_type, expected",
    [
        pytest.param("ecdsa", "ECDSA P-256", id="valid: the kubelet's key"),
        pytest.param("rsa", "RSA 2048 bits", id="valid: kubeadm's default CA key"),
    ],
)
def test_describe_public_key(key_type: str, expected: str) -> None:
    assert describe_public_key(keys.generate_private_key(key_type).public_key()) == expected


def test_describe_public_key_names_an_unknown_type() -> None:
    assert describe_public_key(object()) == "object"


def test_describe_name_of_an_empty_name() -> None:
    assert describe_name(x509.Name([])) == "(empty)"


def test_ca_certificate_shows_its_ca_constraints() -> None:
    ca = pki.create_ca(now=NOW, rng=random.Random(2), key_type="ecdsa")
    rows = dict(describe_certificate(ca.cert))
    assert rows["basic constraints"] == "CA:TRUE (critical)"
    assert "cert sign" in rows["key usage"]


def test_format_rows_aligns_the_colons() -> None:
    assert format_rows([("a", "1"), ("long", "2")]) == "a    : 1\nlong : 2"
    assert format_rows([]) == ""
