"""Test writes through the API server: decoding errors, create, update, patch, delete and admission."""

from __future__ import annotations

from typing import Any

import pytest

from sim.control.api import ApiServer
from sim.protocol import objects
from tests.api_fixtures import ADMIN, KCM, NOW, TOKEN, call, later, make_server, node_subject

CM = "/api/v1/namespaces/kube-system/configmaps"
SECRETS = "/api/v1/namespaces/kube-system/secrets"


@pytest.fixture
def api() -> ApiServer:
    return make_server()[0]


def cm(name: str = "x", **extra: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}, **extra}


# --- decoding ---

@pytest.mark.parametrize(("raw", "message"), [
    pytest.param(b'{"metadata": ', "the object provided is unrecognized (must be of type ConfigMap): couldn't get "
                 "version/kind; json parse error: unexpected end of JSON input ({\"metadata\": )",
                 id="invalid: truncated JSON"),
    pytest.param(b"", "the object provided is unrecognized (must be of type ConfigMap): couldn't get version/kind; "
                 "json parse error: unexpected end of JSON input (<empty>)", id="invalid: empty body"),
    pytest.param(b"hello", "the object provided is unrecognized (must be of type ConfigMap): couldn't get "
                 "version/kind; json parse error: invalid character 'h' looking for beginning of value (68656c6c6f)",
                 id="invalid: not JSON"),
    pytest.param(b'{"a" 1}', "the object provided is unrecognized (must be of type ConfigMap): couldn't get "
                 "version/kind; json parse error: invalid character '1' after object key ({\"a\" 1})",
                 id="invalid: missing colon"),
    pytest.param(b'{"data": {"k": 1}}', 'ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot '
                 "unmarshal number into Go struct field ConfigMap.data of type string", id="invalid: data value type"),
    pytest.param(b'{"metadata": []}', 'ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot '
                 "unmarshal array into Go struct field ConfigMap.metadata of type v1.ObjectMeta",
                 id="invalid: metadata type"),
    pytest.param(b'{"apiVersion": "apps/v1"}', "the API version in the data (apps/v1) does not match the expected "
                 "API version (v1)", id="invalid: other group"),
])
def test_malformed_bodies_are_400(api: ApiServer, raw: bytes, message: str) -> None:
    response = call(api, "POST", CM, client=ADMIN, raw=raw)
    assert response.status == 400
    assert response.body["reason"] == "BadRequest" and response.body["message"] == message


@pytest.mark.parametrize("raw", [
    pytest.param(b"[]", id="invalid: array"), pytest.param(b"null", id="invalid: null"),
    pytest.param(b"\xff\xfe\x00", id="invalid: binary"), pytest.param(b'"x"', id="invalid: string"),
    pytest.param(b'{"metadata": {"name": 5}}', id="invalid: name type"),
    pytest.param(b'{"metadata": {"labels": {"a": true}}}', id="invalid: label type"),
    pytest.param(b"{" * 5000, id="invalid: deep nesting"),
    pytest.param(b"[" * 100000, id="invalid: deeper than the parser recursion"),
    pytest.param(b'{"a":' * 300 + b"1" + b"}" * 300, id="invalid: valid JSON nested too deep"),
])
def test_garbage_never_escapes_as_5xx(api: ApiServer, raw: bytes) -> None:
    for target in (CM, SECRETS, "/apis/certificates.k8s.io/v1/certificatesigningrequests",
                   "/apis/authorization.k8s.io/v1/subjectaccessreviews"):
        response = call(api, "POST", target, client=ADMIN, raw=raw)
        assert 400 <= response.status < 500, (target, response.body)
    assert 400 <= call(api, "PATCH", f"{CM}/kubeadm-config", client=ADMIN, raw=raw,
                       content_type="application/merge-patch+json").status < 500


@pytest.mark.parametrize(("method", "content_type", "accepted"), [
    pytest.param("POST", "text/plain", "application/json, application/yaml, application/vnd.kubernetes.protobuf",
                 id="invalid: text body"),
    pytest.param("POST", "application/vnd.kubernetes.protobuf",
                 "application/json, application/yaml, application/vnd.kubernetes.protobuf", id="invalid: protobuf"),
    pytest.param("PATCH", "application/json", "application/json-patch+json, application/merge-patch+json, "
                 "application/apply-patch+yaml, application/strategic-merge-patch+json", id="invalid: plain JSON patch"),
])
def test_unsupported_media_types_are_415(api: ApiServer, method: str, content_type: str, accepted: str) -> None:
    target = CM if method == "POST" else f"{CM}/kubeadm-config"
    response = call(api, method, target, client=ADMIN, body=cm(), content_type=content_type)
    assert response.status == 415
    assert response.body["reason"] == "UnsupportedMediaType"
    assert response.body["message"] == f"the body of the request was in an unknown format - accepted media types include: {accepted}"


def test_yaml_and_charset_parameters_are_accepted(api: ApiServer) -> None:
    yaml_body = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\ndata:\n  k: v\n"
    assert call(api, "POST", CM, client=ADMIN, raw=yaml_body, content_type="application/yaml").status == 201
    assert call(api, "POST", CM, client=ADMIN, body=cm("z"), content_type="application/json; charset=utf-8").status == 201


# --- create ---

def test_create_fills_metadata_and_answers_201() -> None:
    api, store = make_server()
    response = call(api, "POST", CM, client=ADMIN, body=cm(metadata={"name": "x", "uid": "forged"}))
    assert response.status == 201
    meta = response.body["metadata"]
    assert meta["namespace"] == "kube-system" and meta["uid"] != "forged"
    assert meta["creationTimestamp"] == "2025-01-01T12:00:00Z" and meta["resourceVersion"] == str(store.revision)
    assert store.get("configmaps", "kube-system", "x") == response.body


def test_write_responses_are_copies_and_leave_what_is_stored_alone() -> None:
    api, store = make_server()
    created = call(api, "POST", CM, client=ADMIN, body=cm()).body
    patched = call(api, "PATCH", f"{CM}/x", client=ADMIN, content_type="application/merge-patch+json",
                   body={"data": {"k": "w"}}).body
    created["data"]["k"] = patched["data"]["k"] = "changed"
    assert store.get("configmaps", "kube-system", "x")["data"] == {"k": "w"}
    assert [e.object["data"] for e in store.events_since(0, "configmaps") if objects.name_of(e.object) == "x"] == [
        {"k": "v"}, {"k": "w"}]


def test_duplicate_create_is_409_already_exists(api: ApiServer) -> None:
    assert call(api, "POST", CM, client=ADMIN, body=cm()).status == 201
    response = call(api, "POST", CM, client=ADMIN, body=cm())
    assert (response.status, response.body) == (409, {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'configmaps "x" already exists', "reason": "AlreadyExists",
        "details": {"name": "x", "kind": "configmaps"}, "code": 409})


def test_namespace_in_body_must_match_the_url(api: ApiServer) -> None:
    response = call(api, "POST", CM, client=ADMIN, body=cm(metadata={"name": "x", "namespace": "default"}))
    assert response.status == 400
    assert response.body["message"] == "the namespace of the provided object does not match the namespace sent on the request"


@pytest.mark.parametrize(("body", "message", "causes"), [
    pytest.param(cm(metadata={}), 'ConfigMap "" is invalid: metadata.name: Required value: name or generateName is '
                 "required", [{"reason": "FieldValueRequired", "message": "Required value: name or generateName is "
                               "required", "field": "metadata.name"}], id="invalid: no name"),
    pytest.param(cm("Bad_Name"), 'ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a '
                 "lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
                 "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
                 r"'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')", None, id="invalid: name format"),
    pytest.param(cm("ok", data={"bad key": "v"}), 'ConfigMap "ok" is invalid: data[bad key]: Invalid value: "bad key": '
                 "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or "
                 "'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')", None,
                 id="invalid: data key"),
])
def test_invalid_objects_are_422(api: ApiServer, body: dict[str, Any], message: str,
                                 causes: list[dict[str, str]] | None) -> None:
    response = call(api, "POST", CM, client=ADMIN, body=body)
    assert response.status == 422 and response.body["reason"] == "Invalid"
    assert response.body["message"] == message
    if causes is not None:
        assert response.body["details"]["causes"] == causes


def test_secrets_default_to_opaque_and_fold_string_data(api: ApiServer) -> None:
    body = {"metadata": {"name": "s"}, "data": {"a": objects.b64("1")}, "stringData": {"a": "2", "b": "3"}}
    created = call(api, "POST", SECRETS, client=ADMIN, body=body).body
    assert created["type"] == "Opaque" and "stringData" not in created
    assert objects.secret_data(created) == {"a": "2", "b": "3"}


def test_secret_data_must_be_base64(api: ApiServer) -> None:
    response = call(api, "POST", SECRETS, client=ADMIN, body={"metadata": {"name": "s"}, "data": {"a": "!!"}})
    assert (response.status, response.body["message"]) == (
        400, 'Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 0')


def test_generate_name(api: ApiServer) -> None:
    body = call(api, "POST", CM, client=ADMIN, body=cm(metadata={"generateName": "gen-"})).body
    assert body["metadata"]["name"].startswith("gen-") and len(body["metadata"]["name"]) == 9


def test_dry_run_stores_nothing() -> None:
    api, store = make_server()
    response = call(api, "POST", f"{CM}?dryRun=All", client=ADMIN, body=cm())
    assert response.status == 201 and store.get("configmaps", "kube-system", "x") is None


# --- update ---

def test_update_with_the_current_resource_version_succeeds_and_a_stale_one_is_409() -> None:
    api, store = make_server()
    current = store.get("configmaps", "kube-system", "kubeadm-config")
    assert current is not None
    updated = dict(current, data={"ClusterConfiguration": "y"})
    first = call(api, "PUT", f"{CM}/kubeadm-config", client=ADMIN, body=updated)
    assert first.status == 200 and int(first.body["metadata"]["resourceVersion"]) > int(current["metadata"]["resourceVersion"])
    stale = call(api, "PUT", f"{CM}/kubeadm-config", client=ADMIN, body=updated)
    assert (stale.status, stale.body) == (409, {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'Operation cannot be fulfilled on configmaps "kubeadm-config": the object has been modified; '
                   "please apply your changes to the latest version and try again",
        "reason": "Conflict", "details": {"name": "kubeadm-config", "kind": "configmaps"}, "code": 409})


@pytest.mark.parametrize(("target", "body", "code", "message"), [
    pytest.param(f"{CM}/kubeadm-config", cm("other"), 400,
                 "the name of the object (other) does not match the name on the URL (kubeadm-config)",
                 id="invalid: name mismatch"),
    pytest.param(f"{CM}/missing", cm("missing"), 404, 'configmaps "missing" not found', id="invalid: no create on update"),
])
def test_update_errors(api: ApiServer, target: str, body: dict[str, Any], code: int, message: str) -> None:
    response = call(api, "PUT", target, client=ADMIN, body=body)
    assert (response.status, response.body["message"]) == (code, message)


def test_secret_type_is_immutable() -> None:
    api, store = make_server()
    secret = store.get("secrets", "kube-system", "bootstrap-token-abcdef")
    assert secret is not None
    response = call(api, "PUT", f"{SECRETS}/bootstrap-token-abcdef", client=ADMIN, body=dict(secret, type="Opaque"))
    assert response.status == 422
    assert response.body["message"] == 'Secret "bootstrap-token-abcdef" is invalid: type: Invalid value: "Opaque": field is immutable'


# --- patch ---

def _node(name: str = "node-1") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
            "spec": {}, "status": {"conditions": [{"type": "Ready", "status": "False"}]}}


def test_kubelet_registers_and_kubeadm_annotates_its_node() -> None:
    api, _ = make_server()
    created = call(api, "POST", "/api/v1/nodes", client=node_subject(), body=_node())
    assert created.status == 201 and created.body["status"]["conditions"][0]["type"] == "Ready"
    patch = {"metadata": {"annotations": {"kubeadm.alpha.kubernetes.io/cri-socket": "unix:///run/containerd.sock"}}}
    patched = call(api, "PATCH", "/api/v1/nodes/node-1", client=node_subject(), body=patch,
                   content_type="application/strategic-merge-patch+json")
    assert patched.status == 200
    assert patched.body["metadata"]["annotations"] == patch["metadata"]["annotations"]
    assert patched.body["metadata"]["labels"] == {"kubernetes.io/hostname": "node-1"}
    ready = {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    status = call(api, "PATCH", "/api/v1/nodes/node-1/status", client=node_subject(), body=ready,
                  content_type="application/merge-patch+json")
    assert status.status == 200 and status.body["status"]["conditions"] == [{"type": "Ready", "status": "True"}]


def test_main_resource_updates_ignore_status_and_status_updates_ignore_the_rest() -> None:
    api, _ = make_server()
    call(api, "POST", "/api/v1/nodes", client=ADMIN, body=_node())
    main = call(api, "PATCH", "/api/v1/nodes/node-1", client=ADMIN, content_type="application/merge-patch+json",
                body={"status": {"phase": "x"}, "spec": {"unschedulable": True}}).body
    assert main["spec"] == {"unschedulable": True} and "phase" not in main["status"]
    sub = call(api, "PATCH", "/api/v1/nodes/node-1/status", client=ADMIN, content_type="application/merge-patch+json",
               body={"status": {"phase": "x"}, "spec": {"unschedulable": False}}).body
    assert sub["spec"] == {"unschedulable": True} and sub["status"]["phase"] == "x"


@pytest.mark.parametrize(("method", "target", "body"), [
    pytest.param("POST", "/api/v1/nodes", _node("node-2"), id="invalid: register another node"),
    pytest.param("PATCH", "/api/v1/nodes/node-2", {"metadata": {"labels": {"a": "b"}}}, id="invalid: patch another node"),
    pytest.param("PATCH", "/api/v1/nodes/node-2/status", {"status": {}}, id="invalid: another node's status"),
])
def test_node_restriction(method: str, target: str, body: dict[str, Any]) -> None:
    api, _ = make_server()
    call(api, "POST", "/api/v1/nodes", client=ADMIN, body=_node("node-2"))
    response = call(api, method, target, client=node_subject("node-1"), body=body,
                    content_type="application/merge-patch+json" if method == "PATCH" else "application/json")
    assert (response.status, response.body["message"], response.body["details"]) == (
        403, 'nodes "node-2" is forbidden: node "node-1" is not allowed to modify node "node-2"',
        {"name": "node-2", "kind": "nodes"})


@pytest.mark.parametrize(("patch", "expected"), [
    pytest.param([{"op": "add", "path": "/data/new", "value": "1"}], {"ClusterConfiguration": "x", "new": "1"},
                 id="valid: add"),
    pytest.param([{"op": "replace", "path": "/data/ClusterConfiguration", "value": "z"}], {"ClusterConfiguration": "z"},
                 id="valid: replace"),
    pytest.param([{"op": "remove", "path": "/data/ClusterConfiguration"}], {}, id="valid: remove"),
])
def test_json_patch(api: ApiServer, patch: list[dict[str, Any]], expected: dict[str, str]) -> None:
    response = call(api, "PATCH", f"{CM}/kubeadm-config", client=ADMIN, body=patch,
                    content_type="application/json-patch+json")
    assert response.status == 200 and (response.body.get("data") or {}) == expected


def test_json_patch_that_does_not_apply_is_422(api: ApiServer) -> None:
    response = call(api, "PATCH", f"{CM}/kubeadm-config", client=ADMIN, content_type="application/json-patch+json",
                    body=[{"op": "remove", "path": "/data/missing"}])
    assert response.status == 422
    assert response.body["message"] == 'remove operation does not apply: doc is missing path: "/data/missing": missing value'


def test_patch_cannot_rename(api: ApiServer) -> None:
    response = call(api, "PATCH", f"{CM}/kubeadm-config", client=ADMIN, content_type="application/merge-patch+json",
                    body={"metadata": {"name": "renamed"}})
    assert response.status == 422
    assert response.body["message"] == ('ConfigMap "kubeadm-config" is invalid: metadata.name: Invalid value: '
                                        '"renamed": field is immutable')


def test_patch_with_a_stale_resource_version_is_409(api: ApiServer) -> None:
    response = call(api, "PATCH", f"{CM}/kubeadm-config", client=ADMIN, content_type="application/merge-patch+json",
                    body={"metadata": {"resourceVersion": "1"}})
    assert response.status == 409 and response.body["reason"] == "Conflict"


# --- delete ---

def test_delete_answers_the_success_status() -> None:
    api, store = make_server()
    uid = store.get("secrets", "kube-system", "bootstrap-token-abcdef")["metadata"]["uid"]  # type: ignore[index]
    response = call(api, "DELETE", f"{SECRETS}/bootstrap-token-abcdef", client=KCM,
                    body={"kind": "DeleteOptions", "apiVersion": "v1", "preconditions": {"uid": uid}})
    assert (response.status, response.body) == (200, {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
        "details": {"name": "bootstrap-token-abcdef", "kind": "secrets", "uid": uid}})
    assert store.get("secrets", "kube-system", "bootstrap-token-abcdef") is None
    again = call(api, "DELETE", f"{SECRETS}/bootstrap-token-abcdef", client=KCM)
    assert (again.status, again.body["message"]) == (404, 'secrets "bootstrap-token-abcdef" not found')


def test_delete_with_a_stale_uid_precondition_is_409() -> None:
    api, store = make_server()
    uid = store.get("secrets", "kube-system", "bootstrap-token-abcdef")["metadata"]["uid"]  # type: ignore[index]
    response = call(api, "DELETE", f"{SECRETS}/bootstrap-token-abcdef", client=KCM,
                    body={"preconditions": {"uid": "0000"}})
    assert (response.status, response.body) == (409, {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'Operation cannot be fulfilled on secrets "bootstrap-token-abcdef": Precondition failed: UID in '
                   f"precondition: 0000, UID in object meta: {uid}",
        "reason": "Conflict", "details": {"name": "bootstrap-token-abcdef", "kind": "secrets"}, "code": 409})
    assert store.get("secrets", "kube-system", "bootstrap-token-abcdef") is not None


def test_delete_of_a_grouped_resource_names_the_group() -> None:
    api, _ = make_server()
    response = call(api, "DELETE", "/apis/rbac.authorization.k8s.io/v1/clusterroles/kubeadm:get-nodes", client=ADMIN)
    assert response.body["details"]["group"] == "rbac.authorization.k8s.io"
    assert call(api, "GET", "/api/v1/nodes/x", bearer=TOKEN, now=later(1)).status == 403


def test_namespace_lifecycle(api: ApiServer) -> None:
    created = call(api, "POST", "/api/v1/namespaces", client=ADMIN, body={"metadata": {"name": "team-a"}})
    assert created.status == 201 and created.body["status"] == {"phase": "Active"}
    bad = call(api, "POST", "/api/v1/namespaces", client=ADMIN, body={"metadata": {"name": "team.a"}})
    assert bad.status == 422
    gone = call(api, "DELETE", "/api/v1/namespaces/team-a", client=ADMIN)
    assert gone.status == 200 and gone.body["status"] == {"phase": "Terminating"}
    assert gone.body["metadata"]["deletionTimestamp"] == "2025-01-01T12:00:00Z"


def test_writes_need_authorization_before_anything_else(api: ApiServer) -> None:
    response = call(api, "POST", CM, bearer=TOKEN, raw=b"garbage")
    assert response.status == 403
    assert call(api, "DELETE", f"{SECRETS}/missing", bearer=TOKEN).status == 403
    assert NOW is not None


@pytest.mark.parametrize(("body", "code"), [
    pytest.param({"metadata": {"name": "r"}, "rules": [5]}, 400, id="invalid: rule not an object"),
    pytest.param({"metadata": {"name": "r"}, "rules": [{"verbs": "get"}]}, 400, id="invalid: verbs not a list"),
    pytest.param({"metadata": {"name": "r"}, "rules": [{"apiGroups": [""], "resources": ["x"]}]}, 422,
                 id="invalid: no verbs"),
    pytest.param({"metadata": {"name": "r"}, "rules": [{"verbs": ["get"], "resources": ["x"]}]}, 422,
                 id="invalid: resources without api groups"),
    pytest.param({"metadata": {"name": "system:r"}, "rules": [{"verbs": ["get"], "nonResourceURLs": ["/x"]}]}, 201,
                 id="valid: colon in the name"),
    pytest.param({"metadata": {"name": "a/b"}, "rules": []}, 422, id="invalid: slash in the name"),
])
def test_cluster_roles_are_checked_before_they_can_break_authorization(body: dict[str, Any], code: int) -> None:
    api, _ = make_server()
    response = call(api, "POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles", client=ADMIN, body=body)
    assert response.status == code
    assert call(api, "GET", "/api/v1/nodes/x", bearer=TOKEN).status == 404


def test_binding_subjects_are_validated() -> None:
    api, _ = make_server()
    body = {"metadata": {"name": "b"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                                   "name": "cluster-admin"},
            "subjects": [{"kind": "Robot", "name": "r"}]}
    response = call(api, "POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", client=ADMIN, body=body)
    assert (response.status, response.body["message"]) == (422, (
        'ClusterRoleBinding.rbac.authorization.k8s.io "b" is invalid: subjects[0].kind: Unsupported value: "Robot": '
        'supported values: "ServiceAccount", "User", "Group"'))
