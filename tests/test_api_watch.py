"""Test watches: prepare_watch's WatchSpec for drivers and handle's snapshot answer."""

from __future__ import annotations

import pytest

from sim.control.watch import WatchSpec
from sim.protocol import objects
from tests.api_fixtures import ADMIN, CSR_PATH, NOW, TOKEN, call, csr_body, make_server
from sim.protocol.http import Request

SECRETS = "/api/v1/namespaces/kube-system/secrets"


def test_watch_with_a_resource_version_delivers_later_changes_only() -> None:
    api, store = make_server()
    start = store.revision
    store.create("secrets", objects.secret("a", "kube-system", {"k": "v"}), NOW)
    store.create("configmaps", objects.configmap("c", "kube-system", {}), NOW)
    store.delete("secrets", "kube-system", "a")
    spec = api.prepare_watch(Request.build("GET", f"{SECRETS}?watch=1&resourceVersion={start}", client=ADMIN), NOW)
    assert isinstance(spec, WatchSpec)
    assert (spec.resource, spec.namespace, spec.name, spec.resource_version) == ("secrets", "kube-system", None, start)
    events = [spec.event_json(e) for e in store.events_since(spec.resource_version) if spec.matches(e)]
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "a"), ("DELETED", "a")]
    assert events[0]["object"]["kind"] == "Secret"


def test_watch_without_a_resource_version_starts_with_the_current_objects() -> None:
    api, store = make_server()
    spec = api.prepare_watch(Request.build("GET", f"{SECRETS}?watch=true", client=ADMIN), NOW)
    assert isinstance(spec, WatchSpec) and spec.resource_version == store.revision
    assert [e["object"]["metadata"]["name"] for e in spec.initial_events] == ["bootstrap-token-abcdef"]


def test_type_and_name_selectors() -> None:
    api, store = make_server()
    target = f"{SECRETS}?watch=true&resourceVersion=1&fieldSelector=type=bootstrap.kubernetes.io/token"
    spec = api.prepare_watch(Request.build("GET", target, client=ADMIN), NOW)
    assert isinstance(spec, WatchSpec) and spec.type_selector == "bootstrap.kubernetes.io/token"
    store.create("secrets", objects.secret("plain", "kube-system", {}), NOW)
    assert not any(spec.matches(e) for e in store.events_since(store.revision - 1))
    named = api.prepare_watch(Request.build("GET", f"{CSR_PATH}?watch=true&fieldSelector=metadata.name=csr-1",
                                            client=ADMIN), NOW)
    assert isinstance(named, WatchSpec) and named.name == "csr-1"


def test_watch_is_authorized_with_the_watch_verb() -> None:
    api, _ = make_server()
    response = api.prepare_watch(Request.build("GET", f"{SECRETS}?watch=true", bearer=TOKEN), NOW)
    assert not isinstance(response, WatchSpec)
    assert response.status == 403
    assert response.body["message"] == ('secrets is forbidden: User "system:bootstrap:abcdef" cannot watch resource '
                                        '"secrets" in API group "" in the namespace "kube-system"')


def test_kubelet_may_watch_its_csr_by_name() -> None:
    api, _ = make_server()
    name = call(api, "POST", CSR_PATH, body=csr_body(), bearer=TOKEN).body["metadata"]["name"]
    spec = api.prepare_watch(Request.build("GET", f"{CSR_PATH}?watch=true&fieldSelector=metadata.name={name}",
                                           bearer=TOKEN), NOW)
    assert isinstance(spec, WatchSpec) and [e["object"]["metadata"]["name"] for e in spec.initial_events] == [name]


@pytest.mark.parametrize(("target", "code"), [
    pytest.param(f"{SECRETS}?watch=true&resourceVersion=abc", 400, id="invalid: resource version"),
    pytest.param(f"{SECRETS}/x?watch=true", 400, id="invalid: watch on a named object"),
    pytest.param("/api/v1/foos?watch=true", 404, id="invalid: unknown resource"),
])
def test_bad_watches(target: str, code: int) -> None:
    api, _ = make_server()
    response = api.prepare_watch(Request.build("GET", target, client=ADMIN), NOW)
    assert not isinstance(response, WatchSpec) and response.status == code


def test_handle_answers_a_watch_with_the_events_so_far() -> None:
    api, store = make_server()
    start = store.revision
    store.create("secrets", objects.secret("a", "kube-system", {}), NOW)
    response = call(api, "GET", f"{SECRETS}?watch=true&resourceVersion={start}", client=ADMIN)
    assert response.status == 200
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in response.body] == [("ADDED", "a")]
