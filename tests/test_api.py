"""Test the API server's request pipeline and reads: order of checks, exact error bodies, routes, lists."""

from __future__ import annotations

from typing import Any

import pytest

from sim.control.api import ApiServer
from sim.protocol import objects
from sim.protocol.constants import MAX_REQUEST_BODY_BYTES
from tests.api_fixtures import ADMIN, CSR_PATH, NOW, TOKEN, call, csr_body, make_server, node_subject

CM = "/api/v1/namespaces/kube-system/configmaps"


def failure(code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                           "message": message, "reason": reason}
    if details is not None:
        out["details"] = details
    out["code"] = code
    return out


NOT_FOUND_PATH = failure(404, "NotFound", "the server could not find the requested resource", {})


@pytest.fixture
def api() -> ApiServer:
    return make_server()[0]


# --- recorded bodies (docs/PROTOCOL.md section 14) ---

def test_anonymous_reads_cluster_info(api: ApiServer) -> None:
    response = call(api, "GET", "/api/v1/namespaces/kube-public/configmaps/cluster-info?timeout=10s")
    assert response.status == 200
    assert response.body["kind"] == "ConfigMap" and response.body["data"] == {"kubeconfig": "apiVersion: v1\n"}


@pytest.mark.parametrize(("method", "target", "body", "expected"), [
    pytest.param("POST", CSR_PATH, csr_body(), failure(
        403, "Forbidden", 'certificatesigningrequests.certificates.k8s.io is forbidden: User "system:anonymous" cannot '
        'create resource "certificatesigningrequests" in API group "certificates.k8s.io" at the cluster scope',
        {"group": "certificates.k8s.io", "kind": "certificatesigningrequests"}), id="invalid: cluster scope"),
    pytest.param("GET", f"{CM}/kubeadm-config", None, failure(
        403, "Forbidden", 'configmaps "kubeadm-config" is forbidden: User "system:anonymous" cannot get resource '
        '"configmaps" in API group "" in the namespace "kube-system"', {"name": "kubeadm-config", "kind": "configmaps"}),
        id="invalid: namespaced and named"),
    pytest.param("GET", "/api/v1/namespaces/kube-public/configmaps/missing", None, failure(
        403, "Forbidden", 'configmaps "missing" is forbidden: User "system:anonymous" cannot get resource '
        '"configmaps" in API group "" in the namespace "kube-public"', {"name": "missing", "kind": "configmaps"}),
        id="invalid: authorization comes before lookup"),
    pytest.param("GET", "/api/v1/namespaces/kube-system/secrets", None, failure(
        403, "Forbidden", 'secrets is forbidden: User "system:anonymous" cannot list resource "secrets" in API group '
        '"" in the namespace "kube-system"', {"kind": "secrets"}), id="invalid: anonymous lists secrets"),
    pytest.param("GET", "/api", None, failure(
        403, "Forbidden", 'forbidden: User "system:anonymous" cannot get path "/api"', {}),
        id="invalid: anonymous discovery (non-resource 403 has empty details)"),
])
def test_anonymous_is_refused_with_the_recorded_bodies(api: ApiServer, method: str, target: str, body: Any,
                                                       expected: dict[str, Any]) -> None:
    response = call(api, method, target, body=body)
    assert (response.status, response.body) == (403, expected)


def test_bootstrap_token_gets_404_for_a_missing_node(api: ApiServer) -> None:
    response = call(api, "GET", "/api/v1/nodes/node-1", bearer=TOKEN)
    assert (response.status, response.body) == (404, failure(404, "NotFound", 'nodes "node-1" not found',
                                                            {"name": "node-1", "kind": "nodes"}))


def test_bootstrap_token_cannot_read_secrets(api: ApiServer) -> None:
    response = call(api, "GET", "/api/v1/namespaces/kube-system/secrets/bootstrap-token-abcdef", bearer=TOKEN)
    assert response.status == 403
    assert response.body["message"] == (
        'secrets "bootstrap-token-abcdef" is forbidden: User "system:bootstrap:abcdef" cannot get resource '
        '"secrets" in API group "" in the namespace "kube-system"')


def test_bootstrap_token_reads_kubeadm_config_but_not_kube_proxy(api: ApiServer) -> None:
    assert call(api, "GET", f"{CM}/kubeadm-config", bearer=TOKEN).status == 200
    assert call(api, "GET", f"{CM}/kube-proxy", bearer=TOKEN).status == 403


def test_node_authorizer_reason_is_appended_to_the_403(api: ApiServer) -> None:
    response = call(api, "GET", "/api/v1/namespaces/kube-system/secrets/x", client=node_subject())
    assert response.body["message"] == (
        'secrets "x" is forbidden: User "system:node:node-1" cannot get resource "secrets" in API group "" in the '
        'namespace "kube-system": no relationship found between node "node-1" and this object')


# --- routes ---

@pytest.mark.parametrize("target", [
    pytest.param("/foo", id="invalid: unknown non-resource path"),
    pytest.param("/api/v1/foos", id="invalid: unknown core resource"),
    pytest.param("/apis/apps/v1/deployments", id="invalid: group not served"),
    pytest.param("/apis/certificates.k8s.io/v1beta1/certificatesigningrequests", id="invalid: version not served"),
    pytest.param("/api/v1/nodes/n/proxy", id="invalid: unknown subresource"),
    pytest.param("/api/v1/configmaps/x", id="invalid: namespaced object without namespace"),
    pytest.param("/api/v1/namespaces/default/nodes", id="invalid: cluster-scoped resource in a namespace"),
    pytest.param("/apis/nope", id="invalid: unknown group document"),
])
def test_unknown_paths_are_404(api: ApiServer, target: str) -> None:
    response = call(api, "GET", target, client=ADMIN)
    assert (response.status, response.body) == (404, NOT_FOUND_PATH)


@pytest.mark.parametrize(("method", "target"), [
    pytest.param("POST", f"{CM}/x", id="invalid: create with a name"),
    pytest.param("PUT", CM, id="invalid: update a collection"),
    pytest.param("DELETE", CM, id="invalid: deletecollection is not served"),
    pytest.param("GET", "/apis/authorization.k8s.io/v1/subjectaccessreviews", id="invalid: list reviews"),
    pytest.param("POST", "/version", id="invalid: post to version"),
    pytest.param("DELETE", "/api/v1/nodes/n/status", id="invalid: delete a subresource"),
])
def test_methods_a_path_does_not_take_are_405(api: ApiServer, method: str, target: str) -> None:
    response = call(api, method, target, client=ADMIN, body={} if method in ("POST", "PUT") else None)
    assert (response.status, response.body) == (405, failure(
        405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {}))


@pytest.mark.parametrize("path", ["/healthz", "/livez", "/readyz"])
def test_health_endpoints_answer_ok_to_anyone(api: ApiServer, path: str) -> None:
    response = call(api, "GET", path)
    assert (response.status, response.text, response.encode()) == (200, "ok", b"ok")
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"


def test_version_reports_the_profile(api: ApiServer) -> None:
    body = call(api, "GET", "/version").body
    assert (body["major"], body["minor"], body["gitVersion"]) == ("1", "34", "v1.34.0")
    assert call(api, "GET", "/version/").status == 200


def test_discovery_documents(api: ApiServer) -> None:
    assert call(api, "GET", "/api", bearer=TOKEN).body["versions"] == ["v1"]
    core = call(api, "GET", "/api/v1", bearer=TOKEN).body
    assert "apiVersion" not in core and core["groupVersion"] == "v1"
    by_name = {r["name"]: r for r in core["resources"]}
    assert by_name["configmaps"] == {"name": "configmaps", "singularName": "configmap", "namespaced": True,
                                     "kind": "ConfigMap", "shortNames": ["cm"],
                                     "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]}
    assert by_name["nodes/status"]["verbs"] == ["get", "patch", "update"]
    groups = call(api, "GET", "/apis", bearer=TOKEN).body
    assert [g["name"] for g in groups["groups"]] == [
        "authentication.k8s.io", "authorization.k8s.io", "certificates.k8s.io", "rbac.authorization.k8s.io"]
    certs = call(api, "GET", "/apis/certificates.k8s.io/v1", bearer=TOKEN).body
    assert certs["groupVersion"] == "certificates.k8s.io/v1"
    assert {r["name"] for r in certs["resources"]} == {
        "certificatesigningrequests", "certificatesigningrequests/approval", "certificatesigningrequests/status"}
    assert call(api, "GET", "/apis/certificates.k8s.io", bearer=TOKEN).body["preferredVersion"]["version"] == "v1"


# --- lists ---

def _secrets(api: ApiServer, query: str = "") -> Any:
    return call(api, "GET", f"/api/v1/namespaces/kube-system/secrets{query}", client=ADMIN)


def test_list_returns_a_typed_list_with_the_store_revision() -> None:
    api, store = make_server()
    store.create("secrets", objects.secret("other", "kube-system", {"a": "b"}), NOW)
    response = _secrets(api)
    assert response.status == 200
    body = response.body
    assert (body["kind"], body["apiVersion"]) == ("SecretList", "v1")
    assert body["metadata"] == {"resourceVersion": str(store.revision)}
    assert [i["metadata"]["name"] for i in body["items"]] == ["bootstrap-token-abcdef", "other"]
    assert all("kind" not in i and "apiVersion" not in i for i in body["items"])


@pytest.mark.parametrize(("query", "names"), [
    pytest.param("?fieldSelector=type%3Dbootstrap.kubernetes.io%2Ftoken", ["bootstrap-token-abcdef"],
                 id="valid: type (kubeadm token list)"),
    pytest.param("?fieldSelector=type=bootstrap.kubernetes.io/token", ["bootstrap-token-abcdef"],
                 id="valid: type, unescaped"),
    pytest.param("?fieldSelector=type!=bootstrap.kubernetes.io/token", ["other"], id="valid: negated type"),
    pytest.param("?fieldSelector=metadata.name=other", ["other"], id="valid: name"),
    pytest.param("?fieldSelector=metadata.name=other,type=Opaque", ["other"], id="valid: two terms"),
    pytest.param("?labelSelector=app=x", ["other"], id="valid: label"),
    pytest.param("?labelSelector=!app", ["bootstrap-token-abcdef"], id="valid: label absent"),
])
def test_list_selectors(query: str, names: list[str]) -> None:
    from urllib.parse import unquote
    api, store = make_server()
    other = objects.secret("other", "kube-system", {"a": "b"})
    other["metadata"]["labels"] = {"app": "x"}
    store.create("secrets", other, NOW)
    response = _secrets(api, query if "%" not in query else unquote(query))
    assert [i["metadata"]["name"] for i in response.body["items"]] == names


@pytest.mark.parametrize(("query", "message"), [
    pytest.param("?fieldSelector=spec.foo=x", "field label not supported: spec.foo", id="invalid: unknown field"),
    pytest.param("?fieldSelector=garbage", "invalid selector: 'garbage'; can't understand 'garbage'",
                 id="invalid: no operator"),
])
def test_bad_field_selectors_are_400(api: ApiServer, query: str, message: str) -> None:
    response = _secrets(api, query)
    assert (response.status, response.body) == (400, failure(400, "BadRequest", message))


def test_list_across_namespaces(api: ApiServer) -> None:
    body = call(api, "GET", "/api/v1/configmaps", client=ADMIN).body
    assert {(i["metadata"]["namespace"], i["metadata"]["name"]) for i in body["items"]} == {
        ("kube-public", "cluster-info"), ("kube-system", "kubeadm-config")}


def test_an_unexpected_exception_becomes_a_500_status(api: ApiServer, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_: Any) -> Any:
        raise RuntimeError("disk on fire")
    monkeypatch.setattr(api.registry, "get", boom)
    response = call(api, "GET", f"{CM}/kubeadm-config", client=ADMIN)
    assert (response.status, response.body) == (500, failure(
        500, "InternalError", "Internal error occurred: RuntimeError: disk on fire",
        {"causes": [{"message": "RuntimeError: disk on fire"}]}))


def test_body_over_3_mib_is_413(api: ApiServer) -> None:
    raw = b"{" + b" " * MAX_REQUEST_BODY_BYTES + b"}"
    response = call(api, "POST", CM, client=ADMIN, raw=raw)
    assert (response.status, response.body) == (413, failure(
        413, "RequestEntityTooLarge", "Request entity too large: limit is 3145728"))


def test_body_exactly_at_the_limit_is_read(api: ApiServer) -> None:
    raw = b'{"metadata":{"name":"big"}}' + b" " * (MAX_REQUEST_BODY_BYTES - 27)
    assert call(api, "POST", CM, client=ADMIN, raw=raw).status == 201
