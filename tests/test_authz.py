"""Test authorization: RBAC rule matching, the built-in policy, kubeadm's bindings and the Node authorizer model."""

from __future__ import annotations

from typing import Any

import pytest

from sim.control.authn import UserInfo
from sim.control.authz import Attributes, node_identity
from sim.control.profile import V1_22
from sim.control.rbac import rule_allows
from sim.control.rbac_defaults import MODEL_CONTROLLER_USER, bootstrap_policy
from tests.api_fixtures import NODE_GROUP, NOW, TOKEN_ID, make_server

BOOT = UserInfo(name=f"system:bootstrap:{TOKEN_ID}",
                groups=("system:bootstrappers", NODE_GROUP, "system:authenticated"))
ANON = UserInfo(name="system:anonymous", groups=("system:unauthenticated",))
ADMIN = UserInfo(name="kubernetes-admin", groups=("system:masters", "system:authenticated"))
NODE = UserInfo(name="system:node:node-1", groups=("system:nodes", "system:authenticated"))
KCM = UserInfo(name=MODEL_CONTROLLER_USER, groups=("system:authenticated",))
SA = UserInfo(name="system:serviceaccount:kube-system:certificate-controller",
              groups=("system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"))
CERTS = "certificates.k8s.io"
KUBELET_SIGNER = "kubernetes.io/kube-apiserver-client-kubelet"


def res(user: UserInfo, verb: str, resource: str, *, group: str = "", sub: str = "", ns: str = "",
        name: str = "") -> Attributes:
    return Attributes(user=user, verb=verb, api_group=group, resource=resource, subresource=sub, namespace=ns,
                      name=name)


def url(user: UserInfo, path: str, verb: str = "get") -> Attributes:
    return Attributes(user=user, verb=verb, path=path)


@pytest.mark.parametrize(("rule", "attrs", "allowed"), [
    pytest.param({"verbs": ["get"], "apiGroups": [""], "resources": ["nodes"]}, res(ANON, "get", "nodes"), True,
                 id="valid: exact match"),
    pytest.param({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}, res(ANON, "approve", "signers", group=CERTS),
                 True, id="valid: wildcards"),
    pytest.param({"verbs": ["get"], "apiGroups": [""], "resources": ["nodes"]}, res(ANON, "list", "nodes"), False,
                 id="invalid: other verb"),
    pytest.param({"verbs": ["get"], "apiGroups": ["apps"], "resources": ["nodes"]}, res(ANON, "get", "nodes"), False,
                 id="invalid: other group"),
    pytest.param({"verbs": ["update"], "apiGroups": [""], "resources": ["nodes/status"]},
                 res(ANON, "update", "nodes", sub="status"), True, id="valid: subresource"),
    pytest.param({"verbs": ["update"], "apiGroups": [""], "resources": ["nodes"]},
                 res(ANON, "update", "nodes", sub="status"), False, id="invalid: resource rule does not cover status"),
    pytest.param({"verbs": ["update"], "apiGroups": [""], "resources": ["*/status"]},
                 res(ANON, "update", "nodes", sub="status"), True, id="valid: */subresource"),
    pytest.param({"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["a"]},
                 res(ANON, "get", "configmaps", name="a"), True, id="valid: resource name"),
    pytest.param({"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["a"]},
                 res(ANON, "get", "configmaps", name="b"), False, id="invalid: other resource name"),
    pytest.param({"verbs": ["list"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["a"]},
                 res(ANON, "list", "configmaps"), False, id="invalid: resource names never match a nameless list"),
    pytest.param({"verbs": ["get"], "nonResourceURLs": ["/apis/*"]}, url(ANON, "/apis/certificates.k8s.io"), True,
                 id="valid: URL prefix"),
    pytest.param({"verbs": ["get"], "nonResourceURLs": ["/version"]}, url(ANON, "/version/"), False,
                 id="invalid: URL must match exactly"),
    pytest.param({"verbs": ["get"], "nonResourceURLs": ["*"]}, url(ANON, "/anything"), True, id="valid: any URL"),
    pytest.param({"verbs": ["get"], "apiGroups": ["*"], "resources": ["*"]}, url(ANON, "/version"), False,
                 id="invalid: resource rule never allows a URL"),
])
def test_rule_allows(rule: dict[str, Any], attrs: Attributes, allowed: bool) -> None:
    assert rule_allows(attrs, rule) is allowed


def crb(binding: str, role: str, subject: str) -> str:
    return f'RBAC: allowed by ClusterRoleBinding "{binding}" of ClusterRole "{role}" to {subject}'


DECISIONS = [
    pytest.param(res(ADMIN, "delete", "secrets", ns="kube-system", name="x"), True, "", id="valid: system:masters"),
    pytest.param(res(BOOT, "create", "certificatesigningrequests", group=CERTS), True,
                 crb("kubeadm:kubelet-bootstrap", "system:node-bootstrapper", f'Group "{NODE_GROUP}"'),
                 id="valid: bootstrap token creates CSRs"),
    pytest.param(res(BOOT, "create", "certificatesigningrequests", group=CERTS, sub="nodeclient"), True,
                 crb("kubeadm:node-autoapprove-bootstrap",
                     "system:certificates.k8s.io:certificatesigningrequests:nodeclient", f'Group "{NODE_GROUP}"'),
                 id="valid: nodeclient auto-approval"),
    pytest.param(res(BOOT, "get", "nodes", name="node-1"), True,
                 crb("kubeadm:get-nodes", "kubeadm:get-nodes", f'Group "{NODE_GROUP}"'), id="valid: kubeadm:get-nodes"),
    pytest.param(res(BOOT, "get", "configmaps", ns="kube-system", name="kubeadm-config"), True,
                 'RBAC: allowed by RoleBinding "kubeadm:nodes-kubeadm-config/kube-system" of Role '
                 f'"kubeadm:nodes-kubeadm-config" to Group "{NODE_GROUP}"', id="valid: kubeadm-config"),
    pytest.param(res(BOOT, "get", "secrets", ns="kube-system", name="kubeadm-certs"), True,
                 'RBAC: allowed by RoleBinding "kubeadm:kubeadm-certs/kube-system" of Role "kubeadm:kubeadm-certs" '
                 f'to Group "{NODE_GROUP}"', id="valid: kubeadm-certs"),
    pytest.param(res(BOOT, "get", "secrets", ns="kube-system", name="bootstrap-token-abcdef"), False, "",
                 id="invalid: bootstrap token reads other secrets"),
    pytest.param(res(BOOT, "get", "configmaps", ns="kube-system", name="kube-proxy"), False, "",
                 id="invalid: kube-proxy ConfigMap (kubeadm only warns)"),
    pytest.param(res(BOOT, "list", "nodes"), False, "", id="invalid: bootstrap token lists nodes"),
    pytest.param(res(ANON, "get", "configmaps", ns="kube-public", name="cluster-info"), True,
                 'RBAC: allowed by RoleBinding "kubeadm:bootstrap-signer-clusterinfo/kube-public" of Role '
                 '"kubeadm:bootstrap-signer-clusterinfo" to User "system:anonymous"', id="valid: anonymous cluster-info"),
    pytest.param(res(ANON, "get", "configmaps", ns="kube-public", name="other"), False, "",
                 id="invalid: anonymous other ConfigMap"),
    pytest.param(url(ANON, "/version"), True,
                 crb("system:public-info-viewer", "system:public-info-viewer", 'Group "system:unauthenticated"'),
                 id="valid: anonymous /version"),
    pytest.param(url(ANON, "/healthz"), True,
                 crb("system:public-info-viewer", "system:public-info-viewer", 'Group "system:unauthenticated"'),
                 id="valid: anonymous /healthz"),
    pytest.param(url(ANON, "/api"), False, "", id="invalid: anonymous discovery"),
    pytest.param(url(BOOT, "/apis/certificates.k8s.io/v1"), True,
                 crb("system:discovery", "system:discovery", 'Group "system:authenticated"'),
                 id="valid: authenticated discovery"),
    pytest.param(res(BOOT, "create", "selfsubjectaccessreviews", group="authorization.k8s.io"), True,
                 crb("system:basic-user", "system:basic-user", 'Group "system:authenticated"'), id="valid: SSAR"),
    pytest.param(res(ANON, "create", "selfsubjectreviews", group="authentication.k8s.io"), False, "",
                 id="invalid: anonymous whoami"),
    pytest.param(res(NODE, "get", "nodes", name="node-1"), True, "", id="valid: node reads its Node"),
    pytest.param(res(NODE, "get", "nodes", name="node-2"), True, "", id="valid: node reads any Node (NodeRules)"),
    pytest.param(res(NODE, "patch", "nodes", sub="status", name="node-1"), True, "", id="valid: node status"),
    pytest.param(res(NODE, "create", "certificatesigningrequests", group=CERTS), True, "", id="valid: node CSR"),
    pytest.param(res(NODE, "create", "certificatesigningrequests", group=CERTS, sub="selfnodeclient"), True,
                 crb("kubeadm:node-autoapprove-certificate-rotation",
                     "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient", 'Group "system:nodes"'),
                 id="valid: renewal auto-approval"),
    pytest.param(res(NODE, "delete", "nodes", name="node-1"), False, "", id="invalid: node deletes Nodes"),
    pytest.param(res(NODE, "get", "secrets", ns="kube-system", name="s"), False,
                 'no relationship found between node "node-1" and this object', id="invalid: node secret (no pods)"),
    pytest.param(res(NODE, "list", "secrets", ns="kube-system"), False, "No Object name found",
                 id="invalid: node lists secrets"),
    pytest.param(res(NODE, "update", "configmaps", ns="kube-system", name="c"), False,
                 "can only read resources of this type", id="invalid: node writes configmaps"),
    pytest.param(res(NODE, "get", "configmaps", ns="kube-system", name="kubeadm-config"), True,
                 'RBAC: allowed by RoleBinding "kubeadm:nodes-kubeadm-config/kube-system" of Role '
                 '"kubeadm:nodes-kubeadm-config" to Group "system:nodes"', id="valid: node reads kubeadm-config by RBAC"),
    pytest.param(res(UserInfo(name="system:node:", groups=("system:nodes",)), "get", "nodes", name="x"), False,
                 'unknown node for user "system:node:"', id="invalid: node without a name"),
    pytest.param(res(KCM, "approve", "signers", group=CERTS, name=KUBELET_SIGNER), True,
                 crb("system:controller:certificate-controller", "system:controller:certificate-controller",
                     f'User "{MODEL_CONTROLLER_USER}"'), id="valid: controllers approve kubelet client CSRs"),
    pytest.param(res(KCM, "approve", "signers", group=CERTS, name="kubernetes.io/kubelet-serving"), False, "",
                 id="invalid: controllers approve other signers"),
    pytest.param(res(KCM, "sign", "signers", group=CERTS, name="kubernetes.io/legacy-unknown"), True,
                 crb("system:controller:certificate-controller", "system:controller:certificate-controller",
                     f'User "{MODEL_CONTROLLER_USER}"'), id="valid: controllers sign"),
    pytest.param(res(KCM, "update", "certificatesigningrequests", group=CERTS, sub="approval", name="c"), True,
                 crb("system:controller:certificate-controller", "system:controller:certificate-controller",
                     f'User "{MODEL_CONTROLLER_USER}"'), id="valid: controllers update approval"),
    pytest.param(res(KCM, "create", "subjectaccessreviews", group="authorization.k8s.io"), True,
                 crb("system:controller:certificate-controller", "system:controller:certificate-controller",
                     f'User "{MODEL_CONTROLLER_USER}"'), id="valid: controllers create SARs (first binding by name)"),
    pytest.param(res(KCM, "get", "namespaces", name="kube-system"), True,
                 crb("system:controller:generic-garbage-collector", "system:controller:generic-garbage-collector",
                     f'User "{MODEL_CONTROLLER_USER}"'), id="valid: controllers read namespaces"),
    pytest.param(res(KCM, "delete", "secrets", ns="kube-system", name="bootstrap-token-x"), True,
                 crb("system:controller:generic-garbage-collector", "system:controller:generic-garbage-collector",
                     f'User "{MODEL_CONTROLLER_USER}"'), id="valid: token cleaner deletes secrets"),
    pytest.param(res(KCM, "update", "configmaps", ns="kube-public", name="cluster-info"), True,
                 crb("system:controller:generic-garbage-collector", "system:controller:generic-garbage-collector",
                     f'User "{MODEL_CONTROLLER_USER}"'), id="valid: bootstrap signer updates cluster-info"),
    pytest.param(res(SA, "approve", "signers", group=CERTS, name=KUBELET_SIGNER), True,
                 crb("system:controller:certificate-controller", "system:controller:certificate-controller",
                     'ServiceAccount "certificate-controller/kube-system"'), id="valid: upstream service account"),
]


@pytest.mark.parametrize(("attrs", "allowed", "reason"), DECISIONS)
def test_authorizer_decisions_and_reasons(attrs: Attributes, allowed: bool, reason: str) -> None:
    api, _ = make_server()
    assert api.authorizer.authorize(attrs) == (allowed, reason)


def test_binding_to_a_missing_role_reports_the_lister_error() -> None:
    api, store = make_server()
    store.delete("clusterroles", "", "kubeadm:get-nodes")
    allowed, reason = api.authorizer.authorize(res(BOOT, "get", "nodes", name="n"))
    assert not allowed
    assert reason == 'RBAC: clusterrole.rbac.authorization.k8s.io "kubeadm:get-nodes" not found'


def test_new_bindings_take_effect_immediately() -> None:
    api, store = make_server()
    attrs = res(BOOT, "list", "nodes")
    assert api.authorizer.authorize(attrs) == (False, "")
    store.create("clusterrolebindings", {"metadata": {"name": "extra"},
                                         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                                     "name": "cluster-admin"},
                                         "subjects": [{"kind": "User", "name": BOOT.name}]}, NOW)
    assert api.authorizer.authorize(attrs)[0]


def test_role_bindings_only_apply_in_their_namespace() -> None:
    api, _ = make_server()
    assert not api.authorizer.authorize(res(BOOT, "get", "configmaps", ns="default", name="kubeadm-config"))[0]


@pytest.mark.parametrize(("user", "expected"), [
    pytest.param(NODE, ("node-1", True), id="valid: node"),
    pytest.param(UserInfo(name="system:node:n"), ("", False), id="invalid: not in system:nodes"),
    pytest.param(UserInfo(name="someone", groups=("system:nodes",)), ("", False), id="invalid: wrong name prefix"),
])
def test_node_identity(user: UserInfo, expected: tuple[str, bool]) -> None:
    assert node_identity(user) == expected


def _names(policy: list[tuple[str, dict[str, Any]]], resource: str) -> set[str]:
    return {o["metadata"]["name"] for r, o in policy if r == resource}


def test_bootstrap_policy_has_the_upstream_objects_joins_rely_on() -> None:
    policy = bootstrap_policy()
    assert {"system:node-bootstrapper", "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
            "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient", "system:public-info-viewer",
            "system:discovery", "system:basic-user", "system:kube-controller-manager",
            "system:controller:certificate-controller"} <= _names(policy, "clusterroles")
    roles = {o["metadata"]["name"]: o for r, o in policy if r == "clusterroles"}
    assert roles["system:node-bootstrapper"]["rules"] == [
        {"verbs": ["create", "get", "list", "watch"], "apiGroups": ["certificates.k8s.io"],
         "resources": ["certificatesigningrequests"]}]
    assert roles["system:public-info-viewer"]["rules"] == [
        {"verbs": ["get"], "nonResourceURLs": ["/livez", "/readyz", "/healthz", "/version", "/version/"]}]
    assert all(o["metadata"]["labels"] == {"kubernetes.io/bootstrapping": "rbac-defaults"} for _, o in policy)
    bindings = {o["metadata"]["name"]: o for r, o in policy if r == "clusterrolebindings"}
    assert [s["name"] for s in bindings["system:public-info-viewer"]["subjects"]] == [
        "system:authenticated", "system:unauthenticated"]
    assert [s["name"] for s in bindings["system:discovery"]["subjects"]] == ["system:authenticated"]


@pytest.mark.parametrize(("profile_name", "has_whoami"), [
    pytest.param("current", True, id="valid: current grants selfsubjectreviews"),
    pytest.param("1.22", False, id="valid: 1.22 predates selfsubjectreviews"),
])
def test_basic_user_by_profile(profile_name: str, has_whoami: bool) -> None:
    policy = bootstrap_policy(V1_22) if profile_name == "1.22" else bootstrap_policy()
    role = next(o for r, o in policy if r == "clusterroles" and o["metadata"]["name"] == "system:basic-user")
    assert any("selfsubjectreviews" in rule.get("resources", []) for rule in role["rules"]) is has_whoami
