"""Describe the API resources the fake control plane serves.

One row per resource: its API group and version, kind, and whether it is
namespaced. The REST layer and the store both read this table.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class ResourceInfo:
    """Name a resource's group, version, kind and scope."""

    plural: str
    group: str
    version: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        """Return ``group/version`` (just the version for the core group)."""
        return f"{self.group}/{self.version}" if self.group else self.version


RESOURCES: dict[str, ResourceInfo] = {
    r.plural: r
    for r in (
        ResourceInfo(plural="configmaps", group="", version="v1", kind="ConfigMap", namespaced=True, short_names=("cm",)),
        ResourceInfo(plural="secrets", group="", version="v1", kind="Secret", namespaced=True),
        ResourceInfo(plural="nodes", group="", version="v1", kind="Node", namespaced=False, short_names=("no",),
                     subresources=("status",)),
        ResourceInfo(plural="namespaces", group="", version="v1", kind="Namespace", namespaced=False, short_names=("ns",)),
        ResourceInfo(plural="certificatesigningrequests", group="certificates.k8s.io", version="v1",
                     kind="CertificateSigningRequest", namespaced=False, short_names=("csr",),
                     subresources=("approval", "status")),
        ResourceInfo(plural="roles", group="rbac.authorization.k8s.io", version="v1", kind="Role", namespaced=True),
        ResourceInfo(plural="rolebindings", group="rbac.authorization.k8s.io", version="v1", kind="RoleBinding",
                     namespaced=True),
        ResourceInfo(plural="clusterroles", group="rbac.authorization.k8s.io", version="v1", kind="ClusterRole",
                     namespaced=False),
        ResourceInfo(plural="clusterrolebindings", group="rbac.authorization.k8s.io", version="v1",
                     kind="ClusterRoleBinding", namespaced=False),
    )
}
