"""Check ``kubeadm init phase upload-certs``: the kubeadm-certs Secret, its owner token and its lifetime."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from sim.control import kubeadm
from sim.control.controllers.garbagecollector import GarbageCollector
from sim.control.controllers.tokencleaner import TokenCleaner
from sim.control.store import Store
from sim.protocol import certkey, objects, tokens
from sim.protocol import constants as C
from sim.protocol.errors import ApiStatusError, CertificateKeyError
from sim.protocol.http import Request, Response

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
KEY_HEX = "0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0"


@pytest.fixture
def cluster() -> tuple[Store, kubeadm.ClusterSecrets]:
    store = Store(random.Random(0))
    secrets, _, _ = kubeadm.init(store, now=NOW, rng=random.Random(1), endpoint="10.0.0.1:6443",
                                 control_plane_endpoint="cp.example:6443", ca_key_type="ecdsa")
    return store, secrets


def upload(cluster: tuple[Store, kubeadm.ClusterSecrets], key: str | None = KEY_HEX) -> tuple[str, list[str]]:
    store, secrets = cluster
    return kubeadm.upload_certs(store, now=NOW, rng=random.Random(9), secrets=secrets, certificate_key=key)


def proxy_token(store: Store) -> dict[str, Any]:
    (secret,) = [s for s in store.list("secrets", "kube-system")
                 if objects.secret_data(s).get("description") == C.KUBEADM_CERTS_TOKEN_DESCRIPTION]
    return secret


def test_log_lines_and_key(cluster: tuple[Store, kubeadm.ClusterSecrets]) -> None:
    key, log = upload(cluster)
    assert key == KEY_HEX
    assert log == ['[upload-certs] Storing the certificates in Secret "kubeadm-certs" in the "kube-system" Namespace',
                   "[upload-certs] Using certificate key:", KEY_HEX]


def test_generated_key_is_64_hex_characters(cluster: tuple[Store, kubeadm.ClusterSecrets]) -> None:
    key, _ = upload(cluster, None)
    assert len(certkey.decode_certificate_key(key)) == 32


def test_proxy_token_can_neither_authenticate_nor_sign(cluster: tuple[Store, kubeadm.ClusterSecrets]) -> None:
    upload(cluster)
    data = objects.secret_data(proxy_token(cluster[0]))
    assert data["expiration"] == objects.format_time(NOW + timedelta(hours=2))
    assert not [k for k in data if k.startswith("usage-bootstrap-")]
    assert "auth-extra-groups" not in data


def test_kubeadm_certs_is_owned_by_the_proxy_token(cluster: tuple[Store, kubeadm.ClusterSecrets]) -> None:
    upload(cluster)
    store = cluster[0]
    owner = proxy_token(store)
    certs = store.get("secrets", "kube-system", "kubeadm-certs")
    assert certs is not None and certs["type"] == "Opaque"
    assert certs["metadata"]["ownerReferences"] == [{
        "apiVersion": "v1", "kind": "Secret", "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
        "controller": True, "blockOwnerDeletion": True}]


def test_decoding_with_the_key_round_trips(cluster: tuple[Store, kubeadm.ClusterSecrets]) -> None:
    upload(cluster)
    store, secrets = cluster
    certs = store.get("secrets", "kube-system", "kubeadm-certs")
    assert certs is not None
    decoded = certkey.decode_kubeadm_certs_secret(certs, certkey.decode_certificate_key(KEY_HEX))
    expected = {name.replace("/", "-"): content for name, content in secrets.control_plane_files().items()}
    assert decoded == expected
    assert sorted(decoded) == ["ca.crt", "ca.key", "etcd-ca.crt", "etcd-ca.key", "front-proxy-ca.crt",
                               "front-proxy-ca.key", "sa.key", "sa.pub"]


def test_a_wrong_key_fails_with_kubeadms_wrapped_text(cluster: tuple[Store, kubeadm.ClusterSecrets]) -> None:
    upload(cluster)
    certs = cluster[0].get("secrets", "kube-system", "kubeadm-certs")
    assert certs is not None
    with pytest.raises(CertificateKeyError) as err:
        certkey.decode_kubeadm_certs_secret(certs, bytes(32))
    assert str(err.value) == "error decoding secret data with provided key: cipher: message authentication failed"


@pytest.mark.parametrize(
    ("key", "message"),
    [
        pytest.param("abcd", "invalid certificate key size 2, the key must be an AES key of size 32",
                     id="invalid: short key"),
        pytest.param("zz" * 32, "certificate key decoding error: encoding/hex: invalid byte: U+007A 'z'",
                     id="invalid: not hex"),
    ],
)
def test_bad_certificate_key(cluster: tuple[Store, kubeadm.ClusterSecrets], key: str, message: str) -> None:
    with pytest.raises(CertificateKeyError) as err:
        upload(cluster, key)
    assert str(err.value) == message


def test_rbac_lets_bootstrap_tokens_read_only_kubeadm_certs(cluster: tuple[Store, kubeadm.ClusterSecrets]) -> None:
    upload(cluster)
    store = cluster[0]
    role = store.get("roles", "kube-system", "kubeadm:kubeadm-certs")
    binding = store.get("rolebindings", "kube-system", "kubeadm:kubeadm-certs")
    assert role is not None and binding is not None
    assert role["rules"] == [{"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"],
                              "resourceNames": ["kubeadm-certs"]}]
    assert binding["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group",
                                    "name": C.NODE_BOOTSTRAP_TOKEN_AUTH_GROUP}]


def test_upload_twice_replaces_the_secret(cluster: tuple[Store, kubeadm.ClusterSecrets]) -> None:
    upload(cluster)
    key2, _ = kubeadm.upload_certs(cluster[0], now=NOW, rng=random.Random(10), secrets=cluster[1])
    certs = cluster[0].get("secrets", "kube-system", "kubeadm-certs")
    assert certs is not None
    assert certkey.decode_kubeadm_certs_secret(certs, certkey.decode_certificate_key(key2))


def route(store: Store, request: Request) -> Response:
    """Answer a controller's DELETE of a Secret from the store."""
    *_, namespace, _, name = request.path.split("/")
    try:
        uid = json.loads(request.body)["preconditions"]["uid"]
        return Response(status=200, body=store.delete("secrets", namespace, name, uid=uid))
    except ApiStatusError as err:
        return Response(status=err.code, body=err.status)


def run(controller: Any, key: str, now: datetime, store: Store) -> Any:
    gen = controller.reconcile(key, now)
    try:
        request = next(gen)
        while True:
            request = gen.send(route(store, request))
    except StopIteration as stop:
        return stop.value


def test_garbage_collector_deletes_kubeadm_certs_after_the_token_expires(
        cluster: tuple[Store, kubeadm.ClusterSecrets]) -> None:
    upload(cluster)
    store = cluster[0]
    token_key = f"kube-system/{proxy_token(store)['metadata']['name']}"
    cleaner, gc = TokenCleaner(store), GarbageCollector(store)
    requeue = run(cleaner, token_key, NOW, store)
    assert requeue.after == 2 * 3600.0
    since = store.revision
    assert run(cleaner, token_key, NOW + timedelta(hours=2), store) is None
    keys = [k for event in store.events_since(since) for k in gc.keys_for(event)]
    assert keys == ["kube-system/kubeadm-certs"]
    run(gc, keys[0], NOW + timedelta(hours=2), store)
    assert store.get("secrets", "kube-system", "kubeadm-certs") is None
    assert [t.description for t in kubeadm.list_tokens(store, NOW)[0]] == [C.INIT_TOKEN_DESCRIPTION]
    assert tokens.is_valid_bootstrap_token_id(token_key.rsplit("-", 1)[1])
