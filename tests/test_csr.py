"""Check the approver's recognizers and ValidateKubeletClientCSR (PROTOCOL 7.3, 7.5, 14)."""

from __future__ import annotations

import base64
import random
from typing import Any

import pytest
from cryptography import x509

from sim.protocol import csr, keys, pki
from sim.protocol.constants import (
    KUBE_APISERVER_CLIENT_KUBELET_SIGNER, KUBE_APISERVER_CLIENT_SIGNER, NODECLIENT_APPROVAL_MESSAGE,
    SELFNODECLIENT_APPROVAL_MESSAGE,
)
from sim.protocol.errors import CryptoError

KEY = keys.generate_private_key("ecdsa", random.Random(21))
ECDSA_USAGES = ("digital signature", "client auth")
RSA_USAGES = ("digital signature", "key encipherment", "client auth")
USAGES_MSG = "usages did not match [client auth digital signature key encipherment]"


def _parsed(common_name: str = "system:node:n", organizations: tuple[str, ...] = ("system:nodes",),
            **sans: Any) -> x509.CertificateSigningRequest:
    return pki.parse_csr_pem(pki.build_csr(KEY, common_name=common_name, organizations=organizations, **sans))


@pytest.mark.parametrize("parsed, usages, strict, expected", [
    (_parsed(), ECDSA_USAGES, False, None),
    (_parsed(), RSA_USAGES, False, None),
    (_parsed(), ("client auth", "digital signature", "client auth"), False, None),
    (_parsed(), RSA_USAGES, True, None),
    (_parsed(), ECDSA_USAGES, True, USAGES_MSG),
    (_parsed(organizations=("system:masters",)), ECDSA_USAGES, False, "subject organization is not system:nodes"),
    (_parsed(organizations=()), ECDSA_USAGES, False, "subject organization is not system:nodes"),
    (_parsed(organizations=("system:nodes", "extra")), ECDSA_USAGES, False, "subject organization is not system:nodes"),
    (_parsed(dns_names=["n.example"]), ECDSA_USAGES, False, "DNS subjectAltNames are not allowed"),
    (_parsed(emails=["n@example.com"]), ECDSA_USAGES, False, "Email subjectAltNames are not allowed"),
    (_parsed(ip_addresses=["10.0.0.5"]), ECDSA_USAGES, False, "IP subjectAltNames are not allowed"),
    (_parsed(uris=["spiffe://n"]), ECDSA_USAGES, False, "URI subjectAltNames are not allowed"),
    (_parsed(common_name="node:n"), ECDSA_USAGES, False, "subject common name does not begin with system:node:"),
    (_parsed(), ("digital signature", "client auth", "server auth"), False, USAGES_MSG),
    (_parsed(), ("client auth",), False, USAGES_MSG),
    (_parsed(common_name="bad", dns_names=["n"]), ("server auth",), False, "DNS subjectAltNames are not allowed"),
    (_parsed(common_name="bad", organizations=("x",)), (), False, "subject organization is not system:nodes"),
], ids=["valid: ecdsa usages", "valid: rsa usages", "valid: usages are a set", "valid: strict rsa usages",
        "invalid: strict rejects ecdsa usages", "invalid: other organization", "invalid: no organization",
        "invalid: extra organization", "invalid: DNS SAN", "invalid: email SAN", "invalid: IP SAN", "invalid: URI SAN",
        "invalid: common name prefix", "invalid: extra usage", "invalid: missing usage",
        "invalid: SANs checked before CN and usages", "invalid: organization checked first"])
def test_kubelet_client_csr_error(parsed: x509.CertificateSigningRequest, usages: tuple[str, ...], strict: bool,
                                  expected: str | None) -> None:
    assert csr.kubelet_client_csr_error(parsed, usages, strict_usages=strict) == expected


def _object(username: str, signer: str = KUBE_APISERVER_CLIENT_KUBELET_SIGNER,
            usages: tuple[str, ...] = ECDSA_USAGES) -> dict[str, Any]:
    obj = csr.csr_object(request_pem=pki.kubelet_client_csr(KEY, "n"), signer_name=signer, usages=usages)
    obj["spec"]["username"] = username
    return obj


@pytest.mark.parametrize("obj, strict, expected", [
    (_object("system:bootstrap:abcdef"), False, ["nodeclient"]),
    (_object("system:node:n"), False, ["selfnodeclient", "nodeclient"]),
    (_object("system:node:other"), False, ["nodeclient"]),
    (_object("system:node:n", usages=RSA_USAGES), True, ["selfnodeclient", "nodeclient"]),
    (_object("system:bootstrap:abcdef"), True, []),
    (_object("system:bootstrap:abcdef", signer=KUBE_APISERVER_CLIENT_SIGNER), False, []),
    (_object("system:node:n", usages=("client auth",)), False, []),
], ids=["valid: first join is nodeclient only", "valid: renewal matches self first",
        "valid: another node's name is nodeclient", "valid: strict rsa renewal",
        "invalid: strict ecdsa first join", "invalid: other signer", "invalid: bad usages"])
def test_recognize(obj: dict[str, Any], strict: bool, expected: list[str]) -> None:
    parsed = csr.parse_request(obj)
    assert [r.name for r in csr.recognize(obj, parsed, strict_usages=strict)] == expected


def test_recognizer_table() -> None:
    assert [(r.name, r.subresource, r.message) for r in csr.RECOGNIZERS] == [
        ("selfnodeclient", "selfnodeclient", SELFNODECLIENT_APPROVAL_MESSAGE),
        ("nodeclient", "nodeclient", NODECLIENT_APPROVAL_MESSAGE)]


def test_csr_facts() -> None:
    obj = _object("system:bootstrap:abcdef")
    facts = csr.csr_facts(obj, _parsed(ip_addresses=["10.0.0.1"]), strict_usages=False)
    assert (facts.signer_name, facts.username, facts.usages) == (
        KUBE_APISERVER_CLIENT_KUBELET_SIGNER, "system:bootstrap:abcdef", ECDSA_USAGES)
    assert (facts.common_name, facts.organizations, facts.ip_addresses) == ("system:node:n", ("system:nodes",),
                                                                           ("10.0.0.1",))
    assert facts.has_sans and facts.kubelet_client_error == "IP subjectAltNames are not allowed"


@pytest.mark.parametrize("expiration", [None, 3600], ids=["valid: no lifetime requested", "valid: 1h requested"])
def test_csr_object_body(expiration: int | None) -> None:
    pem = pki.kubelet_client_csr(KEY, "n")
    obj = csr.csr_object(request_pem=pem, signer_name=KUBE_APISERVER_CLIENT_KUBELET_SIGNER, usages=ECDSA_USAGES,
                         expiration_seconds=expiration)
    assert obj["apiVersion"] == "certificates.k8s.io/v1" and obj["kind"] == "CertificateSigningRequest"
    assert obj["metadata"] == {"generateName": "csr-"}
    assert base64.b64decode(obj["spec"]["request"]) == pem == csr.csr_request_pem(obj)
    assert obj["spec"]["signerName"] == KUBE_APISERVER_CLIENT_KUBELET_SIGNER
    assert obj["spec"]["usages"] == list(ECDSA_USAGES)
    assert obj["spec"].get("expirationSeconds") == expiration and ("expirationSeconds" in obj["spec"]) == bool(
        expiration)


@pytest.mark.parametrize("request_b64, message", [
    (base64.b64encode(b"garbage").decode(), 'unable to parse csr "csr-x": PEM block type must be CERTIFICATE REQUEST'),
    ("%%%", 'unable to parse csr "csr-x": PEM block type must be CERTIFICATE REQUEST'),
], ids=["invalid: not PEM", "invalid: not base64"])
def test_parse_request_errors(request_b64: str, message: str) -> None:
    with pytest.raises(CryptoError, match=f"^{message}$"):
        csr.parse_request({"metadata": {"name": "csr-x"}, "spec": {"request": request_b64}})


def _status(*types: str, certificate: str = "") -> dict[str, Any]:
    status: dict[str, Any] = {"conditions": [{"type": t, "status": "True"} for t in types]}
    if certificate:
        status["certificate"] = certificate
    return {"status": status}


@pytest.mark.parametrize("obj, expected", [
    ({}, "Pending"),
    (_status(), "Pending"),
    (_status("Approved"), "Approved"),
    (_status("Approved", certificate="Q0VSVA=="), "Approved,Issued"),
    (_status("Denied"), "Denied"),
    (_status("Approved", "Denied"), "Denied"),
    (_status("Approved", "Failed"), "Approved,Failed"),
    (_status("Failed"), "Pending,Failed"),
    (_status("Approved", "Failed", certificate="x"), "Approved,Failed,Issued"),
], ids=["valid: no status", "valid: no conditions", "valid: approved", "valid: issued", "valid: denied",
        "valid: denied wins", "valid: signer failure", "valid: failed only", "valid: all flags"])
def test_csr_state_like_kubectl(obj: dict[str, Any], expected: str) -> None:
    assert csr.csr_state(obj) == expected
