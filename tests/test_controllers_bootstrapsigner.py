"""Check the bootstrapsigner against upstream bootstrapsigner.go / util.go behaviour."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, Callable

import pytest

from sim.control.controllers.base import CONTROLLER_MANAGER
from sim.control.controllers.bootstrapsigner import CLUSTER_INFO_KEY, BootstrapSigner, validate_secret_for_signing
from sim.control.store import Store, WatchEvent
from sim.protocol import jws, objects
from sim.protocol.http import Response
from tests.controller_support import NOW, drive, event, put_to, stamp, token_secret

KUBECONFIG = "apiVersion: v1\nclusters:\n- cluster:\n    server: https://10.0.0.1:6443\n  name: \"\"\n"


def cluster_info(store: Store, **extra: str) -> None:
    store.create("configmaps", objects.configmap("cluster-info", "kube-public", {"kubeconfig": KUBECONFIG, **extra}),
                 NOW)


def info(store: Store) -> dict[str, Any]:
    obj = store.get("configmaps", "kube-public", "cluster-info")
    assert obj is not None
    return obj


@pytest.mark.parametrize(
    ("secret", "signs"),
    [
        pytest.param(token_secret(), True, id="valid: both usages"),
        pytest.param(token_secret(usage_bootstrap_authentication=None), True, id="valid: signing only"),
        pytest.param(token_secret(expiration=stamp(1)), True, id="valid: expires in 1 s"),
        pytest.param(token_secret(token_secret="tokenSecret"), True, id="valid: secret format not checked"),
        pytest.param(token_secret(auth_extra_groups="system:bootstrappers"), True, id="valid: bad groups ignored"),
        pytest.param(token_secret(usage_bootstrap_signing=None), False, id="invalid: authentication only"),
        pytest.param(token_secret(usage_bootstrap_signing="True"), False, id="invalid: signing not exactly true"),
        pytest.param(token_secret(expiration=stamp(0)), False, id="invalid: expires exactly now"),
        pytest.param(token_secret(expiration=stamp(-1)), False, id="invalid: expired"),
        pytest.param(token_secret(expiration="tomorrow"), False, id="invalid: unparseable expiration"),
        pytest.param(token_secret(token_secret=""), False, id="invalid: empty secret"),
        pytest.param(token_secret(name="bootstrap-token-zzzzzz"), False, id="invalid: id differs from name"),
        pytest.param(token_secret(name="my-token"), False, id="invalid: name not bootstrap-token-<id>"),
        pytest.param(token_secret(namespace="default"), False, id="invalid: not in kube-system"),
        pytest.param(token_secret(type_="Opaque"), False, id="invalid: not a token Secret"),
    ],
)
def test_signs_exactly_the_tokens_valid_for_signing(store: Store, secret: dict[str, Any], signs: bool) -> None:
    cluster_info(store)
    store.create("secrets", secret, NOW)
    signer = BootstrapSigner(store)
    requests, result = drive(signer.reconcile(CLUSTER_INFO_KEY, NOW), put_to(store, "configmaps"))
    assert result is None
    data = info(store)["data"]
    if signs:
        assert len(requests) == 1
        secret_value = objects.secret_data(secret)["token-secret"]
        assert data["jws-kubeconfig-abcdef"] == jws.compute_detached_signature(KUBECONFIG, "abcdef", secret_value)
    else:
        assert requests == []
        assert "jws-kubeconfig-abcdef" not in data


def test_request_is_a_put_of_the_whole_object_with_its_resource_version(store: Store) -> None:
    cluster_info(store)
    store.create("secrets", token_secret(), NOW)
    rv = info(store)["metadata"]["resourceVersion"]
    requests, _ = drive(BootstrapSigner(store).reconcile(CLUSTER_INFO_KEY, NOW), put_to(store, "configmaps"))
    (request,) = requests
    assert (request.method, request.path, request.client) == (
        "PUT", "/api/v1/namespaces/kube-public/configmaps/cluster-info", CONTROLLER_MANAGER)
    body = json.loads(request.body)
    assert body["metadata"]["resourceVersion"] == rv
    assert body["data"]["kubeconfig"] == KUBECONFIG


def test_removes_stale_signatures_and_keeps_valid_ones(store: Store) -> None:
    good = jws.compute_detached_signature(KUBECONFIG, "abcdef", "0123456789abcdef")
    cluster_info(store, **{"jws-kubeconfig-abcdef": good, "jws-kubeconfig-gone00": "x..y"})
    store.create("secrets", token_secret(), NOW)
    requests, _ = drive(BootstrapSigner(store).reconcile(CLUSTER_INFO_KEY, NOW), put_to(store, "configmaps"))
    assert len(requests) == 1
    data = info(store)["data"]
    assert data == {"kubeconfig": KUBECONFIG, "jws-kubeconfig-abcdef": good}


def test_rewrites_a_tampered_signature(store: Store) -> None:
    cluster_info(store, **{"jws-kubeconfig-abcdef": "tampered"})
    store.create("secrets", token_secret(), NOW)
    requests, _ = drive(BootstrapSigner(store).reconcile(CLUSTER_INFO_KEY, NOW), put_to(store, "configmaps"))
    assert len(requests) == 1
    data = info(store)["data"]
    assert data["jws-kubeconfig-abcdef"] == jws.compute_detached_signature(KUBECONFIG, "abcdef", "0123456789abcdef")


def test_no_update_when_nothing_changed(store: Store) -> None:
    cluster_info(store)
    store.create("secrets", token_secret(), NOW)
    signer = BootstrapSigner(store)
    first, _ = drive(signer.reconcile(CLUSTER_INFO_KEY, NOW), put_to(store, "configmaps"))
    second, _ = drive(signer.reconcile(CLUSTER_INFO_KEY, NOW), put_to(store, "configmaps"))
    assert (len(first), second) == (1, [])


def test_signature_is_removed_once_the_token_expires(store: Store) -> None:
    cluster_info(store)
    store.create("secrets", token_secret(expiration=stamp(60)), NOW)
    signer = BootstrapSigner(store)
    drive(signer.reconcile(CLUSTER_INFO_KEY, NOW), put_to(store, "configmaps"))
    requests, _ = drive(signer.reconcile(CLUSTER_INFO_KEY, NOW + timedelta(seconds=60)), put_to(store, "configmaps"))
    assert len(requests) == 1
    assert info(store)["data"] == {"kubeconfig": KUBECONFIG}


@pytest.mark.parametrize(
    "setup",
    [
        pytest.param(lambda s: None, id="valid: no cluster-info"),
        pytest.param(lambda s: s.create("configmaps", objects.configmap("cluster-info", "kube-public", {}), NOW),
                     id="valid: cluster-info without kubeconfig key"),
    ],
)
def test_does_nothing_without_something_to_sign(store: Store, setup: Callable[[Store], None]) -> None:
    setup(store)
    store.create("secrets", token_secret(), NOW)
    requests, _ = drive(BootstrapSigner(store).reconcile(CLUSTER_INFO_KEY, NOW), put_to(store, "configmaps"))
    assert requests == []


@pytest.mark.parametrize(
    ("status", "error"),
    [
        pytest.param(409, None, id="valid: conflict ignored"),
        pytest.param(404, None, id="valid: not found ignored"),
        pytest.param(500, "Error updating ConfigMap: boom", id="invalid: other errors recorded"),
    ],
)
def test_update_errors(store: Store, status: int, error: str | None) -> None:
    cluster_info(store)
    store.create("secrets", token_secret(), NOW)
    signer = BootstrapSigner(store)
    drive(signer.reconcile(CLUSTER_INFO_KEY, NOW), lambda r: Response(status=status, body={"message": "boom"}))
    assert signer.last_error == error


def test_duplicate_token_ids_sign_once(store: Store) -> None:
    cluster_info(store)
    store.create("secrets", token_secret(), NOW)
    store.create("secrets", token_secret(name="bootstrap-token-abcdef-copy"), NOW)
    requests, _ = drive(BootstrapSigner(store).reconcile(CLUSTER_INFO_KEY, NOW), put_to(store, "configmaps"))
    assert len(requests) == 1
    assert validate_secret_for_signing(token_secret(name="bootstrap-token-abcdef-copy"), NOW) is None


@pytest.mark.parametrize(
    ("ev", "keys"),
    [
        pytest.param(event("ADDED", "configmaps", objects.configmap("cluster-info", "kube-public", {})),
                     [CLUSTER_INFO_KEY], id="valid: cluster-info added"),
        pytest.param(event("MODIFIED", "configmaps", objects.configmap("cluster-info", "kube-public", {})),
                     [CLUSTER_INFO_KEY], id="valid: cluster-info updated"),
        pytest.param(event("DELETED", "configmaps", objects.configmap("cluster-info", "kube-public", {})),
                     [], id="invalid: cluster-info deleted"),
        pytest.param(event("ADDED", "configmaps", objects.configmap("other", "kube-public", {})),
                     [], id="invalid: another ConfigMap"),
        pytest.param(event("ADDED", "secrets", token_secret()), [CLUSTER_INFO_KEY], id="valid: token added"),
        pytest.param(event("MODIFIED", "secrets", token_secret()), [CLUSTER_INFO_KEY], id="valid: token updated"),
        pytest.param(event("DELETED", "secrets", token_secret()), [CLUSTER_INFO_KEY], id="valid: token deleted"),
        pytest.param(event("ADDED", "secrets", token_secret(type_="Opaque")), [], id="invalid: opaque Secret"),
        pytest.param(event("ADDED", "nodes", {"metadata": {"name": "n"}}), [], id="invalid: a Node"),
    ],
)
def test_keys_for(store: Store, ev: WatchEvent, keys: list[str]) -> None:
    assert BootstrapSigner(store).keys_for(ev) == keys


def test_protocol_constants(store: Store) -> None:
    signer = BootstrapSigner(store)
    assert (signer.name, signer.workers, signer.resync_period, signer.initial_keys()) == (
        "bootstrapsigner", 1, None, [CLUSTER_INFO_KEY])
