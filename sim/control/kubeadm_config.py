"""Render the configuration ConfigMaps ``kubeadm init`` uploads for joining nodes to read.

How this works: a joining node reads ``kube-system/kubeadm-config`` (the
ClusterConfiguration, for the control-plane endpoint and versions) and the
kubelet's base KubeletConfiguration (``kubelet-config``, or
``kubelet-config-1.X`` in old releases) with its bootstrap-token identity;
kube-proxy's ConfigMap is not readable by that identity unless the kube-proxy
addon's Role exists. The YAML is written as sigs.k8s.io/yaml does: keys
sorted, zero durations as ``0s``. Component ConfigMaps carry kubeadm's
checksum annotation.
Upstream: cmd/kubeadm/app/phases/uploadconfig/uploadconfig.go,
cmd/kubeadm/app/phases/kubelet/config.go, cmd/kubeadm/app/componentconfigs/{kubelet,checksums}.go,
cmd/kubeadm/app/phases/addons/proxy/proxy.go, cmd/kubeadm/app/apis/kubeadm/v1beta4/defaults.go.
"""

from __future__ import annotations

import hashlib
from typing import Any, Mapping

import yaml

from sim.control.profile import Profile
from sim.protocol.constants import (
    CLUSTER_CONFIGURATION_KEY, COMPONENT_CONFIG_HASH_ANNOTATION, DEFAULT_CLUSTER_NAME, KUBE_PROXY_CONFIGMAP,
    KUBE_SYSTEM_NAMESPACE, KUBELET_CONFIG_KEY,
)
from sim.protocol.objects import Obj, configmap

__all__ = [
    "checksum", "cluster_configuration", "kube_proxy_config_map", "kubeadm_config_map", "kubelet_config_map",
    "kubelet_configuration",
]

# cmd/kubeadm/app/constants/constants.go
DEFAULT_SERVICE_SUBNET = "10.96.0.0/12"
DEFAULT_DNS_DOMAIN = "cluster.local"
DEFAULT_CLUSTER_DNS = "10.96.0.10"
CERTIFICATES_DIR = "/etc/kubernetes/pki"
_ENCRYPTION = {"rsa": "RSA-2048", "ecdsa": "ECDSA-P256"}


def _dump(doc: Mapping[str, Any]) -> str:
    """Serialize as sigs.k8s.io/yaml does for these documents (sorted keys, block style)."""
    return yaml.safe_dump(dict(doc), sort_keys=True, default_flow_style=False)


def checksum(data: Mapping[str, str]) -> str:
    """Return kubeadm's ChecksumForConfigMap: SHA-256 over the values in key order."""
    digest = hashlib.sha256()
    for key in sorted(data):
        digest.update(data[key].encode())
    return "sha256:" + digest.hexdigest()


def _signed(obj: Obj) -> Obj:
    """Add kubeadm's component-config checksum annotation (SignConfigMap)."""
    obj["metadata"].setdefault("annotations", {})[COMPONENT_CONFIG_HASH_ANNOTATION] = checksum(obj["data"])
    return obj


def cluster_configuration(profile: Profile, control_plane_endpoint: str | None, key_type: str = "rsa") -> str:
    """Return the ClusterConfiguration YAML as uploaded for this release profile."""
    doc: dict[str, Any] = {
        "apiServer": {}, "apiVersion": profile.kubeadm_api_version, "certificatesDir": CERTIFICATES_DIR,
        "clusterName": DEFAULT_CLUSTER_NAME, "controllerManager": {}, "dns": {},
        "etcd": {"local": {"dataDir": "/var/lib/etcd"}}, "kind": "ClusterConfiguration",
        "kubernetesVersion": profile.kubernetes_version,
        "networking": {"dnsDomain": DEFAULT_DNS_DOMAIN, "serviceSubnet": DEFAULT_SERVICE_SUBNET},
        "scheduler": {},
    }
    if profile.kubeadm_api_version.endswith("v1beta3"):
        doc["apiServer"] = {"extraArgs": {"authorization-mode": "Node,RBAC"}, "timeoutForControlPlane": "4m0s"}
        doc["imageRepository"] = "k8s.gcr.io"
    else:
        doc.update({"caCertificateValidityPeriod": "87600h0m0s", "certificateValidityPeriod": "8760h0m0s",
                    "encryptionAlgorithm": _ENCRYPTION.get(key_type, "RSA-2048"),
                    "imageRepository": "registry.k8s.io", "proxy": {}})
    if control_plane_endpoint:
        doc["controlPlaneEndpoint"] = control_plane_endpoint
    return _dump(doc)


def kubeadm_config_map(profile: Profile, control_plane_endpoint: str | None, key_type: str = "rsa") -> Obj:
    """Return ``kube-system/kubeadm-config`` with its ClusterConfiguration."""
    text = cluster_configuration(profile, control_plane_endpoint, key_type)
    return configmap("kubeadm-config", KUBE_SYSTEM_NAMESPACE, {CLUSTER_CONFIGURATION_KEY: text})


def kubelet_configuration() -> str:
    """Return the base KubeletConfiguration kubeadm uploads (client certificate rotation on)."""
    zero = "0s"
    doc: dict[str, Any] = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "authentication": {"anonymous": {"enabled": False}, "webhook": {"cacheTTL": zero, "enabled": True},
                           "x509": {"clientCAFile": f"{CERTIFICATES_DIR}/ca.crt"}},
        "authorization": {"mode": "Webhook",
                          "webhook": {"cacheAuthorizedTTL": zero, "cacheUnauthorizedTTL": zero}},
        "cgroupDriver": "systemd", "clusterDNS": [DEFAULT_CLUSTER_DNS], "clusterDomain": DEFAULT_DNS_DOMAIN,
        "containerRuntimeEndpoint": "", "cpuManagerReconcilePeriod": zero,
        "evictionPressureTransitionPeriod": zero, "fileCheckFrequency": zero,
        "healthzBindAddress": "127.0.0.1", "healthzPort": 10248, "httpCheckFrequency": zero,
        "imageMaximumGCAge": zero, "imageMinimumGCAge": zero, "kind": "KubeletConfiguration",
        "logging": {"flushFrequency": 0, "options": {"json": {"infoBufferSize": "0"},
                                                     "text": {"infoBufferSize": "0"}}, "verbosity": 0},
        "memorySwap": {}, "nodeStatusReportFrequency": zero, "nodeStatusUpdateFrequency": zero,
        "rotateCertificates": True, "runtimeRequestTimeout": zero, "shutdownGracePeriod": zero,
        "shutdownGracePeriodCriticalPods": zero, "staticPodPath": "/etc/kubernetes/manifests",
        "streamingConnectionIdleTimeout": zero, "syncFrequency": zero, "volumeStatsAggPeriod": zero,
    }
    return _dump(doc)


def kubelet_config_map(profile: Profile) -> Obj:
    """Return the kubelet base-config ConfigMap under the profile's name, checksum-annotated."""
    data = {KUBELET_CONFIG_KEY: kubelet_configuration()}
    obj = configmap(profile.kubelet_config_configmap, KUBE_SYSTEM_NAMESPACE, data)
    return _signed(obj)


def kube_proxy_config_map(server: str) -> Obj:
    """Return ``kube-system/kube-proxy`` (KubeProxyConfiguration plus its in-cluster kubeconfig)."""
    proxy = _dump({
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1", "bindAddress": "0.0.0.0",
        "clientConnection": {"kubeconfig": "/var/lib/kube-proxy/kubeconfig.conf"},
        "clusterCIDR": "", "kind": "KubeProxyConfiguration", "mode": "",
    })
    kubeconfig = _dump({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"cluster": {"certificate-authority": "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
                                  "server": server}, "name": "default"}],
        "contexts": [{"context": {"cluster": "default", "namespace": "default", "user": "default"},
                      "name": "default"}],
        "current-context": "default",
        "users": [{"name": "default",
                   "user": {"tokenFile": "/var/run/secrets/kubernetes.io/serviceaccount/token"}}],
    })
    obj = configmap(KUBE_PROXY_CONFIGMAP, KUBE_SYSTEM_NAMESPACE, {"config.conf": proxy, "kubeconfig.conf": kubeconfig})
    obj["metadata"]["labels"] = {"app": "kube-proxy"}
    return _signed(obj)
