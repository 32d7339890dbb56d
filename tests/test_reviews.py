"""Test the review APIs: SubjectAccessReview, SelfSubjectAccessReview, SelfSubjectReview."""

from __future__ import annotations

from typing import Any

import pytest

from sim.control.profile import V1_22
from tests.api_fixtures import ADMIN, KCM, NODE_GROUP, TOKEN, call, make_server

SAR = "/apis/authorization.k8s.io/v1/subjectaccessreviews"
SSAR = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
SSR = "/apis/authentication.k8s.io/v1/selfsubjectreviews"
BOOT_GROUPS = ["system:bootstrappers", NODE_GROUP, "system:authenticated"]


def sar(spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": spec}


NODECLIENT = {"verb": "create", "group": "certificates.k8s.io", "resource": "certificatesigningrequests",
              "subresource": "nodeclient"}


def test_controller_asks_whether_a_csr_requester_may_be_auto_approved() -> None:
    api, _ = make_server()
    spec = {"user": "system:bootstrap:abcdef", "groups": BOOT_GROUPS, "resourceAttributes": NODECLIENT}
    response = call(api, "POST", SAR, client=KCM, body=sar(spec))
    assert response.status == 201
    assert response.body == {
        "kind": "SubjectAccessReview", "apiVersion": "authorization.k8s.io/v1", "metadata": {"creationTimestamp": None},
        "spec": spec, "status": {"allowed": True, "reason": (
            'RBAC: allowed by ClusterRoleBinding "kubeadm:node-autoapprove-bootstrap" of ClusterRole '
            f'"system:certificates.k8s.io:certificatesigningrequests:nodeclient" to Group "{NODE_GROUP}"')}}


@pytest.mark.parametrize(("spec", "allowed"), [
    pytest.param({"user": "system:bootstrap:abcdef", "groups": ["system:bootstrappers"],
                  "resourceAttributes": NODECLIENT}, False, id="invalid: token without the node group"),
    pytest.param({"user": "system:node:n1", "groups": ["system:nodes", "system:authenticated"],
                  "resourceAttributes": dict(NODECLIENT, subresource="selfnodeclient")}, True,
                 id="valid: renewal by the node itself"),
    pytest.param({"groups": ["system:unauthenticated"], "nonResourceAttributes": {"path": "/version", "verb": "get"}},
                 True, id="valid: group only, non-resource"),
    pytest.param({"user": "x", "resourceAttributes": {"verb": "get", "resource": "secrets", "namespace": "kube-system",
                                                      "name": "kubeadm-certs"}}, False, id="invalid: plain user"),
])
def test_subject_access_reviews(spec: dict[str, Any], allowed: bool) -> None:
    api, _ = make_server()
    body = call(api, "POST", SAR, client=ADMIN, body=sar(spec)).body
    assert body["status"]["allowed"] is allowed


@pytest.mark.parametrize(("spec", "detail"), [
    pytest.param({"resourceAttributes": NODECLIENT}, 'spec.user: Invalid value: "": at least one of user or group '
                 "must be specified", id="invalid: nobody"),
    pytest.param({"user": "u"}, 'spec.resourceAttributes: Invalid value: "null": exactly one of nonResourceAttributes '
                 "or resourceAttributes must be specified", id="invalid: no attributes"),
    pytest.param({"user": "u", "resourceAttributes": NODECLIENT, "nonResourceAttributes": {"path": "/x", "verb": "get"}},
                 'spec.nonResourceAttributes: Invalid value: authorization.NonResourceAttributes{Path:"/x", Verb:"get"}: '
                 "cannot be specified in combination with resourceAttributes", id="invalid: both attributes"),
])
def test_invalid_subject_access_reviews_are_422(spec: dict[str, Any], detail: str) -> None:
    api, _ = make_server()
    response = call(api, "POST", SAR, client=ADMIN, body=sar(spec))
    assert (response.status, response.body["message"]) == (
        422, f'SubjectAccessReview.authorization.k8s.io "" is invalid: {detail}')


@pytest.mark.parametrize("spec", [
    pytest.param({"user": "u", "resourceAttributes": "x"}, id="invalid: attributes not an object"),
    pytest.param({"user": 5, "resourceAttributes": NODECLIENT}, id="invalid: user not a string"),
    pytest.param({"user": "u", "groups": [1], "resourceAttributes": NODECLIENT}, id="invalid: group not a string"),
    pytest.param({"user": "u", "extra": {"a": "b"}, "resourceAttributes": NODECLIENT}, id="invalid: extra not a list"),
    pytest.param({"user": "u", "resourceAttributes": {"verb": 1}}, id="invalid: verb not a string"),
])
def test_wrongly_typed_reviews_are_400(spec: dict[str, Any]) -> None:
    api, _ = make_server()
    assert call(api, "POST", SAR, client=ADMIN, body=sar(spec)).status == 400


def test_a_bootstrap_token_may_not_create_subject_access_reviews() -> None:
    api, _ = make_server()
    response = call(api, "POST", SAR, bearer=TOKEN, body=sar({"user": "u", "resourceAttributes": NODECLIENT}))
    assert response.status == 403


@pytest.mark.parametrize(("attributes", "allowed"), [
    pytest.param({"resourceAttributes": {"verb": "create", "group": "certificates.k8s.io",
                                         "resource": "certificatesigningrequests"}}, True, id="valid: create CSRs"),
    pytest.param({"resourceAttributes": {"verb": "list", "resource": "secrets", "namespace": "kube-system"}}, False,
                 id="invalid: list secrets"),
    pytest.param({"nonResourceAttributes": {"path": "/healthz", "verb": "get"}}, True, id="valid: health"),
])
def test_self_subject_access_reviews(attributes: dict[str, Any], allowed: bool) -> None:
    api, _ = make_server()
    body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview", "spec": attributes}
    response = call(api, "POST", SSAR, bearer=TOKEN, body=body)
    assert response.status == 201 and response.body["status"]["allowed"] is allowed
    assert response.body["spec"] == attributes


def test_self_subject_review_returns_the_callers_identity() -> None:
    api, _ = make_server()
    response = call(api, "POST", SSR, bearer=TOKEN, body={"apiVersion": "authentication.k8s.io/v1",
                                                          "kind": "SelfSubjectReview"})
    assert (response.status, response.body) == (201, {
        "kind": "SelfSubjectReview", "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"creationTimestamp": "2025-01-01T12:00:00Z"},
        "status": {"userInfo": {"username": "system:bootstrap:abcdef", "groups": BOOT_GROUPS}}})


def test_anonymous_may_not_ask_who_it_is() -> None:
    api, _ = make_server()
    response = call(api, "POST", SSR, body={})
    assert (response.status, response.body["message"]) == (403, (
        'selfsubjectreviews.authentication.k8s.io is forbidden: User "system:anonymous" cannot create resource '
        '"selfsubjectreviews" in API group "authentication.k8s.io" at the cluster scope'))


def test_profile_1_22_has_no_self_subject_review() -> None:
    api, _ = make_server(profile=V1_22)
    assert call(api, "POST", SSR, client=ADMIN, body={}).status == 404
    groups = [g["name"] for g in call(api, "GET", "/apis", client=ADMIN).body["groups"]]
    assert "authentication.k8s.io" not in groups
    assert call(api, "GET", "/version").body["gitVersion"] == "v1.22.17"
