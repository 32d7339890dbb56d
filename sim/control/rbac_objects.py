"""Build rbac.authorization.k8s.io/v1 objects in their JSON shape: rules, subjects, roles, bindings.

Both the API server's bootstrap policy (``rbac_defaults``) and kubeadm's own
roles (``kubeadm_rbac``) are written with these builders, so every RBAC object
in the store has one shape: keys in the Go structs' field order, and empty
lists left out as their ``omitempty`` tags do.
Upstream: staging/src/k8s.io/api/rbac/v1/types.go.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

__all__ = [
    "RBAC_API_VERSION", "RBAC_GROUP", "cluster_role", "cluster_role_binding", "group", "object_meta", "role",
    "role_binding", "rule", "service_account", "user",
]

Obj = dict[str, Any]

RBAC_GROUP = "rbac.authorization.k8s.io"
RBAC_API_VERSION = f"{RBAC_GROUP}/v1"


def rule(verbs: Sequence[str], *, groups: Sequence[str] = (), resources: Sequence[str] = (),
         names: Sequence[str] = (), urls: Sequence[str] = ()) -> Obj:
    """Return a PolicyRule (empty lists omitted, as upstream serializes them)."""
    out: Obj = {"verbs": list(verbs)}
    if groups or resources:
        out["apiGroups"] = list(groups)
    if resources:
        out["resources"] = list(resources)
    if names:
        out["resourceNames"] = list(names)
    if urls:
        out["nonResourceURLs"] = list(urls)
    return out


def group(name: str) -> Obj:
    """Return a Group subject."""
    return {"kind": "Group", "apiGroup": RBAC_GROUP, "name": name}


def user(name: str) -> Obj:
    """Return a User subject."""
    return {"kind": "User", "apiGroup": RBAC_GROUP, "name": name}


def service_account(name: str, namespace: str) -> Obj:
    """Return a ServiceAccount subject (core group: no apiGroup)."""
    return {"kind": "ServiceAccount", "name": name, "namespace": namespace}


def object_meta(name: str, namespace: str | None = None, *, labels: Mapping[str, str] | None = None,
                annotations: Mapping[str, str] | None = None) -> Obj:
    """Return an ObjectMeta: a name, a namespace for namespaced kinds, and copies of any labels and annotations."""
    out: Obj = {"name": name}
    if namespace is not None:
        out["namespace"] = namespace
    if labels is not None:
        out["labels"] = dict(labels)
    if annotations is not None:
        out["annotations"] = dict(annotations)
    return out


def _role(kind: str, metadata: Obj, rules: list[Obj]) -> Obj:
    """Return a Role or ClusterRole."""
    return {"apiVersion": RBAC_API_VERSION, "kind": kind, "metadata": metadata, "rules": rules}


def _binding(kind: str, metadata: Obj, role_kind: str, role_name: str, subjects: list[Obj]) -> Obj:
    """Return a RoleBinding or ClusterRoleBinding (no ``subjects`` key when there are none)."""
    out: Obj = {"apiVersion": RBAC_API_VERSION, "kind": kind, "metadata": metadata,
                "roleRef": {"apiGroup": RBAC_GROUP, "kind": role_kind, "name": role_name}}
    if subjects:
        out["subjects"] = subjects
    return out


def cluster_role(name: str, rules: list[Obj], *, labels: Mapping[str, str] | None = None,
                 annotations: Mapping[str, str] | None = None) -> Obj:
    """Return a ClusterRole."""
    return _role("ClusterRole", object_meta(name, labels=labels, annotations=annotations), rules)


def role(name: str, namespace: str, rules: list[Obj], *, labels: Mapping[str, str] | None = None,
         annotations: Mapping[str, str] | None = None) -> Obj:
    """Return a namespaced Role."""
    return _role("Role", object_meta(name, namespace, labels=labels, annotations=annotations), rules)


def cluster_role_binding(name: str, role_name: str, subjects: list[Obj], *,
                         labels: Mapping[str, str] | None = None,
                         annotations: Mapping[str, str] | None = None) -> Obj:
    """Return a ClusterRoleBinding to a ClusterRole."""
    metadata = object_meta(name, labels=labels, annotations=annotations)
    return _binding("ClusterRoleBinding", metadata, "ClusterRole", role_name, subjects)


def role_binding(name: str, namespace: str, role_name: str, subjects: list[Obj], *,
                 labels: Mapping[str, str] | None = None, annotations: Mapping[str, str] | None = None) -> Obj:
    """Return a RoleBinding to a Role of the same namespace."""
    metadata = object_meta(name, namespace, labels=labels, annotations=annotations)
    return _binding("RoleBinding", metadata, "Role", role_name, subjects)
