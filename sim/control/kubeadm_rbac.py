"""Build the RBAC objects of a kubeadm cluster: the API server's defaults and kubeadm's own.

How this works: a fresh kube-apiserver creates its namespaces and the
bootstrap-policy roles (``rbac_defaults``) before kubeadm talks to it;
kubeadm then binds them to the bootstrap-token group, ``system:nodes``,
``system:anonymous`` (cluster-info) and its admin group. The join protocol
depends on each of these bindings: remove one and a step of the join gets a 403
(or the CSR is never approved). ``apply`` is kubeadm's CreateOrUpdate.
Upstream: cmd/kubeadm/app/phases/bootstraptoken/node/tlsbootstrap.go,
cmd/kubeadm/app/phases/bootstraptoken/clusterinfo/clusterinfo.go,
cmd/kubeadm/app/phases/uploadconfig/uploadconfig.go, cmd/kubeadm/app/phases/kubelet/config.go,
cmd/kubeadm/app/phases/kubeconfig/kubeconfig.go (EnsureAdminClusterRoleBinding).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable

from sim.control import rbac_defaults
from sim.control.profile import CURRENT, Profile
from sim.control.store import Store
from sim.protocol.errors import ApiStatusError
from sim.protocol.objects import Obj, name_of, namespace_of

__all__ = [
    "CLUSTER_ADMIN_ROLE", "KUBEADM_CLUSTER_ADMINS", "RBAC_API_VERSION", "apiserver_defaults", "apply",
    "cluster_role", "cluster_role_binding", "group", "role", "role_binding", "rule", "user",
]

RBAC_API_VERSION = "rbac.authorization.k8s.io/v1"
RBAC_GROUP = "rbac.authorization.k8s.io"
CLUSTER_ADMIN_ROLE = "cluster-admin"
# cmd/kubeadm/app/constants/constants.go: ClusterAdminsGroupAndClusterRoleBinding (kubeadm 1.29+)
KUBEADM_CLUSTER_ADMINS = "kubeadm:cluster-admins"
# staging/src/k8s.io/api/core/v1 NamespaceDefault/System/Public/NodeLease
NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")


def rule(verbs: Iterable[str], api_groups: Iterable[str] = ("",), resources: Iterable[str] = (),
         resource_names: Iterable[str] = (), non_resource_urls: Iterable[str] = ()) -> dict[str, Any]:
    """Return one PolicyRule, omitting empty lists as the API does."""
    out: dict[str, Any] = {"verbs": list(verbs)}
    if resources:
        out["apiGroups"] = list(api_groups)
        out["resources"] = list(resources)
    if resource_names:
        out["resourceNames"] = list(resource_names)
    if non_resource_urls:
        out["nonResourceURLs"] = list(non_resource_urls)
    return out


def group(name: str) -> dict[str, str]:
    """Return a Group subject."""
    return {"apiGroup": RBAC_GROUP, "kind": "Group", "name": name}


def user(name: str) -> dict[str, str]:
    """Return a User subject."""
    return {"apiGroup": RBAC_GROUP, "kind": "User", "name": name}


def _meta(name: str, namespace: str | None) -> dict[str, Any]:
    """Return an ObjectMeta with a name and, for namespaced objects, a namespace."""
    out: dict[str, Any] = {"name": name}
    if namespace is not None:
        out["namespace"] = namespace
    return out


def cluster_role(name: str, rules: list[dict[str, Any]]) -> Obj:
    """Return a ClusterRole."""
    return {"apiVersion": RBAC_API_VERSION, "kind": "ClusterRole", "metadata": _meta(name, None), "rules": rules}


def role(name: str, namespace: str, rules: list[dict[str, Any]]) -> Obj:
    """Return a namespaced Role."""
    return {"apiVersion": RBAC_API_VERSION, "kind": "Role", "metadata": _meta(name, namespace), "rules": rules}


def cluster_role_binding(name: str, cluster_role_name: str, subjects: list[dict[str, str]]) -> Obj:
    """Return a ClusterRoleBinding to a ClusterRole."""
    return {"apiVersion": RBAC_API_VERSION, "kind": "ClusterRoleBinding", "metadata": _meta(name, None),
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": cluster_role_name},
            "subjects": subjects}


def role_binding(name: str, namespace: str, role_name: str, subjects: list[dict[str, str]]) -> Obj:
    """Return a RoleBinding to a Role of the same namespace."""
    return {"apiVersion": RBAC_API_VERSION, "kind": "RoleBinding", "metadata": _meta(name, namespace),
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": "Role", "name": role_name}, "subjects": subjects}


_PLURAL = {"ClusterRole": "clusterroles", "ClusterRoleBinding": "clusterrolebindings", "Role": "roles",
           "RoleBinding": "rolebindings", "ConfigMap": "configmaps", "Secret": "secrets", "Node": "nodes",
           "Namespace": "namespaces"}


def apply(store: Store, obj: Obj, now: datetime) -> Obj:
    """Create an object, or replace it if the name is taken (kubeadm's apiclient.CreateOrUpdate*)."""
    resource = _PLURAL[obj["kind"]]
    try:
        return store.create(resource, obj, now)
    except ApiStatusError as err:
        if err.code != 409:
            raise
    current = store.get(resource, namespace_of(obj), name_of(obj))
    replacement = dict(obj)
    replacement["metadata"] = dict(obj.get("metadata") or {})
    if current is not None:
        replacement["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
    return store.update(resource, replacement)


def _create_missing(store: Store, resource: str, obj: Obj, now: datetime) -> None:
    """Create an object unless one of that name exists (the API server never overwrites on start)."""
    if store.peek(resource, namespace_of(obj), name_of(obj)) is None:
        store.create(resource, obj, now)


def apiserver_defaults(store: Store, now: datetime, profile: Profile = CURRENT) -> None:
    """Create what kube-apiserver sets up on its first start and kubeadm relies on.

    The four namespaces and the bootstrap policy (``rbac_defaults``: among
    others ``cluster-admin`` bound to ``system:masters``, ``system:node-bootstrapper``
    and the ``nodeclient``/``selfnodeclient`` approval roles). Objects that
    already exist (an API server model may have created them) are kept.
    """
    for ns in NAMESPACES:
        _create_missing(store, "namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns},
                                              "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}},
                        now)
    for resource, obj in rbac_defaults.bootstrap_policy(profile):
        _create_missing(store, resource, obj, now)
