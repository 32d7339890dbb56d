"""Test the control-plane join preflight pass: readiness errors, check names, texts and order."""

from __future__ import annotations

from typing import Any

import pytest

from sim.protocol.errors import PreflightError
from sim.protocol.preflight import CheckResult, NodeFacts
from sim.protocol.preflight_control_plane import control_plane_checks
from tests.preflight_support import FRESH, PROXY_MSG, E, W

CP_FILES = {
    "/etc/kubernetes/manifests/kube-apiserver.yaml": b"pod",
    "/etc/kubernetes/manifests/etcd.yaml": b"pod",
    "/var/lib/etcd/member/snap/db": b"db",
}


@pytest.mark.parametrize(
    ("facts", "kwargs", "expected"),
    [
        pytest.param(FRESH, {}, [], id="valid: fresh host can host a control plane"),
        pytest.param(FRESH.with_changes(num_cpu=1), {},
                     [E("NumCPU", "the number of available CPUs 1 is less than the required 2")],
                     id="invalid: one CPU"),
        pytest.param(FRESH.with_changes(mem_mb=1024), {},
                     [E("Mem", "the system RAM (1024 MB) is less than the minimum 1700 MB")],
                     id="invalid: too little memory"),
        pytest.param(FRESH.with_changes(num_cpu=1, mem_mb=1699), {},
                     [E("NumCPU", "the number of available CPUs 1 is less than the required 2"),
                      E("Mem", "the system RAM (1699 MB) is less than the minimum 1700 MB")],
                     id="invalid: low CPU and memory, in upstream order"),
        pytest.param(FRESH.with_changes(firewalld_active=True), {"bind_port": 8443},
                     [W("Firewalld", "firewalld is active, please ensure ports [8443 10250] are open or your "
                        "cluster may not function correctly")],
                     id="valid: firewalld is a warning naming the bind port"),
        pytest.param(FRESH.with_changes(ports_in_use=frozenset({6443, 10257, 10259, 2379, 2380})), {},
                     [E("Port-6443", "Port 6443 is in use"), E("Port-10259", "Port 10259 is in use"),
                      E("Port-10257", "Port 10257 is in use"), E("Port-2379", "Port 2379 is in use"),
                      E("Port-2380", "Port 2380 is in use")],
                     id="invalid: control-plane and etcd ports busy"),
        pytest.param(FRESH.with_changes(ports_in_use=frozenset({2379, 2380})), {"local_etcd": False}, [],
                     id="valid: external etcd skips etcd ports"),
        pytest.param(FRESH.with_changes(files=CP_FILES), {},
                     [E("FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml",
                        "/etc/kubernetes/manifests/kube-apiserver.yaml already exists"),
                      E("FileAvailable--etc-kubernetes-manifests-etcd.yaml",
                        "/etc/kubernetes/manifests/etcd.yaml already exists"),
                      E("DirAvailable--var-lib-etcd", "/var/lib/etcd is not empty")],
                     id="invalid: leftovers of an earlier control plane"),
        pytest.param(FRESH.with_changes(http_proxy="http://proxy.corp:3128"),
                     {"advertise_address": "10.0.0.1", "pod_subnet": "192.168.0.0/16"},
                     [W("HTTPProxy", PROXY_MSG)] + [
                         W("HTTPProxyCIDR", f'connection to "{cidr}" uses proxy "http://proxy.corp:3128". This may '
                           "lead to malfunctional cluster setup. Make sure that Pod and Services IP ranges specified "
                           "correctly as exceptions in proxy configuration")
                         for cidr in ("10.96.0.0/12", "192.168.0.0/16")],
                     id="valid: proxy warnings for the node and both ranges"),
        pytest.param(FRESH, {"kubernetes_version": "v1.35.0"},
                     [W("KubernetesVersion", "Kubernetes version is greater than kubeadm version. Please consider "
                        "to upgrade kubeadm. Kubernetes version: 1.35.0. Kubeadm version: 1.34.x")],
                     id="valid: cluster newer than kubeadm is a warning"),
        pytest.param(FRESH, {"local_etcd": False, "certificate_key_given": False, "cert_dir": "/srv/pki",
                             "external_etcd_files": ("/srv/etcd/ca.crt",)},
                     [E("ExternalEtcdClientCertificates", "/srv/etcd/ca.crt doesn't exist")],
                     id="invalid: external etcd client certificate missing without a certificate key"),
    ],
)
def test_control_plane_checks(facts: NodeFacts, kwargs: dict[str, Any], expected: list[CheckResult]) -> None:
    if kwargs.get("certificate_key_given") is False:  # shared certificates must then be on disk
        facts = facts.with_changes(files={f"/srv/pki/{n}": b"x" for n in ("ca.crt", "sa.key", "sa.pub",
                                                                         "front-proxy-ca.crt")})
    assert control_plane_checks(facts, **kwargs) == expected


def _not_ready(error: str) -> str:
    """Render kubeadm's notReadyToJoinControlPlaneTemp."""
    return ("\nOne or more conditions for hosting a new control plane instance is not satisfied.\n\n"
            f"{error}\n\nPlease ensure that:\n* The cluster has a stable controlPlaneEndpoint address.\n"
            "* The certificates that must be shared among control plane instances are provided.\n\n")


def _missing(kind: str, path: str) -> str:
    return f"couldn't load the {kind} file {path}: open {path}: no such file or directory"


@pytest.mark.parametrize(
    ("files", "kwargs", "error"),
    [
        pytest.param({}, {"has_control_plane_endpoint": False},
                     "unable to add a new control plane instance a cluster that doesn't have a stable "
                     "controlPlaneEndpoint address", id="invalid: no controlPlaneEndpoint"),
        pytest.param({"/etc/kubernetes/pki/ca.crt": b"x", "/etc/kubernetes/pki/sa.key": b"x",
                      "/etc/kubernetes/pki/sa.pub": b"x", "/etc/kubernetes/pki/front-proxy-ca.crt": b"x"},
                     {"certificate_key_given": False},
                     "failure loading certificate for etcd CA: "
                     + _missing("certificate", "/etc/kubernetes/pki/etcd/ca.crt"),
                     id="invalid: one shared certificate missing"),
        pytest.param({"/etc/kubernetes/pki/sa.key": b"x"}, {"certificate_key_given": False, "local_etcd": False},
                     "[failure loading certificate for CA: " + _missing("certificate", "/etc/kubernetes/pki/ca.crt")
                     + ", failure loading key for service account: "
                     + _missing("public key", "/etc/kubernetes/pki/sa.pub")
                     + ", failure loading certificate for front-proxy CA: "
                     + _missing("certificate", "/etc/kubernetes/pki/front-proxy-ca.crt") + "]",
                     id="invalid: several shared certificates missing are aggregated"),
    ],
)
def test_control_plane_not_ready(files: dict[str, bytes], kwargs: dict[str, Any], error: str) -> None:
    with pytest.raises(PreflightError) as info:
        control_plane_checks(FRESH.with_changes(files=files), **kwargs)
    assert str(info.value) == _not_ready(error)


def test_control_plane_ready_with_shared_certificates_on_disk() -> None:
    names = ("ca.crt", "sa.key", "sa.pub", "front-proxy-ca.crt", "etcd/ca.crt")
    facts = FRESH.with_changes(files={f"/etc/kubernetes/pki/{n}": b"x" for n in names})
    assert control_plane_checks(facts, certificate_key_given=False) == []
