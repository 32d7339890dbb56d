"""Check the csrsigning controllers against upstream signer.go, policies.go and helpers.go."""

from __future__ import annotations

import base64
import random
from datetime import timedelta
from typing import Any, Sequence

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from sim.control.controllers.base import Requeue
from sim.control.controllers.csrsigning import CsrSigner
from sim.control.profile import CURRENT, V1_22, Profile
from sim.control.store import Store
from sim.protocol import constants as C
from sim.protocol import csr, pki, x509verify
from sim.protocol.http import Response
from tests.controller_support import CA, KUBELET, NOW, Responder, drive, event, node_csr, put_to

APPROVED = {"conditions": [{"type": "Approved", "status": "True", "reason": "AutoApproved"}]}


def status_put(store: Store) -> Responder:
    """Answer the signer's PUT to the status subresource by updating the store."""
    return put_to(store, "certificatesigningrequests", "/status")


def make_csr(store: Store, *, signer: str = KUBELET, usages: Sequence[str] = C.KUBELET_CLIENT_USAGES_ECDSA,
             status: dict[str, Any] | None = None, cn: str = "system:node:node-1", dns: tuple[str, ...] = (),
             ips: tuple[str, ...] = (), expiration_seconds: int | None = None) -> None:
    obj = node_csr(signer=signer, usages=usages, cn=cn, dns=dns, ips=ips, expiration_seconds=expiration_seconds,
                   status=APPROVED if status is None else status)
    store.create("certificatesigningrequests", obj, NOW)


def issued(store: Store) -> x509.Certificate:
    obj = store.get("certificatesigningrequests", "", "csr-abcde")
    assert obj is not None
    return x509verify.parse_certs_pem(base64.b64decode(obj["status"]["certificate"]))[0]


def signer(store: Store, name: str = KUBELET, profile: Profile = CURRENT, ca: pki.CertKey | None = CA) -> CsrSigner:
    return CsrSigner(store, name, ca, random.Random(3), profile)


@pytest.mark.parametrize(
    ("expiration_seconds", "not_after"),
    [
        pytest.param(None, timedelta(hours=8760) - timedelta(minutes=5), id="valid: default one year minus backdate"),
        pytest.param(3600, timedelta(hours=1), id="valid: short TTL is not shortened by the backdate"),
        pytest.param(60, timedelta(minutes=10), id="valid: raised to the 10 min minimum"),
        pytest.param(10 * 8760 * 3600, timedelta(hours=8760) - timedelta(minutes=5), id="valid: capped to the default"),
    ],
)
def test_issues_a_certificate_with_the_right_validity(store: Store, expiration_seconds: int | None,
                                                      not_after: timedelta) -> None:
    make_csr(store, expiration_seconds=expiration_seconds)
    ctl = signer(store)
    (request,), result = drive(ctl.reconcile("csr-abcde", NOW), status_put(store))
    assert result is None and ctl.last_error is None
    assert request.path == "/apis/certificates.k8s.io/v1/certificatesigningrequests/csr-abcde/status"
    cert = issued(store)
    assert cert.not_valid_before_utc == NOW - timedelta(minutes=5)
    assert cert.not_valid_after_utc == NOW + not_after
    assert cert.issuer == CA.cert.subject and x509verify.verify_signed_by(cert, CA.cert)
    assert cert.subject.rfc4514_string() == "CN=system:node:node-1,O=system:nodes"
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    stored = store.get("certificatesigningrequests", "", "csr-abcde")
    assert stored is not None and csr.csr_state(stored) == "Approved,Issued"


@pytest.mark.parametrize(
    ("profile", "usages", "message"),
    [
        pytest.param(V1_22, C.KUBELET_CLIENT_USAGES_ECDSA,
                     "usages did not match [client auth digital signature key encipherment]",
                     id="invalid: 1.22 requires key encipherment"),
        pytest.param(CURRENT, ["digital signature", "server auth"],
                     "usages did not match [client auth digital signature key encipherment]",
                     id="invalid: server auth on the client signer"),
    ],
)
def test_fails_signer_validation(store: Store, profile: Profile, usages: Sequence[str], message: str) -> None:
    make_csr(store, usages=usages)
    (request,), _ = drive(signer(store, profile=profile).reconcile("csr-abcde", NOW), status_put(store))
    obj = store.get("certificatesigningrequests", "", "csr-abcde")
    assert obj is not None and "certificate" not in obj["status"]
    assert obj["status"]["conditions"][-1] == {
        "type": "Failed", "status": "True", "reason": "SignerValidationFailure", "message": message,
        "lastUpdateTime": "2024-05-01T12:00:00Z", "lastTransitionTime": "2024-05-01T12:00:00Z"}
    assert csr.csr_state(obj) == "Approved,Failed"
    assert drive(signer(store, profile=profile).reconcile("csr-abcde", NOW), status_put(store)) == ([], None)


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"status": {}}, id="invalid: pending"),
        pytest.param({"status": {"conditions": [{"type": "Denied", "status": "True"}]}}, id="invalid: denied"),
        pytest.param({"status": {"conditions": [{"type": "Approved"}, {"type": "Denied"}]}},
                     id="invalid: approved and denied"),
        pytest.param({"status": {"conditions": [{"type": "Approved"}, {"type": "Failed", "status": "True"}]}},
                     id="invalid: failed"),
        pytest.param({"status": {**APPROVED, "certificate": "eA=="}}, id="invalid: already issued"),
        pytest.param({"signer": C.KUBE_APISERVER_CLIENT_SIGNER}, id="invalid: another signer's CSR"),
    ],
)
def test_ignores_csrs_it_must_not_sign(store: Store, kwargs: dict[str, Any]) -> None:
    make_csr(store, **kwargs)
    assert drive(signer(store).reconcile("csr-abcde", NOW), status_put(store)) == ([], None)


@pytest.mark.parametrize(
    ("name", "kwargs", "error"),
    [
        pytest.param(C.KUBE_APISERVER_CLIENT_SIGNER, {"usages": ["client auth"]}, None,
                     id="valid: apiserver client"),
        pytest.param(C.KUBE_APISERVER_CLIENT_SIGNER, {"usages": ["client auth", "server auth"]},
                     "invalid usage for client certificate: server auth", id="invalid: apiserver client usage"),
        pytest.param(C.KUBE_APISERVER_CLIENT_SIGNER, {"usages": ["digital signature"]},
                     "missing required usage for client certificate: client auth", id="invalid: no client auth"),
        pytest.param(C.KUBELET_SERVING_SIGNER, {"usages": ["digital signature", "server auth"], "dns": ("node-1",)},
                     None, id="valid: kubelet serving"),
        pytest.param(C.KUBELET_SERVING_SIGNER, {"usages": ["digital signature", "server auth"]},
                     "DNS or IP subjectAltName is required", id="invalid: serving without SAN"),
        pytest.param(C.KUBELET_SERVING_SIGNER, {"usages": ["client auth"], "ips": ("10.0.0.5",)},
                     "usages did not match [digital signature key encipherment server auth]",
                     id="invalid: serving with client usage"),
        pytest.param(C.LEGACY_UNKNOWN_SIGNER, {"usages": ["server auth"], "cn": "anything"}, None,
                     id="valid: legacy-unknown has no rules"),
    ],
)
def test_other_signers(store: Store, name: str, kwargs: dict[str, Any], error: str | None) -> None:
    make_csr(store, signer=name, **kwargs)
    drive(signer(store, name).reconcile("csr-abcde", NOW), status_put(store))
    obj = store.get("certificatesigningrequests", "", "csr-abcde")
    assert obj is not None
    if error is None:
        assert "certificate" in obj["status"]
    else:
        assert obj["status"]["conditions"][-1]["message"] == error


def test_signing_error_requeues(store: Store) -> None:
    make_csr(store)
    expired_ca = pki.create_ca(now=NOW - timedelta(days=4000), rng=random.Random(2), key_type="ecdsa")
    ctl = signer(store, ca=expired_ca)
    requests, result = drive(ctl.reconcile("csr-abcde", NOW), status_put(store))
    assert requests == [] and isinstance(result, Requeue)
    assert ctl.last_error is not None and ctl.last_error.startswith(
        "error auto signing csr: the signer has expired: NotAfter=")


def test_status_update_error_requeues(store: Store) -> None:
    make_csr(store)
    ctl = signer(store)
    _, result = drive(ctl.reconcile("csr-abcde", NOW), lambda r: Response(status=409, body={"message": "conflict"}))
    assert isinstance(result, Requeue) and ctl.last_error == "error updating signature for csr: conflict"


def test_not_started_without_a_ca(store: Store) -> None:
    make_csr(store)
    ctl = signer(store, ca=None)
    ev = event("ADDED", "certificatesigningrequests", {"metadata": {"name": "csr-abcde"}})
    assert (ctl.started, ctl.keys_for(ev), ctl.initial_keys()) == (False, [], [])
    assert drive(ctl.reconcile("csr-abcde", NOW), status_put(store)) == ([], None)


def test_unknown_signer_name_is_rejected(store: Store) -> None:
    with pytest.raises(ValueError, match='unrecognized signerName: "example.com/x"'):
        signer(store, "example.com/x")


@pytest.mark.parametrize(
    ("name", "controller"),
    [
        pytest.param(C.KUBELET_SERVING_SIGNER, "csrsigning-kubelet-serving", id="valid: kubelet-serving"),
        pytest.param(KUBELET, "csrsigning-kubelet-client", id="valid: kubelet-client"),
        pytest.param(C.KUBE_APISERVER_CLIENT_SIGNER, "csrsigning-kube-apiserver-client", id="valid: apiserver-client"),
        pytest.param(C.LEGACY_UNKNOWN_SIGNER, "csrsigning-legacy-unknown", id="valid: legacy-unknown"),
    ],
)
def test_names_and_workers(store: Store, name: str, controller: str) -> None:
    ctl = signer(store, name)
    assert (ctl.name, ctl.workers, ctl.resync_period, ctl.started) == (controller, 5, None, True)
