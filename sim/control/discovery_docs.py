"""Build the documents kubectl and client libraries read before any request: version and API discovery.

Shapes follow what kube-apiserver serves on ``/version`` (version.Info),
``/api`` (APIVersions), ``/apis`` (APIGroupList), ``/apis/<group>`` (APIGroup)
and ``/api/v1`` or ``/apis/<group>/<version>`` (APIResourceList), limited to
the resources joinsim serves. Upstream's core APIResourceList has no
``apiVersion`` field; group lists do. Only the legacy (unaggregated)
discovery documents are served; clients fall back to them.
Upstream: staging/src/k8s.io/apimachinery/pkg/apis/meta/v1/types.go,
staging/src/k8s.io/apiserver/pkg/endpoints/discovery/*.go,
staging/src/k8s.io/apimachinery/pkg/version/types.go.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sim.control.profile import Profile
from sim.control.resources import RESOURCES, ResourceInfo

__all__ = [
    "REVIEWS", "SERVED_GROUPS", "api_group", "api_group_list", "api_resource_list", "api_versions", "served",
    "version_info",
]

_STORED_VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]
_SUBRESOURCE_VERBS = ["get", "patch", "update"]


@dataclass(frozen=True, slots=True)
class _Review:
    info: ResourceInfo
    since_122: bool = True  # served by a v1.22 apiserver


REVIEWS: dict[str, _Review] = {
    r.info.plural: r
    for r in (
        _Review(ResourceInfo(plural="subjectaccessreviews", group="authorization.k8s.io", version="v1",
                             kind="SubjectAccessReview", namespaced=False)),
        _Review(ResourceInfo(plural="selfsubjectaccessreviews", group="authorization.k8s.io", version="v1",
                             kind="SelfSubjectAccessReview", namespaced=False)),
        _Review(ResourceInfo(plural="selfsubjectreviews", group="authentication.k8s.io", version="v1",
                             kind="SelfSubjectReview", namespaced=False), since_122=False),
    )
}
"""Create-only review resources: answered, never stored."""

SERVED_GROUPS = ("authentication.k8s.io", "authorization.k8s.io", "certificates.k8s.io", "rbac.authorization.k8s.io")


def served(group: str, version: str, resource: str, profile: Profile) -> ResourceInfo | None:
    """Return the resource served at ``group/version/resource`` for the profile, or None."""
    info = RESOURCES.get(resource)
    review = REVIEWS.get(resource)
    if review is not None and (review.since_122 or profile.name != "1.22"):
        info = review.info
    if info is None or info.group != group or info.version != version:
        return None
    return info


def _resources_of(group: str, profile: Profile) -> list[ResourceInfo]:
    out = [r for r in RESOURCES.values() if r.group == group]
    out += [r.info for r in REVIEWS.values() if r.info.group == group and (r.since_122 or profile.name != "1.22")]
    return sorted(out, key=lambda r: r.plural)


def _groups(profile: Profile) -> list[str]:
    return [g for g in SERVED_GROUPS if _resources_of(g, profile)]


def version_info(profile: Profile) -> dict[str, Any]:
    """Return ``/version`` (version.Info) for the profile's Kubernetes version."""
    version = profile.kubernetes_version
    major, minor = version.lstrip("v").split(".")[:2]
    return {
        "major": major, "minor": minor, "gitVersion": version,
        "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
        "buildDate": "1970-01-01T00:00:00Z", "goVersion": "go1.24.0", "compiler": "gc", "platform": "linux/amd64",
    }


def api_versions(server_address: str) -> dict[str, Any]:
    """Return ``/api`` (APIVersions) advertising the core group's only version."""
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def _group_doc(group: str) -> dict[str, Any]:
    gv = {"groupVersion": f"{group}/v1", "version": "v1"}
    return {"name": group, "versions": [gv], "preferredVersion": dict(gv)}


def api_group_list(profile: Profile) -> dict[str, Any]:
    """Return ``/apis`` (APIGroupList)."""
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [_group_doc(g) for g in _groups(profile)]}


def api_group(group: str, profile: Profile) -> dict[str, Any] | None:
    """Return ``/apis/<group>`` (APIGroup), or None for a group not served."""
    if group not in _groups(profile):
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group_doc(group)}


def _resource_doc(info: ResourceInfo) -> list[dict[str, Any]]:
    verbs = ["create"] if info.plural in REVIEWS else list(_STORED_VERBS)
    doc: dict[str, Any] = {"name": info.plural, "singularName": info.kind.lower(), "namespaced": info.namespaced,
                           "kind": info.kind, "verbs": verbs}
    if info.short_names:
        doc["shortNames"] = list(info.short_names)
    docs = [doc]
    for sub in info.subresources:
        docs.append({"name": f"{info.plural}/{sub}", "singularName": "", "namespaced": info.namespaced,
                     "kind": info.kind, "verbs": list(_SUBRESOURCE_VERBS)})
    return docs


def api_resource_list(group: str, version: str, profile: Profile) -> dict[str, Any] | None:
    """Return ``/api/v1`` or ``/apis/<group>/<version>`` (APIResourceList), or None if not served."""
    if version != "v1" or (group and group not in _groups(profile)):
        return None
    resources = [d for info in _resources_of(group, profile) for d in _resource_doc(info)]
    if not group:
        return {"kind": "APIResourceList", "groupVersion": "v1", "resources": resources}
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": f"{group}/v1", "resources": resources}
