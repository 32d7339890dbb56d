"""Authorize requests as kube-apiserver does with kubeadm's ``--authorization-mode=Node,RBAC``.

How this works: a union of authorizers, tried in order; the first "allow"
wins, and the reasons of those with no opinion are joined with newlines.
1. ``system:masters`` may do anything (the privileged-group authorizer).
2. A model of the Node authorizer (``NodeAuthorizerModel``).
3. RBAC over the store's roles and bindings (rbac.py).
Decisions are remembered until an RBAC object changes (the Node
authorizer's rules are static), keyed by what they depend on: RBAC's key
(``RbacAuthorizer.decision_key``), plus the user name of a would-be node and
the object name of a Secret or ConfigMap, which the Node authorizer's
answers name.
Upstream: pkg/kubeapiserver/authorizer/config.go,
staging/src/k8s.io/apiserver/pkg/authorization/union/union.go,
plugin/pkg/auth/authorizer/node/node_authorizer.go,
pkg/auth/nodeidentifier/default.go.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.control.authn import UserInfo
from sim.control.rbac import Decisions, RbacAuthorizer, rules_allow
from sim.control.rbac_defaults import node_rules
from sim.control.store import Store
from sim.protocol.constants import MASTERS_GROUP, NODE_USER_PREFIX, NODES_GROUP

__all__ = ["Attributes", "Authorizer", "NodeAuthorizerModel", "node_identity"]

_DECISIONS_KEPT = 4096
_NODE_GRAPH_RESOURCES = ("secrets", "configmaps")


@dataclass(frozen=True)
class Attributes:
    """Describe what a request wants to do (authorizer.Attributes); ``path`` marks a non-resource request."""

    user: UserInfo
    verb: str
    api_group: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""

    @property
    def is_resource_request(self) -> bool:
        """Tell a resource request (``/api``, ``/apis`` objects) from a non-resource URL."""
        return bool(self.resource) or not self.path


def node_identity(user: UserInfo) -> tuple[str, bool]:
    """Return (node name, is a node) as the default node identifier does.

    A node is a user named ``system:node:<name>`` in the ``system:nodes`` group;
    the name may be empty, which the Node authorizer then rejects.
    """
    if not user.name.startswith(NODE_USER_PREFIX) or NODES_GROUP not in user.groups:
        return "", False
    return user.name[len(NODE_USER_PREFIX):], True


class NodeAuthorizerModel:
    """Model the Node authorizer for the objects joinsim serves.

    Secrets and ConfigMaps are only readable by name through the graph of pods
    bound to the node; joinsim runs no pods, so every such read is refused
    with the graph's reason. Everything else is checked against the static
    NodeRules() (nodes, nodes/status, CSRs, reviews...). That a node may only
    write its own Node object is enforced afterwards by the NodeRestriction
    admission model (admission.py), as upstream splits it.
    """

    def __init__(self) -> None:
        self._rules = node_rules()

    def authorize(self, attrs: Attributes) -> tuple[bool, str]:
        """Return (allowed, reason) for a request; non-nodes get no opinion and no reason."""
        node, is_node = node_identity(attrs.user)
        if not is_node:
            return False, ""
        if not node:
            return False, f'unknown node for user "{attrs.user.name}"'
        if attrs.is_resource_request and attrs.api_group == "" and attrs.resource in ("secrets", "configmaps"):
            return False, self._read_namespaced_object(node, attrs)
        if rules_allow(attrs, self._rules):
            return True, ""
        return False, ""

    @staticmethod
    def _read_namespaced_object(node: str, attrs: Attributes) -> str:
        """Return the denial reason of authorizeReadNamespacedObject (always a denial here: no pods)."""
        if attrs.verb not in ("get", "list", "watch"):
            return "can only read resources of this type"
        if attrs.subresource:
            return "cannot read subresource"
        if not attrs.namespace:
            return "can only read namespaced object of this type"
        if not attrs.name:
            return "No Object name found"
        return f'no relationship found between node "{node}" and this object'


class Authorizer:
    """Decide whether a user may do something; reasons follow upstream's union of authorizers."""

    def __init__(self, store: Store) -> None:
        self._node = NodeAuthorizerModel()
        self._rbac = RbacAuthorizer(store)
        self._decisions = Decisions(_DECISIONS_KEPT)
        self._generation = -1

    def authorize(self, attrs: Attributes) -> tuple[bool, str]:
        """Return (allowed, reason); on denial the reason is what the 403 message appends."""
        generation = self._rbac.current_generation()
        if generation != self._generation:
            self._decisions.clear()
            self._generation = generation
        user = attrs.user.name
        key = (self._rbac.decision_key(attrs), user if user.startswith(NODE_USER_PREFIX) else None,
               attrs.name if attrs.resource in _NODE_GRAPH_RESOURCES else None)
        return self._decisions.get(key, lambda: self._decide(attrs))

    def _decide(self, attrs: Attributes) -> tuple[bool, str]:
        if MASTERS_GROUP in attrs.user.groups:
            return True, ""
        reasons: list[str] = []
        for authorizer in (self._node, self._rbac):
            allowed, reason = authorizer.authorize(attrs)
            if allowed:
                return True, reason
            if reason:
                reasons.append(reason)
        return False, "\n".join(reasons)
