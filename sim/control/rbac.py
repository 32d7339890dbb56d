"""Evaluate RBAC: find a binding whose subject is the user and whose role has a rule allowing the request.

How this works (upstream's authorizingVisitor): visit every ClusterRoleBinding,
then, for a namespaced request, every RoleBinding of that namespace. For each
binding with a subject matching the user (User by name, Group by membership,
ServiceAccount by ``system:serviceaccount:<ns>:<name>``), resolve its role and
test the rules; the first allowing rule wins and names the binding in the
reason. A binding whose role is missing contributes an error; if nothing
allows, the reason is ``RBAC: <errors>`` (empty when there were none), which
the 403 message then carries.

The visit only looks at bindings that can apply: the index keeps, for every
(kind, name) a subject names, the positions of the bindings naming it, so a
user's candidates are those of its name and groups, visited in the same
order as a full scan would (bindings with subjects the index cannot key are
always candidates). A user whose name no binding names is judged by its
groups alone, and an object's name matters only for resources some rule
lists ``resourceNames`` for, so decisions are remembered per (name when
named, groups, attributes, object name when it matters) until an RBAC object
changes.
Upstream: plugin/pkg/auth/authorizer/rbac/rbac.go (RuleAllows),
pkg/registry/rbac/validation/rule.go (VisitRulesFor, appliesToUser, describers),
pkg/apis/rbac/v1/evaluation_helpers.go (VerbMatches, ResourceMatches, ...).
"""

from __future__ import annotations

from collections import abc
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping, Sequence

from sim.control.store import Store

if TYPE_CHECKING:
    from sim.control.authn import UserInfo
    from sim.control.authz import Attributes

__all__ = ["Decisions", "RbacAuthorizer", "rule_allows", "rules_allow"]

_RBAC_RESOURCES = frozenset({"roles", "rolebindings", "clusterroles", "clusterrolebindings"})
_SA_PREFIX = "system:serviceaccount:"
_DECISIONS_KEPT = 8192

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
    return any(isinstance(r, abc.Mapping) and rule_allows(attrs, r) for r in rules)


def _applies_to(subject: Mapping[str, Any], user: UserInfo, namespace: str) -> bool:
    """Match one binding subject against the user (rule.go appliesToUser)."""
    if not isinstance(subject, abc.Mapping):
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


SubjectKey = tuple[str, str]
"""(kind, name) of a binding subject; a ServiceAccount's name is its full user name."""


def _subject_key(subject: Any, namespace: str) -> SubjectKey | None:
    """Return the key a subject matches users by, or None when it cannot be keyed (then always check it)."""
    if not isinstance(subject, abc.Mapping):
        return None
    kind, name = subject.get("kind"), subject.get("name", "")
    if not isinstance(name, str) or kind not in ("User", "Group", "ServiceAccount"):
        return None
    if kind == "ServiceAccount":
        sa_namespace = subject.get("namespace") or namespace
        if not isinstance(sa_namespace, str):
            return None
        return kind, f"{_SA_PREFIX}{sa_namespace}:{name}"
    return kind, name


@dataclass(frozen=True, slots=True)
class _Bindings:
    """Hold bindings in scan order, with the positions of those each subject key names."""

    items: list[Obj]
    by_subject: dict[SubjectKey, list[int]]
    always: list[int]

    @classmethod
    def of(cls, items: list[Obj], namespace: str) -> _Bindings:
        """Index bindings of one scope (``namespace`` "" for ClusterRoleBindings)."""
        by_subject: dict[SubjectKey, list[int]] = {}
        always: list[int] = []
        for position, binding in enumerate(items):
            for subject in binding.get("subjects") or ():
                key = _subject_key(subject, namespace)
                if key is None:
                    always.append(position)
                    continue
                positions = by_subject.setdefault(key, [])
                if not positions or positions[-1] != position:
                    positions.append(position)
        return cls(items, by_subject, always)

    def names(self, name: str) -> bool:
        """Tell whether a binding here may name this user (by User or ServiceAccount subject)."""
        return bool(self.always) or ("User", name) in self.by_subject or ("ServiceAccount", name) in self.by_subject

    def candidates(self, user: UserInfo) -> Iterator[Obj]:
        """Yield, in scan order, the bindings that may have a subject applying to the user."""
        keys: Iterable[SubjectKey] = (("User", user.name), ("ServiceAccount", user.name),
                                      *(("Group", g) for g in user.groups))
        positions = set(self.always)
        for key in keys:
            positions.update(self.by_subject.get(key, ()))
        for position in sorted(positions):
            yield self.items[position]


@dataclass(frozen=True, slots=True)
class _Index:
    """Hold the RBAC objects, rebuilt whenever one of them changes."""

    cluster_bindings: _Bindings
    bindings_by_ns: dict[str, _Bindings]
    cluster_roles: dict[str, Obj]
    roles: dict[tuple[str, str], Obj]
    named_resources: frozenset[str] = frozenset()
    """Resources (``res`` or ``res/sub``) some rule restricts by ``resourceNames``."""
    any_named_wildcard: bool = False
    """Some rule with ``resourceNames`` names its resources by a wildcard: every name may matter."""


def _named_resources(roles: Iterable[Obj]) -> tuple[frozenset[str], bool]:
    """Return the resources rules restrict by name, and whether a wildcard does (then all names matter)."""
    named: set[str] = set()
    wildcard = False
    for role in roles:
        for rule in role.get("rules") or ():
            if not isinstance(rule, abc.Mapping) or not rule.get("resourceNames"):
                continue
            for res in rule.get("resources") or ():
                if not isinstance(res, str) or res == "*" or res.startswith("*/"):
                    wildcard = True
                else:
                    named.add(res)
    return frozenset(named), wildcard


class Decisions:
    """Remember authorization decisions by key, dropping the oldest when full (a hot key comes straight back)."""

    def __init__(self, size: int) -> None:
        self._kept: dict[tuple[Any, ...], tuple[bool, str]] = {}
        self._size = size

    def get(self, key: tuple[Any, ...], decide: Callable[[], tuple[bool, str]]) -> tuple[bool, str]:
        """Return the decision remembered for ``key``, else ``decide()``'s, remembered."""
        found = self._kept.get(key)
        if found is None:
            if len(self._kept) >= self._size:
                del self._kept[next(iter(self._kept))]
            found = self._kept[key] = decide()
        return found

    def clear(self) -> None:
        """Forget every decision (an RBAC object changed)."""
        self._kept.clear()


class RbacAuthorizer:
    """Answer RBAC questions from the store's Roles, RoleBindings, ClusterRoles and ClusterRoleBindings."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._seen = -1
        self._index = _Index(_Bindings([], {}, []), {}, {}, {})
        self.generation = 0
        """Counts rebuilds of the index: a decision cached under one generation holds until the next."""
        self._decisions = Decisions(_DECISIONS_KEPT)

    def decision_key(self, attrs: Attributes) -> tuple[Any, ...]:
        """Return what the decision on ``attrs`` depends on (module docstring): equal keys, equal answers."""
        index = self._current()
        user = attrs.user
        scoped = index.bindings_by_ns.get(attrs.namespace) if attrs.namespace else None
        named = index.cluster_bindings.names(user.name) or (scoped is not None and scoped.names(user.name))
        combined = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
        name_matters = index.any_named_wildcard or combined in index.named_resources
        return (user.name if named else None, user.groups, attrs.verb, attrs.api_group, attrs.resource,
                attrs.subresource, attrs.namespace, attrs.name if name_matters else None, attrs.path)

    def authorize(self, attrs: Attributes) -> tuple[bool, str]:
        """Return (allowed, reason): ``RBAC: allowed by ...`` or ``RBAC: <errors>`` / ``""``."""
        return self._decisions.get(self.decision_key(attrs), lambda: self._decide(attrs))

    def _decide(self, attrs: Attributes) -> tuple[bool, str]:
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
        for binding in index.cluster_bindings.candidates(user):
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
        scoped = index.bindings_by_ns.get(namespace)
        for binding in scoped.candidates(user) if scoped is not None else ():
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
            named, wildcard = _named_resources([*self._store.iter("clusterroles"), *self._store.iter("roles")])
            self._index = _Index(
                cluster_bindings=_Bindings.of(list(self._store.iter("clusterrolebindings")), ""),
                bindings_by_ns={ns: _Bindings.of(items, ns) for ns, items in by_ns.items()},
                cluster_roles={r["metadata"]["name"]: r for r in self._store.iter("clusterroles")},
                roles={(r["metadata"].get("namespace", ""), r["metadata"]["name"]): r
                       for r in self._store.iter("roles")},
                named_resources=named, any_named_wildcard=wildcard,
            )
            self.generation += 1
            self._decisions.clear()
        return self._index

    def current_generation(self) -> int:
        """Return the generation of the index after catching up with the store."""
        self._current()
        return self.generation
