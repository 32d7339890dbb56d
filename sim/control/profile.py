"""Choose which Kubernetes release the control plane behaves like.

One profile is picked when a control plane is created; every version-dependent
choice reads it (docs/PROTOCOL.md section 14). ``current`` follows the newest
releases; ``1.22`` reproduces what a v1.22 cluster answered.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class Profile:
    """Name the version-dependent behaviours of kubeadm and the control plane."""

    name: str
    kubernetes_version: str
    kubelet_config_configmap: str
    kubeadm_api_version: str
    strict_kubelet_client_usages: bool
    """1.22: the kubelet client CSR must request exactly {digital signature, key encipherment, client auth}."""


CURRENT = Profile(
    name="current",
    kubernetes_version="v1.34.0",
    kubelet_config_configmap="kubelet-config",
    kubeadm_api_version="kubeadm.k8s.io/v1beta4",
    strict_kubelet_client_usages=False,
)

V1_22 = Profile(
    name="1.22",
    kubernetes_version="v1.22.17",
    kubelet_config_configmap="kubelet-config-1.22",
    kubeadm_api_version="kubeadm.k8s.io/v1beta3",
    strict_kubelet_client_usages=True,
)

PROFILES: dict[str, Profile] = {p.name: p for p in (CURRENT, V1_22)}


def profile(name: str) -> Profile:
    """Return a profile by name, or raise ``ValueError`` listing the known ones."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown Kubernetes version profile {name!r} (known: {', '.join(PROFILES)})") from None
