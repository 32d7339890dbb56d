"""Check the minimal garbage-collector model: Secrets owned by a vanished Secret are deleted."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sim.control.controllers.garbagecollector import GarbageCollector
from sim.control.store import Store
from sim.protocol import objects
from sim.protocol.http import Response
from tests.controller_support import NOW, delete_in, drive, event

KEY = "kube-system/kubeadm-certs"


def owned_by(store: Store, owner: dict[str, Any], name: str = "kubeadm-certs") -> dict[str, Any]:
    obj = objects.secret(name, "kube-system", {"ca.crt": "x"})
    obj["metadata"]["ownerReferences"] = [{"apiVersion": "v1", "kind": "Secret", "name": objects.name_of(owner),
                                           "uid": owner["metadata"]["uid"], "controller": True,
                                           "blockOwnerDeletion": True}]
    return store.create("secrets", obj, NOW)


@pytest.fixture
def owner(store: Store) -> dict[str, Any]:
    return store.create("secrets", objects.secret("bootstrap-token-abcdef", "kube-system", {"token-id": "abcdef"},
                                                  "bootstrap.kubernetes.io/token"), NOW)


def test_deletes_the_dependent_once_its_owner_is_deleted(store: Store, owner: dict[str, Any]) -> None:
    dependent = owned_by(store, owner)
    gc = GarbageCollector(store)
    assert drive(gc.reconcile(KEY, NOW), delete_in(store)) == ([], None)
    since = store.revision
    store.delete("secrets", "kube-system", "bootstrap-token-abcdef")
    (deleted,) = store.events_since(since)
    assert gc.keys_for(deleted) == [KEY]
    (request,), _ = drive(gc.reconcile(KEY, NOW), delete_in(store))
    assert (request.method, request.path) == ("DELETE", "/api/v1/namespaces/kube-system/secrets/kubeadm-certs")
    assert json.loads(request.body) == {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": "Background",
                                        "preconditions": {"uid": dependent["metadata"]["uid"]}}
    assert store.get("secrets", "kube-system", "kubeadm-certs") is None


def test_an_owner_recreated_with_another_uid_does_not_count(store: Store, owner: dict[str, Any]) -> None:
    owned_by(store, owner)
    store.delete("secrets", "kube-system", "bootstrap-token-abcdef")
    store.create("secrets", objects.secret("bootstrap-token-abcdef", "kube-system", {}), NOW)
    requests, _ = drive(GarbageCollector(store).reconcile(KEY, NOW), delete_in(store))
    assert len(requests) == 1 and store.get("secrets", "kube-system", "kubeadm-certs") is None


def test_a_dependent_whose_owner_is_already_gone_is_deleted_on_add(store: Store, owner: dict[str, Any]) -> None:
    since = store.revision
    owned_by(store, owner)
    store.delete("secrets", "kube-system", "bootstrap-token-abcdef")
    added, _ = store.events_since(since)
    gc = GarbageCollector(store)
    assert gc.keys_for(added) == [KEY] and gc.initial_keys() == [KEY]
    requests, _ = drive(gc.reconcile(KEY, NOW), delete_in(store))
    assert len(requests) == 1


@pytest.mark.parametrize(
    ("type_", "obj", "keys"),
    [
        pytest.param("ADDED", objects.secret("plain", "kube-system", {}), [], id="invalid: no owner"),
        pytest.param("MODIFIED", objects.secret("plain", "kube-system", {}), [], id="invalid: update"),
        pytest.param("DELETED", {"metadata": {"name": "x", "namespace": "kube-system", "uid": "nobody"}}, [],
                     id="invalid: deleted Secret owns nothing"),
    ],
)
def test_keys_for_unrelated_events(store: Store, type_: str, obj: dict[str, Any], keys: list[str]) -> None:
    assert GarbageCollector(store).keys_for(event(type_, "secrets", obj)) == keys


def test_missing_dependent_and_delete_errors(store: Store, owner: dict[str, Any]) -> None:
    gc = GarbageCollector(store)
    assert drive(gc.reconcile(KEY, NOW), delete_in(store)) == ([], None)
    owned_by(store, owner)
    store.delete("secrets", "kube-system", "bootstrap-token-abcdef")
    drive(gc.reconcile(KEY, NOW), lambda r: Response(status=500, body={"message": "boom"}))
    assert gc.last_error == "boom"
    assert (gc.name, gc.workers, gc.resync_period) == ("garbagecollector", 1, None)
