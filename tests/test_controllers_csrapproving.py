"""Check the csrapproving controller against upstream sarapprove.go and certificate_controller.go."""

from __future__ import annotations

import json
from typing import Any, Sequence

import pytest

from sim.control.controllers.base import Requeue
from sim.control.controllers.common import FailureBackoff
from sim.control.controllers.csrapproving import CsrApprover
from sim.control.profile import CURRENT, V1_22, Profile
from sim.control.store import Store
from sim.protocol import constants as C
from sim.protocol import csr, objects
from sim.protocol.http import Request, Response
from tests.controller_support import KUBELET, NOW, Responder, drive, event, node_csr

BOOTSTRAP_USER = "system:bootstrap:abcdef"
BOOTSTRAP_GROUPS = ["system:bootstrappers", C.NODE_BOOTSTRAP_TOKEN_AUTH_GROUP, "system:authenticated"]
RSA_USAGES = list(C.KUBELET_CLIENT_USAGES_RSA)
ECDSA_USAGES = list(C.KUBELET_CLIENT_USAGES_ECDSA)


def api(store: Store, allowed: Sequence[str]) -> Responder:
    """Answer SARs (allowing the listed subresources) and approval PUTs (applied to the store)."""
    def respond(request: Request) -> Response:
        body = json.loads(request.body)
        if request.path.endswith("/subjectaccessreviews"):
            sub = body["spec"]["resourceAttributes"]["subresource"]
            return Response(status=201, body={**body, "status": {"allowed": sub in allowed}})
        assert request.method == "PUT" and request.path.endswith("/approval")
        return Response(status=200, body=store.update("certificatesigningrequests", body))
    return respond


def make_csr(store: Store, *, name: str = "csr-abcde", cn: str = "system:node:node-1",
             orgs: tuple[str, ...] = ("system:nodes",), dns: tuple[str, ...] = (), usages: Sequence[str] = RSA_USAGES,
             signer: str = KUBELET, username: str = BOOTSTRAP_USER,
             request_pem: bytes | None = None, status: dict[str, Any] | None = None) -> dict[str, Any]:
    obj = node_csr(name=name, cn=cn, orgs=orgs, dns=dns, usages=usages, signer=signer, request_pem=request_pem,
                   status=status)
    obj["spec"].update({"username": username, "groups": BOOTSTRAP_GROUPS, "uid": "u-1",
                        "extra": {"scope": ["a"]}})
    return store.create("certificatesigningrequests", obj, NOW)


def test_approves_a_first_join_kubelet_client_csr_when_the_sar_allows(store: Store) -> None:
    make_csr(store)
    approver = CsrApprover(store)
    requests, result = drive(approver.reconcile("csr-abcde", NOW), api(store, ["nodeclient"]))
    assert result is None and approver.last_error is None
    sar, approval = requests
    assert (sar.method, sar.path) == ("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews")
    assert json.loads(sar.body) == {
        "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
        "spec": {"user": BOOTSTRAP_USER, "uid": "u-1", "groups": BOOTSTRAP_GROUPS, "extra": {"scope": ["a"]},
                 "resourceAttributes": {"group": "certificates.k8s.io", "resource": "certificatesigningrequests",
                                        "verb": "create", "subresource": "nodeclient"}}}
    assert (approval.method, approval.path) == (
        "PUT", "/apis/certificates.k8s.io/v1/certificatesigningrequests/csr-abcde/approval")
    stored = store.get("certificatesigningrequests", "", "csr-abcde")
    assert stored is not None
    assert stored["status"]["conditions"] == [{
        "type": "Approved", "status": "True", "reason": "AutoApproved",
        "message": "Auto approving kubelet client certificate after SubjectAccessReview.",
        "lastUpdateTime": "2024-05-01T12:00:00Z", "lastTransitionTime": "2024-05-01T12:00:00Z"}]
    assert csr.csr_state(stored) == "Approved"


def test_leaves_the_csr_pending_when_the_sar_is_denied(store: Store) -> None:
    make_csr(store)
    approver = CsrApprover(store)
    requests, result = drive(approver.reconcile("csr-abcde", NOW), api(store, []))
    assert len(requests) == 1
    assert approver.last_error == ('recognized csr "csr-abcde" as [nodeclient] '
                                   "but subject access review was not approved")
    assert result == Requeue(after=0.005)
    stored = store.get("certificatesigningrequests", "", "csr-abcde")
    assert stored is not None and csr.csr_state(stored) == "Pending"
    _, again = drive(approver.reconcile("csr-abcde", NOW), api(store, []))
    assert again == Requeue(after=0.01)


@pytest.mark.parametrize(
    ("allowed", "tried", "message"),
    [
        pytest.param(["selfnodeclient", "nodeclient"], ["selfnodeclient"],
                     "Auto approving self kubelet client certificate after SubjectAccessReview.",
                     id="valid: renewal approved as selfnodeclient first"),
        pytest.param(["nodeclient"], ["selfnodeclient", "nodeclient"],
                     "Auto approving kubelet client certificate after SubjectAccessReview.",
                     id="valid: renewal falls back to nodeclient"),
        pytest.param([], ["selfnodeclient", "nodeclient"], None, id="invalid: renewal with both denied"),
    ],
)
def test_renewal_tries_selfnodeclient_first(store: Store, allowed: list[str], tried: list[str],
                                            message: str | None) -> None:
    make_csr(store, username="system:node:node-1")
    approver = CsrApprover(store)
    requests, _ = drive(approver.reconcile("csr-abcde", NOW), api(store, allowed))
    sars = [json.loads(r.body)["spec"]["resourceAttributes"]["subresource"] for r in requests if r.method == "POST"]
    assert sars == tried
    stored = store.get("certificatesigningrequests", "", "csr-abcde")
    assert stored is not None
    if message is None:
        assert approver.last_error == ('recognized csr "csr-abcde" as [selfnodeclient nodeclient] '
                                       "but subject access review was not approved")
        assert "conditions" not in stored["status"]
    else:
        assert stored["status"]["conditions"][0]["message"] == message


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"orgs": ("system:masters",)}, id="invalid: organization not system:nodes"),
        pytest.param({"orgs": ()}, id="invalid: no organization"),
        pytest.param({"cn": "node-1"}, id="invalid: CN without system:node: prefix"),
        pytest.param({"dns": ("node-1.example",)}, id="invalid: DNS SAN"),
        pytest.param({"signer": C.KUBE_APISERVER_CLIENT_SIGNER}, id="invalid: other signer"),
        pytest.param({"usages": ["digital signature", "key encipherment", "server auth"]},
                     id="invalid: serving usages"),
        pytest.param({"usages": ["client auth"]}, id="invalid: client auth alone"),
    ],
)
def test_skips_csrs_that_are_not_kubelet_client_requests(store: Store, kwargs: dict[str, Any]) -> None:
    make_csr(store, **kwargs)
    approver = CsrApprover(store)
    requests, result = drive(approver.reconcile("csr-abcde", NOW), api(store, ["nodeclient", "selfnodeclient"]))
    assert (requests, result, approver.last_error) == ([], None, None)


@pytest.mark.parametrize(
    "status",
    [
        pytest.param({"conditions": [{"type": "Approved", "status": "True"}]}, id="valid: already approved"),
        pytest.param({"conditions": [{"type": "Denied", "status": "True"}]}, id="valid: already denied"),
        pytest.param({"certificate": objects.b64("x")}, id="valid: already issued"),
    ],
)
def test_skips_handled_csrs(store: Store, status: dict[str, Any]) -> None:
    make_csr(store, status=status)
    requests, result = drive(CsrApprover(store).reconcile("csr-abcde", NOW), api(store, ["nodeclient"]))
    assert (requests, result) == ([], None)


def test_deleted_csr_is_a_no_op(store: Store) -> None:
    assert drive(CsrApprover(store).reconcile("csr-gone", NOW), api(store, [])) == ([], None)


def test_unparseable_request_is_an_error(store: Store) -> None:
    make_csr(store, request_pem=b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    approver = CsrApprover(store)
    requests, result = drive(approver.reconcile("csr-abcde", NOW), api(store, ["nodeclient"]))
    assert requests == [] and isinstance(result, Requeue)
    assert approver.last_error == 'unable to parse csr "csr-abcde": PEM block type must be CERTIFICATE REQUEST'


@pytest.mark.parametrize(
    ("profile", "usages", "approved"),
    [
        pytest.param(CURRENT, ECDSA_USAGES, True, id="valid: current accepts ECDSA usages"),
        pytest.param(CURRENT, RSA_USAGES, True, id="valid: current accepts key encipherment too"),
        pytest.param(V1_22, RSA_USAGES, True, id="valid: 1.22 with key encipherment"),
        pytest.param(V1_22, ECDSA_USAGES, False, id="invalid: 1.22 requires key encipherment"),
    ],
)
def test_usage_rules_follow_the_profile(store: Store, profile: Profile, usages: list[str], approved: bool) -> None:
    make_csr(store, usages=usages)
    drive(CsrApprover(store, profile).reconcile("csr-abcde", NOW), api(store, ["nodeclient"]))
    stored = store.get("certificatesigningrequests", "", "csr-abcde")
    assert stored is not None and csr.csr_state(stored) == ("Approved" if approved else "Pending")


@pytest.mark.parametrize(
    ("failing", "error"),
    [
        pytest.param("sar", "forbidden", id="invalid: SAR create fails"),
        pytest.param("approval", "error updating approval for csr: forbidden", id="invalid: approval update fails"),
    ],
)
def test_api_errors_requeue(store: Store, failing: str, error: str) -> None:
    make_csr(store)
    approver = CsrApprover(store)

    def respond(request: Request) -> Response:
        if (failing == "sar") == request.path.endswith("subjectaccessreviews"):
            return Response(status=403, body={"message": "forbidden"})
        return Response(status=201, body={"status": {"allowed": True}})
    _, result = drive(approver.reconcile("csr-abcde", NOW), respond)
    assert isinstance(result, Requeue) and approver.last_error == error


def test_backoff_doubles_to_a_cap_and_forgets() -> None:
    backoff = FailureBackoff()
    delays = [backoff.failed("k").after for _ in range(20)]
    assert delays[:3] == [0.005, 0.01, 0.02] and delays[-1] == 1000.0
    backoff.forget("k")
    assert backoff.failures("k") == 0 and backoff.failed("k").after == 0.005


@pytest.mark.parametrize(
    ("type_", "keys"),
    [
        pytest.param("ADDED", ["csr-abcde"], id="valid: added"),
        pytest.param("MODIFIED", ["csr-abcde"], id="valid: updated"),
        pytest.param("DELETED", ["csr-abcde"], id="valid: deleted (then skipped)"),
    ],
)
def test_keys_for(store: Store, type_: str, keys: list[str]) -> None:
    obj = {"metadata": {"name": "csr-abcde"}}
    assert CsrApprover(store).keys_for(event(type_, "certificatesigningrequests", obj)) == keys
    assert CsrApprover(store).keys_for(event(type_, "secrets", obj)) == []


def test_constants(store: Store) -> None:
    make_csr(store)
    approver = CsrApprover(store)
    assert (approver.name, approver.workers, approver.resync_period, approver.initial_keys()) == (
        "csrapproving", 5, None, ["csr-abcde"])
