"""Test the API server's helpers: request attributes, selectors, patches and Go-style field errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sim.control import decode, status, validation as v
from sim.control.patch import PatchError, json_patch, merge_patch, strategic_merge_patch
from sim.control.requestinfo import RequestInfo, parse_request_info
from sim.control.selectors import parse_field_selector, parse_label_selector, matches_labels
from sim.protocol.errors import ApiStatusError


def info(**kw: Any) -> RequestInfo:
    base: dict[str, Any] = dict(is_resource_request=True, api_prefix="api", api_version="v1")
    base.update(kw)
    return RequestInfo(**base)


@pytest.mark.parametrize(("method", "target", "expected"), [
    pytest.param("GET", "/version", RequestInfo(is_resource_request=False, path="/version", verb="get"),
                 id="valid: non-resource"),
    pytest.param("HEAD", "/healthz", RequestInfo(is_resource_request=False, path="/healthz", verb="head"),
                 id="valid: non-resource verb is the method"),
    pytest.param("GET", "/api/v1", RequestInfo(is_resource_request=False, path="/api/v1", verb="get"),
                 id="valid: version discovery is non-resource"),
    pytest.param("GET", "/apis/certificates.k8s.io/v1",
                 RequestInfo(is_resource_request=False, path="/apis/certificates.k8s.io/v1", verb="get"),
                 id="valid: group version discovery is non-resource"),
    pytest.param("GET", "/api/v1/namespaces/kube-public/configmaps/cluster-info",
                 info(path="/api/v1/namespaces/kube-public/configmaps/cluster-info", verb="get", namespace="kube-public",
                      resource="configmaps", name="cluster-info", parts=("configmaps", "cluster-info")),
                 id="valid: namespaced get"),
    pytest.param("GET", "/api/v1/namespaces/kube-system/secrets",
                 info(path="/api/v1/namespaces/kube-system/secrets", verb="list", namespace="kube-system",
                      resource="secrets", parts=("secrets",)), id="valid: list"),
    pytest.param("GET", "/apis/certificates.k8s.io/v1/certificatesigningrequests?watch=true&fieldSelector=metadata.name=c",
                 info(path="/apis/certificates.k8s.io/v1/certificatesigningrequests", verb="watch", api_prefix="apis",
                      api_group="certificates.k8s.io", resource="certificatesigningrequests", name="c",
                      parts=("certificatesigningrequests",)), id="valid: watch by field selector name"),
    pytest.param("PUT", "/apis/certificates.k8s.io/v1/certificatesigningrequests/c/approval",
                 info(path="/apis/certificates.k8s.io/v1/certificatesigningrequests/c/approval", verb="update",
                      api_prefix="apis", api_group="certificates.k8s.io", resource="certificatesigningrequests",
                      name="c", subresource="approval", parts=("certificatesigningrequests", "c", "approval")),
                 id="valid: subresource"),
    pytest.param("GET", "/api/v1/namespaces/kube-system",
                 info(path="/api/v1/namespaces/kube-system", verb="get", namespace="kube-system", resource="namespaces",
                      name="kube-system", parts=("namespaces", "kube-system")), id="valid: a namespace"),
    pytest.param("DELETE", "/api/v1/namespaces/default/configmaps",
                 info(path="/api/v1/namespaces/default/configmaps", verb="deletecollection", namespace="default",
                      resource="configmaps", parts=("configmaps",)), id="valid: deletecollection"),
    pytest.param("GET", "/api/v1/watch/nodes",
                 info(path="/api/v1/watch/nodes", verb="watch", resource="nodes", parts=("nodes",)),
                 id="valid: deprecated watch prefix"),
])
def test_request_info(method: str, target: str, expected: RequestInfo) -> None:
    path, _, query = target.partition("?")
    params = dict(p.split("=", 1) for p in query.split("&")) if query else {}
    assert parse_request_info(method, path, params) == expected


@pytest.mark.parametrize(("raw", "parsed"), [
    pytest.param("type=x", [("type", "=", ("x",))], id="valid: equals"),
    pytest.param("type==x,metadata.name!=y", [("type", "=", ("x",)), ("metadata.name", "!=", ("y",))],
                 id="valid: two terms"),
    pytest.param(r"metadata.name=a\,b", [("metadata.name", "=", ("a,b",))], id="valid: escaped comma"),
    pytest.param("", [], id="valid: empty"),
])
def test_field_selectors(raw: str, parsed: list[Any]) -> None:
    assert parse_field_selector(raw) == parsed


@pytest.mark.parametrize(("raw", "labels", "matches"), [
    pytest.param("a=b", {"a": "b"}, True, id="valid: equal"),
    pytest.param("a!=b", {}, True, id="valid: not equal matches absence"),
    pytest.param("a in (x, y)", {"a": "y"}, True, id="valid: in"),
    pytest.param("a notin (x)", {"a": "x"}, False, id="invalid: notin"),
    pytest.param("a,!b", {"a": "1"}, True, id="valid: exists and absent"),
])
def test_label_selectors(raw: str, labels: dict[str, str], matches: bool) -> None:
    assert matches_labels({"metadata": {"labels": labels}}, parse_label_selector(raw)) is matches


def test_bad_label_selector_is_400() -> None:
    with pytest.raises(ApiStatusError) as err:
        parse_label_selector("a in x")
    assert err.value.code == 400


# RFC 7386 appendix A, a selection.
@pytest.mark.parametrize(("target", "patch", "result"), [
    pytest.param({"a": "b"}, {"a": "c"}, {"a": "c"}, id="valid: replace"),
    pytest.param({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}, id="valid: add"),
    pytest.param({"a": "b"}, {"a": None}, {}, id="valid: delete"),
    pytest.param({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}, id="valid: lists replace"),
    pytest.param({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}, id="valid: nested"),
    pytest.param(["a", "b"], ["c", "d"], ["c", "d"], id="valid: top-level list"),
])
def test_merge_patch(target: Any, patch: Any, result: Any) -> None:
    assert merge_patch(target, patch) == result


def test_strategic_merge_patch_merges_conditions_by_type() -> None:
    target = {"status": {"conditions": [{"type": "Ready", "status": "False"}, {"type": "DiskPressure", "status": "False"}]}}
    patch = {"status": {"conditions": [{"type": "Ready", "status": "True"}, {"type": "PIDPressure", "status": "False"},
                                       {"type": "DiskPressure", "$patch": "delete"}]}}
    assert strategic_merge_patch(target, patch) == {"status": {"conditions": [
        {"type": "Ready", "status": "True"}, {"type": "PIDPressure", "status": "False"}]}}


@pytest.mark.parametrize(("ops", "result"), [
    pytest.param([{"op": "move", "from": "/a", "path": "/b"}], {"b": 1}, id="valid: move"),
    pytest.param([{"op": "copy", "from": "/a", "path": "/b"}], {"a": 1, "b": 1}, id="valid: copy"),
    pytest.param([{"op": "test", "path": "/a", "value": 1}], {"a": 1}, id="valid: test"),
    pytest.param([{"op": "add", "path": "/l/-", "value": 3}, {"op": "add", "path": "/l/0", "value": 0}],
                 {"a": 1, "l": [0, 2, 3]}, id="valid: list append and insert"),
])
def test_json_patch(ops: list[dict[str, Any]], result: Any) -> None:
    target: dict[str, Any] = {"a": 1}
    if any("/l" in o["path"] for o in ops):
        target["l"] = [2]
    assert json_patch(target, ops) == result


def test_json_patch_test_failure() -> None:
    with pytest.raises(PatchError, match="testing value /a failed"):
        json_patch({"a": 1}, [{"op": "test", "path": "/a", "value": 2}])


@pytest.mark.parametrize(("value", "quoted"), [
    pytest.param("plain", '"plain"', id="valid: plain"),
    pytest.param('q"\\', '"q\\"\\\\"', id="valid: escapes"),
    pytest.param("\x01\n", '"\\x01\\n"', id="valid: control characters"),
])
def test_go_quote(value: str, quoted: str) -> None:
    assert v.go_quote(value) == quoted


def test_go_bytes_and_error_bodies() -> None:
    assert v.go_bytes(b"\n\x00\xff") == "[]byte{0xa, 0x0, 0xff}"
    assert str(v.required("spec.usages")) == "spec.usages: Required value"
    assert str(v.forbidden("f", "no")) == "f: Forbidden: no"
    assert str(v.not_supported("f", '"x"', ["a", "b"])) == 'f: Unsupported value: "x": supported values: "a", "b"'
    assert str(v.too_long("f", 3)) == "f: Too long: may not be more than 3 bytes"
    err = status.invalid("ConfigMap", "", "x", [v.required("a"), v.required("a")])
    assert err.status["message"] == 'ConfigMap "x" is invalid: a: Required value'
    assert len(err.status["details"]["causes"]) == 2


@pytest.mark.parametrize(("text", "deep"), [
    pytest.param("[" * 255 + "1" + "]" * 255, False, id="valid: 256 levels with the leaf"),
    pytest.param("[" * 256 + "]" * 256, False, id="valid: 256 empty levels"),
    pytest.param("[" * 256 + "1" + "]" * 256, True, id="invalid: 257 levels with the leaf"),
    pytest.param('{"a":' * 257 + "{}" + "}" * 257, True, id="invalid: 258 object levels"),
    pytest.param(json.dumps({"s": "[{" * 300}), False, id="valid: brackets inside a string"),
    pytest.param(json.dumps([{"a": [1, {"b": "[" * 300}]}] * 3), False, id="valid: shallow and bracket-heavy"),
])
def test_json_depth_check_agrees_with_the_walk(text: str, deep: bool) -> None:
    value = json.loads(text)
    assert decode.too_deep(value) is deep
    assert decode.json_too_deep(text, value) is deep
