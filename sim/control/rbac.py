"""Evaluate RBAC: find a binding whose subject is the user and whose role has a rule allowing the request.

How this works (upstream's authorizingVisitor): visit every ClusterRoleBinding,
then, for a namespaced request, every RoleBinding of that namespace. For each
binding with a subject matching the user (User by name, Group by membership,
ServiceAccount by ``system:serviceaccount:<ns>:<name>``), resolve its role and
test the rules; the first allowing rule wins and names the binding in the
reason. A binding whose role is missing contributes an error; if nothing
allows, the reason is ``RBAC: <errors>`` (empty when there were none), which
the 403 message then carries.
Upstream: plugin/pkg/auth/authorizer/rbac/rbac.go (RuleAllows),
pkg/registry/rbac/validation/rule.go (VisitRulesFor, appliesToUser, describers),
pkg/apis/rbac/v1/evaluation_helpers.go (VerbMatches, ResourceMatches, ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Sequence

from sim.control.store import Store

if TYPE_CHECKING:
    from sim.control.authn import UserInfo
    from sim.control.authz import Attributes

__all__ = ["RbacAuthorizer", "rule_allows", "rules_allow"]

_RBAC_RESOURCES = frozenset({"roles", "rolebindings", "clusterroles", "clusterrolebindings"})
_SA_PREFIX = "system:serviceaccount:"

Obj = dict[str, Any]


def _has(values: Sequence[str] | None, wanted: str) -> bool:
    if not values:
        return False
    return "*" in values or wanted in values


def _resource_matches(rule: Mapping[str, Any], combined: str, subresource: str) -> bool:
    for res in rule.get("resources") or ():
        if res == "*" or res == combined:
            return True
        if subresource and len(res) == len(subresource) + 2 and res.startswith("*/") and res.endswith(subresource):
            return True
    return False


def _url_matches(rule: Mapping[str, Any], path: str) -> bool:
    for url in rule.get("nonResourceURLs") or ():
        if url == "*" or url == path or (url.endswith("*") and path.startswith(url[:-1])):
            return True
    return False


def rule_allows(attrs: Attributes, rule: Mapping[str, Any]) -> bool:
    """Tell whether one PolicyRule allows the request (rbac.go RuleAllows)."""
    if not _has(rule.get("verbs"), attrs.verb):
        return False
    if not attrs.is_resource_request:
        return _url_matches(rule, attrs.path)
    combined = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    names = rule.get("resourceNames") or ()
    return (_has(rule.get("apiGroups"), attrs.api_group)
            and _resource_matches(rule, combined, attrs.subresource)
            and (not names or attrs.name in names))


def rules_allow(attrs: Attributes, rules: Sequence[Mapping[str, Any]]) -> bool:
    """Tell whether any rule allows the request (rbac.go RulesAllow); malformed stored rules never match."""
    return any(isinstance(r, Mapping) and rule_allows(attrs, r) for r in rules)


def _applies_to(subject: Mapping[str, Any], user: UserInfo, namespace: str) -> bool:
    """Match one binding subject against the user (rule.go appliesToUser)."""
    if not isinstance(subject, Mapping):
        return False
    kind, name = subject.get("kind"), subject.get("name", "")
    if kind == "User":
        return bool(user.name == name)
    if kind == "Group":
        return name in user.groups
    if kind == "ServiceAccount":
        sa_namespace = subject.get("namespace") or namespace
        return bool(sa_namespace) and user.name == f"{_SA_PREFIX}{sa_namespace}:{name}"
    return False


def _describe_subject(subject: Mapping[str, Any], binding_namespace: str) -> str:
    kind, name = subject.get("kind", ""), subject.get("name", "")
    if kind == "ServiceAccount":
        return f'{kind} "{name}/{subject.get("namespace") or binding_namespace}"'
    return f'{kind} "{name}"'


@dataclass(frozen=True, slots=True)
class _Index:
    """Hold the RBAC objects, rebuilt whenever one of them changes."""

    cluster_bindings: list[Obj]
    bindings_by_ns: dict[str, list[Obj]]
    cluster_roles: dict[str, Obj]
    roles: dict[tuple[str, str], Obj]


class RbacAuthorizer:
    """Answer RBAC questions from the store's Roles, RoleBindings, ClusterRoles and ClusterRoleBindings."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._seen = -1
        self._index = _Index([], {}, {}, {})

    def authorize(self, attrs: Attributes) -> tuple[bool, str]:
        """Return (allowed, reason): ``RBAC: allowed by ...`` or ``RBAC: <errors>`` / ``""``."""
        errors: list[str] = []
        for source, rules, error in self._visit(attrs.user, attrs.namespace):
            if error:
                errors.append(error)
                continue
            if rules_allow(attrs, rules):
                return True, f"RBAC: allowed by {source}"
        unique = list(dict.fromkeys(errors))
        if not unique:
            return False, ""
        return False, "RBAC: " + (unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]")

    def _visit(self, user: UserInfo, namespace: str) -> Iterator[tuple[str, list[Obj], str]]:
        """Yield (describer, rules, error) for every binding that applies to the user (VisitRulesFor)."""
        index = self._current()
        for binding in index.cluster_bindings:
            subject = next((s for s in binding.get("subjects") or () if _applies_to(s, user, "")), None)
            if subject is None:
                continue
            ref = binding.get("roleRef") or {}
            source = (f'ClusterRoleBinding "{binding["metadata"]["name"]}" of {ref.get("kind", "")} '
                      f'"{ref.get("name", "")}" to {_describe_subject(subject, "")}')
            rules, error = self._role_rules(index, ref, "")
            yield source, rules, error
        if not namespace:
            return
        for binding in index.bindings_by_ns.get(namespace, ()):
            subject = next((s for s in binding.get("subjects") or () if _applies_to(s, user, namespace)), None)
            if subject is None:
                continue
            ref = binding.get("roleRef") or {}
            source = (f'RoleBinding "{binding["metadata"]["name"]}/{namespace}" of {ref.get("kind", "")} '
                      f'"{ref.get("name", "")}" to {_describe_subject(subject, namespace)}')
            rules, error = self._role_rules(index, ref, namespace)
            yield source, rules, error

    @staticmethod
    def _role_rules(index: _Index, ref: Mapping[str, Any], namespace: str) -> tuple[list[Obj], str]:
        """Resolve a roleRef to its rules, or to the lister's NotFound text (GetRoleReferenceRules)."""
        kind, name = ref.get("kind"), ref.get("name", "")
        if kind == "ClusterRole":
            role = index.cluster_roles.get(name)
            missing = f'clusterrole.rbac.authorization.k8s.io "{name}" not found'
        elif kind == "Role" and namespace:
            role = index.roles.get((namespace, name))
            missing = f'role.rbac.authorization.k8s.io "{name}" not found'
        else:
            return [], f"unsupported role reference kind: {kind!r}"
        if role is None:
            return [], missing
        return list(role.get("rules") or ()), ""

    def _current(self) -> _Index:
        """Return the index, rebuilding it if an RBAC object changed since the last look."""
        revision = self._store.revision
        if revision == self._seen:
            return self._index
        changed = self._seen < 0 or any(e.resource in _RBAC_RESOURCES for e in self._store.events_since(self._seen))
        self._seen = revision
        if changed:
            by_ns: dict[str, list[Obj]] = {}
            for rb in self._store.iter("rolebindings"):
                by_ns.setdefault(rb["metadata"].get("namespace", ""), []).append(rb)
            self._index = _Index(
                cluster_bindings=list(self._store.iter("clusterrolebindings")),
                bindings_by_ns=by_ns,
                cluster_roles={r["metadata"]["name"]: r for r in self._store.iter("clusterroles")},
                roles={(r["metadata"].get("namespace", ""), r["metadata"]["name"]): r
                       for r in self._store.iter("roles")},
            )
        return self._index
