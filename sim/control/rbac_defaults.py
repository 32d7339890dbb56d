"""List the built-in RBAC policy kube-apiserver creates at start-up that joins rely on.

kube-apiserver reconciles these objects on every start (label
``kubernetes.io/bootstrapping: rbac-defaults``, annotation
``rbac.authorization.kubernetes.io/autoupdate: "true"``). Only the roles a
join, the public endpoints and the certificate/bootstrap controllers need are
listed, with upstream's names and rules.

Model: upstream kube-controller-manager runs each controller under its own
service account (``--use-service-account-credentials``, set by kubeadm) bound
to a ``system:controller:<name>`` role. joinsim's controllers all act as the
user ``system:kube-controller-manager`` (controllers/base.py), so each
controller binding below lists that user next to the upstream service account.
Upstream: plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go,
controller_policy.go, namespace_policy.go.
"""

from __future__ import annotations

from typing import Any

from sim.control.profile import CURRENT, Profile
from sim.control.rbac_objects import (
    cluster_role, cluster_role_binding, group, role, role_binding, rule, service_account, user,
)
from sim.protocol.constants import (
    AUTHENTICATED_GROUP, KUBE_APISERVER_CLIENT_KUBELET_SIGNER, KUBE_APISERVER_CLIENT_SIGNER, KUBE_SYSTEM_NAMESPACE,
    KUBELET_SERVING_SIGNER, LEGACY_UNKNOWN_SIGNER, MASTERS_GROUP, UNAUTHENTICATED_GROUP,
)

__all__ = ["MODEL_CONTROLLER_USER", "bootstrap_policy", "node_rules"]

MODEL_CONTROLLER_USER = "system:kube-controller-manager"
"""The identity joinsim's controllers use (user.KubeControllerManager, controllers/base.py)."""

_LABELS = {"kubernetes.io/bootstrapping": "rbac-defaults"}
_ANNOTATIONS = {"rbac.authorization.kubernetes.io/autoupdate": "true"}
_SA_ROLE_PREFIX = "system:controller:"
_CERTS = "certificates.k8s.io"
_READ = ("get", "list", "watch")

Obj = dict[str, Any]


def _events_rule() -> Obj:
    return rule(("create", "update", "patch"), groups=("", "events.k8s.io"), resources=("events",))


def node_rules() -> list[Obj]:
    """Return NodeRules(): what the Node authorizer lets every node do outside its graph checks."""
    return [
        rule(("create",), groups=("authentication.k8s.io",), resources=("tokenreviews",)),
        rule(("create",), groups=("authorization.k8s.io",),
             resources=("subjectaccessreviews", "localsubjectaccessreviews")),
        rule(_READ, groups=("",), resources=("services",)),
        rule(("create", "get", "list", "watch"), groups=("",), resources=("nodes",)),
        rule(("update", "patch"), groups=("",), resources=("nodes/status",)),
        rule(("update", "patch"), groups=("",), resources=("nodes",)),
        rule(("create", "update", "patch"), groups=("",), resources=("events",)),
        rule(_READ, groups=("",), resources=("pods",)),
        rule(("create", "delete"), groups=("",), resources=("pods",)),
        rule(("update", "patch"), groups=("",), resources=("pods/status",)),
        rule(("create",), groups=("",), resources=("pods/eviction",)),
        rule(_READ, groups=("",), resources=("secrets", "configmaps")),
        rule(("get",), groups=("",), resources=("persistentvolumeclaims", "persistentvolumes")),
        rule(("get",), groups=("",), resources=("endpoints",)),
        rule(("create", "get", "list", "watch"), groups=(_CERTS,), resources=("certificatesigningrequests",)),
        rule(("get", "create", "update", "patch", "delete"), groups=("coordination.k8s.io",), resources=("leases",)),
        rule(("get",), groups=("storage.k8s.io",), resources=("volumeattachments",)),
        rule(("create",), groups=("",), resources=("serviceaccounts/token",)),
        rule(("get", "watch", "list"), groups=("storage.k8s.io",), resources=("csidrivers",)),
        rule(("get", "create", "update", "patch", "delete"), groups=("storage.k8s.io",), resources=("csinodes",)),
        rule(_READ, groups=("node.k8s.io",), resources=("runtimeclasses",)),
    ]


def _cluster_role(name: str, rules: list[Obj]) -> Obj:
    """Return a ClusterRole marked as reconciled bootstrap policy."""
    return cluster_role(name, rules, labels=_LABELS, annotations=_ANNOTATIONS)


def _role(name: str, rules: list[Obj], namespace: str) -> Obj:
    """Return a Role marked as reconciled bootstrap policy."""
    return role(name, namespace, rules, labels=_LABELS, annotations=_ANNOTATIONS)


def _cluster_role_binding(name: str, subjects: list[Obj]) -> Obj:
    """Return a ClusterRoleBinding to the ClusterRole of the same name, marked as bootstrap policy."""
    return cluster_role_binding(name, name, subjects, labels=_LABELS, annotations=_ANNOTATIONS)


def _role_binding(name: str, subjects: list[Obj], namespace: str) -> Obj:
    """Return a RoleBinding to the Role of the same name, marked as bootstrap policy."""
    return role_binding(name, namespace, name, subjects, labels=_LABELS, annotations=_ANNOTATIONS)


def _controller_subjects(sa_name: str) -> list[Obj]:
    """Bind the upstream service account and (model) the single controller identity."""
    return [service_account(sa_name, KUBE_SYSTEM_NAMESPACE), user(MODEL_CONTROLLER_USER)]


def _cluster_roles(profile: Profile) -> list[Obj]:
    basic_user = [rule(("create",), groups=("authorization.k8s.io",),
                       resources=("selfsubjectaccessreviews", "selfsubjectrulesreviews"))]
    if profile.name != "1.22":  # selfsubjectreviews: authentication.k8s.io/v1 since 1.28
        basic_user.append(rule(("create",), groups=("authentication.k8s.io",), resources=("selfsubjectreviews",)))
    return [
        _cluster_role("cluster-admin", [rule(("*",), groups=("*",), resources=("*",)),
                                               rule(("*",), urls=("*",))]),
        _cluster_role("system:discovery", [rule(("get",), urls=(
            "/livez", "/readyz", "/healthz", "/version", "/version/", "/openapi", "/openapi/*",
            "/api", "/api/*", "/apis", "/apis/*"))]),
        _cluster_role("system:basic-user", basic_user),
        _cluster_role("system:public-info-viewer", [rule(("get",), urls=(
            "/livez", "/readyz", "/healthz", "/version", "/version/"))]),
        _cluster_role("system:node", node_rules()),
        _cluster_role("system:node-bootstrapper", [
            rule(("create", "get", "list", "watch"), groups=(_CERTS,), resources=("certificatesigningrequests",))]),
        _cluster_role("system:certificates.k8s.io:certificatesigningrequests:nodeclient", [
            rule(("create",), groups=(_CERTS,), resources=("certificatesigningrequests/nodeclient",))]),
        _cluster_role("system:certificates.k8s.io:certificatesigningrequests:selfnodeclient", [
            rule(("create",), groups=(_CERTS,), resources=("certificatesigningrequests/selfnodeclient",))]),
        *(_cluster_role(f"system:certificates.k8s.io:{short}-approver", [
            rule(("approve",), groups=(_CERTS,), resources=("signers",), names=(signer,))])
          for short, signer in (("legacy-unknown", LEGACY_UNKNOWN_SIGNER),
                                ("kubelet-serving", KUBELET_SERVING_SIGNER),
                                ("kube-apiserver-client", KUBE_APISERVER_CLIENT_SIGNER),
                                ("kube-apiserver-client-kubelet", KUBE_APISERVER_CLIENT_KUBELET_SIGNER))),
        _cluster_role("system:kube-controller-manager", [
            _events_rule(),
            rule(("create",), groups=("coordination.k8s.io",), resources=("leases",)),
            rule(("get", "update"), groups=("coordination.k8s.io",), resources=("leases",),
                 names=("kube-controller-manager",)),
            rule(("create",), groups=("",), resources=("secrets", "serviceaccounts")),
            rule(("delete",), groups=("",), resources=("secrets",)),
            rule(("get",), groups=("",), resources=("namespaces", "secrets", "serviceaccounts", "configmaps")),
            rule(("update",), groups=("",), resources=("secrets", "serviceaccounts")),
            rule(("create",), groups=("authentication.k8s.io",), resources=("tokenreviews",)),
            rule(("create",), groups=("authorization.k8s.io",), resources=("subjectaccessreviews",)),
            rule(("list", "watch"), groups=("*",), resources=("*",)),
            rule(("create",), groups=("",), resources=("serviceaccounts/token",)),
        ]),
        _cluster_role(_SA_ROLE_PREFIX + "certificate-controller", [
            rule(("get", "list", "watch", "delete"), groups=(_CERTS,), resources=("certificatesigningrequests",)),
            rule(("update",), groups=(_CERTS,),
                 resources=("certificatesigningrequests/status", "certificatesigningrequests/approval")),
            rule(("approve",), groups=(_CERTS,), resources=("signers",), names=(KUBE_APISERVER_CLIENT_KUBELET_SIGNER,)),
            rule(("sign",), groups=(_CERTS,), resources=("signers",), names=(
                LEGACY_UNKNOWN_SIGNER, KUBE_APISERVER_CLIENT_SIGNER, KUBE_APISERVER_CLIENT_KUBELET_SIGNER,
                KUBELET_SERVING_SIGNER)),
            rule(("create",), groups=("authorization.k8s.io",), resources=("subjectaccessreviews",)),
            _events_rule(),
        ]),
        _cluster_role(_SA_ROLE_PREFIX + "generic-garbage-collector", [
            rule(("get", "list", "watch", "patch", "update", "delete"), groups=("*",), resources=("*",)),
            _events_rule(),
        ]),
    ]


def _cluster_role_bindings() -> list[Obj]:
    def groups(*names: str) -> list[Obj]:
        return [group(n) for n in names]
    return [
        _cluster_role_binding("cluster-admin", groups(MASTERS_GROUP)),
        _cluster_role_binding("system:discovery", groups(AUTHENTICATED_GROUP)),
        _cluster_role_binding("system:basic-user", groups(AUTHENTICATED_GROUP)),
        _cluster_role_binding("system:public-info-viewer", groups(AUTHENTICATED_GROUP, UNAUTHENTICATED_GROUP)),
        _cluster_role_binding("system:kube-controller-manager", [user(MODEL_CONTROLLER_USER)]),
        # Deprecated since 1.7 (the Node authorizer replaced it): kept with no subjects.
        _cluster_role_binding("system:node", []),
        _cluster_role_binding(_SA_ROLE_PREFIX + "certificate-controller",
                              _controller_subjects("certificate-controller")),
        _cluster_role_binding(_SA_ROLE_PREFIX + "generic-garbage-collector",
                              _controller_subjects("generic-garbage-collector")),
    ]


def _namespaced() -> list[tuple[str, Obj]]:
    signer, cleaner = _SA_ROLE_PREFIX + "bootstrap-signer", _SA_ROLE_PREFIX + "token-cleaner"
    return [
        ("roles", _role(signer, [rule(_READ, groups=("",), resources=("secrets",))], KUBE_SYSTEM_NAMESPACE)),
        ("roles", _role(cleaner, [
            rule(("get", "list", "watch", "delete"), groups=("",), resources=("secrets",)),
            _events_rule()], KUBE_SYSTEM_NAMESPACE)),
        ("roles", _role(signer, [
            rule(_READ, groups=("",), resources=("configmaps",)),
            rule(("update",), groups=("",), resources=("configmaps",), names=("cluster-info",)),
            _events_rule()], "kube-public")),
        ("rolebindings", _role_binding(signer, _controller_subjects("bootstrap-signer"), KUBE_SYSTEM_NAMESPACE)),
        ("rolebindings", _role_binding(cleaner, _controller_subjects("token-cleaner"), KUBE_SYSTEM_NAMESPACE)),
        ("rolebindings", _role_binding(signer, _controller_subjects("bootstrap-signer"), "kube-public")),
    ]


def bootstrap_policy(profile: Profile = CURRENT) -> list[tuple[str, dict[str, Any]]]:
    """Return (resource, object) pairs for the built-in roles and bindings, ready for ``Store.create``."""
    out: list[tuple[str, dict[str, Any]]] = [("clusterroles", r) for r in _cluster_roles(profile)]
    out += [("clusterrolebindings", b) for b in _cluster_role_bindings()]
    out += _namespaced()
    return out
