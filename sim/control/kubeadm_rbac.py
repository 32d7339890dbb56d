"""Write the RBAC objects of a kubeadm cluster: the API server's defaults, and kubeadm's CreateOrUpdate.

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

from sim.control import rbac_defaults
from sim.control.profile import CURRENT, Profile
from sim.control.store import Store
from sim.protocol.errors import ApiStatusError
from sim.protocol.objects import Obj, name_of, namespace_of

__all__ = ["CLUSTER_ADMIN_ROLE", "apiserver_defaults", "apply"]

# plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go: the superuser ClusterRole kubeadm binds its admins to
CLUSTER_ADMIN_ROLE = "cluster-admin"
# staging/src/k8s.io/api/core/v1 NamespaceDefault/System/Public/NodeLease
NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")

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
