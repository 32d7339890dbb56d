"""Build API servers for the control-plane tests: built-in policy, kubeadm's RBAC, a token, cluster-info.

kubeadm's objects are written here by hand (the real ``kubeadm init`` lives in
sim/control/kubeadm*.py) so these tests depend only on the API server.
"""

from __future__ import annotations

import functools
import random
from datetime import datetime, timedelta, timezone
from typing import Any

from sim.control.api import ApiServer
from sim.control.controllers.base import CONTROLLER_MANAGER
from sim.control.profile import CURRENT, Profile
from sim.control.rbac_defaults import bootstrap_policy
from sim.control.store import Store
from sim.protocol import keys, objects, pki, tokens
from sim.protocol.http import ClientSubject, Request, Response

NOW = datetime(2025, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
TOKEN_ID = "abcdef"
TOKEN_SECRET = "0123456789abcdef"
TOKEN = f"{TOKEN_ID}.{TOKEN_SECRET}"
NODE_GROUP = "system:bootstrappers:kubeadm:default-node-token"
ADMIN = ClientSubject(common_name="kubernetes-admin", organizations=("system:masters",))
KCM = CONTROLLER_MANAGER
CSR_PATH = "/apis/certificates.k8s.io/v1/certificatesigningrequests"
RBAC = "rbac.authorization.k8s.io"

UNAUTHORIZED = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "Unauthorized", "reason": "Unauthorized", "code": 401}


def node_subject(name: str = "node-1") -> ClientSubject:
    """Return the identity of a kubelet's client certificate."""
    return ClientSubject(common_name=f"system:node:{name}", organizations=("system:nodes",))


def _ref(kind: str, name: str) -> dict[str, str]:
    return {"apiGroup": RBAC, "kind": kind, "name": name}


def _group(name: str) -> dict[str, str]:
    return {"kind": "Group", "apiGroup": RBAC, "name": name}


def _crb(name: str, role: str, *groups: str) -> tuple[str, dict[str, Any]]:
    return "clusterrolebindings", {"metadata": {"name": name}, "roleRef": _ref("ClusterRole", role),
                                   "subjects": [_group(g) for g in groups]}


def _role(name: str, namespace: str, resource: str, names: list[str]) -> tuple[str, dict[str, Any]]:
    return "roles", {"metadata": {"name": name, "namespace": namespace},
                     "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": [resource], "resourceNames": names}]}


def _rb(name: str, namespace: str, subjects: list[dict[str, str]]) -> tuple[str, dict[str, Any]]:
    return "rolebindings", {"metadata": {"name": name, "namespace": namespace}, "roleRef": _ref("Role", name),
                            "subjects": subjects}


def kubeadm_rbac() -> list[tuple[str, dict[str, Any]]]:
    """Return the RBAC objects ``kubeadm init`` creates for joins (PROTOCOL 3.1, 7.4, 8.4)."""
    return [
        ("clusterroles", {"metadata": {"name": "kubeadm:get-nodes"},
                          "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["nodes"]}]}),
        _crb("kubeadm:get-nodes", "kubeadm:get-nodes", NODE_GROUP),
        _crb("kubeadm:kubelet-bootstrap", "system:node-bootstrapper", NODE_GROUP),
        _crb("kubeadm:node-autoapprove-bootstrap",
             "system:certificates.k8s.io:certificatesigningrequests:nodeclient", NODE_GROUP),
        _crb("kubeadm:node-autoapprove-certificate-rotation",
             "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient", "system:nodes"),
        _role("kubeadm:bootstrap-signer-clusterinfo", "kube-public", "configmaps", ["cluster-info"]),
        _rb("kubeadm:bootstrap-signer-clusterinfo", "kube-public",
            [{"kind": "User", "apiGroup": RBAC, "name": "system:anonymous"}]),
        _role("kubeadm:nodes-kubeadm-config", "kube-system", "configmaps", ["kubeadm-config"]),
        _rb("kubeadm:nodes-kubeadm-config", "kube-system", [_group(NODE_GROUP), _group("system:nodes")]),
        _role("kubeadm:kubelet-config", "kube-system", "configmaps", ["kubelet-config"]),
        _rb("kubeadm:kubelet-config", "kube-system", [_group(NODE_GROUP), _group("system:nodes")]),
        _role("kubeadm:kubeadm-certs", "kube-system", "secrets", ["kubeadm-certs"]),
        _rb("kubeadm:kubeadm-certs", "kube-system", [_group(NODE_GROUP)]),
    ]


def token_secret(token_id: str = TOKEN_ID, secret: str = TOKEN_SECRET, **data: str | None) -> dict[str, Any]:
    """Return a bootstrap-token Secret valid for 24 h; ``data`` overrides keys (None removes one)."""
    obj = tokens.token_to_secret(tokens.BootstrapToken(token_id=token_id, token_secret=secret), NOW)
    decoded = objects.secret_data(obj)
    for key, value in data.items():
        key = key.replace("_", "-")
        if value is None:
            decoded.pop(key, None)
        else:
            decoded[key] = value
    obj["data"] = {k: objects.b64(v) for k, v in decoded.items()}
    return obj


def make_server(*, profile: Profile = CURRENT, anonymous_auth: bool = True, token_cache_ttl: float = 10.0,
                with_token: bool = True) -> tuple[ApiServer, Store]:
    """Return an API server over a store with the built-in policy, kubeadm's RBAC, a token and cluster-info."""
    store = Store(random.Random(0))
    for resource, obj in [*bootstrap_policy(profile), *kubeadm_rbac()]:
        store.create(resource, obj, NOW)
    if with_token:
        store.create("secrets", token_secret(), NOW)
    store.create("configmaps", objects.configmap("cluster-info", "kube-public", {"kubeconfig": "apiVersion: v1\n"}),
                 NOW)
    store.create("configmaps", objects.configmap("kubeadm-config", "kube-system", {"ClusterConfiguration": "x"}), NOW)
    return ApiServer(store, profile=profile, anonymous_auth=anonymous_auth, token_cache_ttl=token_cache_ttl), store


def call(api: ApiServer, method: str, target: str, *, body: Any = None, bearer: str | None = None,
         client: ClientSubject | None = None, content_type: str = "application/json",
         now: datetime = NOW, raw: bytes | None = None, headers: dict[str, str] | None = None) -> Response:
    """Send one request; ``raw`` sends bytes as they are instead of a JSON body."""
    request = Request.build(method, target, body=body, bearer=bearer, client=client, content_type=content_type)
    if raw is not None or headers:
        merged = dict(request.headers)
        if raw is not None:
            merged["Content-Type"] = content_type
        merged.update(headers or {})
        request = Request(method=request.method, path=request.path, query=request.query, headers=merged,
                          body=raw if raw is not None else request.body, client=client)
    return api.handle(request, now)


@functools.lru_cache(maxsize=None)
def _key(kind: str) -> Any:
    return keys.generate_private_key(kind)


def kubelet_csr_pem(node: str = "node-1", key_type: str = "ecdsa") -> bytes:
    """Return a kubelet client CSR (CN=system:node:<node>, O=system:nodes) signed by a cached key."""
    return pki.kubelet_client_csr(_key(key_type), node)


def csr_body(pem: bytes | None = None, *, signer: str = "kubernetes.io/kube-apiserver-client-kubelet",
             usages: list[str] | None = None, **spec: Any) -> dict[str, Any]:
    """Return a CSR object as the kubelet posts it (generateName ``csr-``)."""
    body_spec: dict[str, Any] = {"request": objects.b64(pem if pem is not None else kubelet_csr_pem()),
                                 "signerName": signer,
                                 "usages": usages if usages is not None else ["digital signature", "client auth"]}
    body_spec.update(spec)
    return {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
            "metadata": {"generateName": "csr-"}, "spec": body_spec}


def later(seconds: float) -> datetime:
    """Return NOW plus some seconds."""
    return NOW + timedelta(seconds=seconds)
