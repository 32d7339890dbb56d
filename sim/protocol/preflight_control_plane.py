"""Check whether a node and the cluster can take a new control-plane instance, as kubeadm join does.

Why a module of its own: a control-plane join runs a second preflight pass
after discovery, with other inputs (the cluster's kubeadm configuration, the
certificate key) and a different failure mode: when the cluster cannot take
another control plane (no stable controlPlaneEndpoint, shared certificates
missing) it fails with kubeadm's template text before any check runs
(``checkIfReadyForAdditionalControlPlane``). Results render through
``preflight.run_checks`` like the first pass.
Upstream: cmd/kubeadm/app/cmd/phases/join/preflight.go,
cmd/kubeadm/app/preflight/checks.go (``InitNodeChecks``), cmd/kubeadm/app/phases/certs/certs.go.
"""

from __future__ import annotations

import ipaddress
from typing import Sequence

from sim.protocol.constants import (
    CONTROL_PLANE_MEM_MB, CONTROL_PLANE_NUM_CPU, ETCD_CLIENT_PORT, ETCD_PEER_PORT, KUBE_API_SERVER_PORT,
    KUBE_CONTROLLER_MANAGER_PORT, KUBE_SCHEDULER_PORT, KUBEADM_VERSION, KUBELET_PORT,
)
from sim.protocol.errors import PreflightError
from sim.protocol.preflight import (
    DEFAULT_CERT_DIR, DEFAULT_ETCD_DATA_DIR, MANIFESTS_DIR, CheckResult, NodeFacts, check_label,
    file_available_check, http_proxy_check, parse_semver, port_open_check, proxy_for,
)

__all__ = ["NOT_READY_FOR_CONTROL_PLANE", "NO_CONTROL_PLANE_ENDPOINT", "control_plane_checks"]

# cmd/kubeadm/app/apis/kubeadm/v1beta4/defaults.go
DEFAULT_SERVICE_SUBNET = "10.96.0.0/12"
# cmd/kubeadm/app/cmd/phases/join/preflight.go (notReadyToJoinControlPlaneTemp, after dedent)
NOT_READY_FOR_CONTROL_PLANE = (
    "\nOne or more conditions for hosting a new control plane instance is not satisfied.\n\n{error}\n\n"
    "Please ensure that:\n* The cluster has a stable controlPlaneEndpoint address.\n"
    "* The certificates that must be shared among control plane instances are provided.\n\n"
)
NO_CONTROL_PLANE_ENDPOINT = ("unable to add a new control plane instance a cluster that doesn't have "
                             "a stable controlPlaneEndpoint address")


def control_plane_checks(
    facts: NodeFacts, *, bind_port: int = KUBE_API_SERVER_PORT, local_etcd: bool = True,
    has_control_plane_endpoint: bool = True, certificate_key_given: bool = True,
    cert_dir: str = DEFAULT_CERT_DIR, advertise_address: str = "",
    service_subnet: str = DEFAULT_SERVICE_SUBNET, pod_subnet: str = "",
    kubernetes_version: str = KUBEADM_VERSION, etcd_data_dir: str = DEFAULT_ETCD_DATA_DIR,
    external_etcd_files: Sequence[str] = (),
) -> list[CheckResult]:
    """List the second-pass problems of a control-plane join (``InitNodeChecks``, secondary).

    Raises ``PreflightError`` with kubeadm's template text first when the
    cluster cannot take another control plane (``checkIfReadyForAdditionalControlPlane``).
    The common node checks are not repeated: they ran in ``join_node_checks``.
    An empty ``advertise_address`` skips the HTTPProxy check.
    """
    problem = NO_CONTROL_PLANE_ENDPOINT if not has_control_plane_endpoint else None
    if problem is None and not certificate_key_given:
        problem = _shared_certificates_problem(facts, cert_dir, local_etcd)
    if problem is not None:
        raise PreflightError(NOT_READY_FOR_CONTROL_PLANE.format(error=problem))
    out: list[CheckResult] = []
    if facts.num_cpu < CONTROL_PLANE_NUM_CPU:
        out.append(CheckResult("NumCPU", "error", f"the number of available CPUs {facts.num_cpu} "
                               f"is less than the required {CONTROL_PLANE_NUM_CPU}"))
    if facts.mem_mb < CONTROL_PLANE_MEM_MB:  # checks_linux.go MemCheck
        out.append(CheckResult("Mem", "error", f"the system RAM ({facts.mem_mb} MB) is less than "
                               f"the minimum {CONTROL_PLANE_MEM_MB} MB"))
    out += _kubernetes_version(kubernetes_version)
    if facts.firewalld_active:
        out.append(CheckResult("Firewalld", "warning", f"firewalld is active, please ensure ports "
                               f"[{bind_port} {KUBELET_PORT}] are open or your cluster may not function correctly"))
    for port in (bind_port, KUBE_SCHEDULER_PORT, KUBE_CONTROLLER_MANAGER_PORT):
        out += port_open_check(facts, port)
    for component in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd"):
        out += file_available_check(facts, f"{MANIFESTS_DIR}/{component}.yaml")
    if advertise_address:
        out += http_proxy_check(facts, advertise_address)
    for cidr in service_subnet.split(",") + pod_subnet.split(","):
        out += _http_proxy_cidr(facts, cidr)
    if local_etcd:
        out += port_open_check(facts, ETCD_CLIENT_PORT) + port_open_check(facts, ETCD_PEER_PORT)
        if facts.dir_nonempty(etcd_data_dir):
            out.append(CheckResult(check_label("DirAvailable", etcd_data_dir), "error",
                                   f"{etcd_data_dir} is not empty"))
    elif not certificate_key_given:
        out += [CheckResult("ExternalEtcdClientCertificates", "error", f"{p} doesn't exist")
                for p in external_etcd_files if not facts.exists(p)]
    return out


def _kubernetes_version(version: str) -> list[CheckResult]:
    """Warn when the cluster is newer than this kubeadm's minor (KubernetesVersionCheck)."""
    if KUBEADM_VERSION.startswith("v0.0.0"):
        return []
    k8s, kubeadm = parse_semver(version), parse_semver(KUBEADM_VERSION)
    assert kubeadm is not None
    if k8s is None:
        return [CheckResult("KubernetesVersion", "error", f'couldn\'t parse Kubernetes version "{version}": '
                            f'could not parse "{version}" as version')]
    if k8s[:2] >= (kubeadm[0], kubeadm[1] + 1):
        shown = version.lstrip("v")
        return [CheckResult("KubernetesVersion", "warning", "Kubernetes version is greater than kubeadm version. "
                            f"Please consider to upgrade kubeadm. Kubernetes version: {shown}. "
                            f"Kubeadm version: {kubeadm[0]}.{kubeadm[1]}.x")]
    return []


def _http_proxy_cidr(facts: NodeFacts, cidr: str) -> list[CheckResult]:
    """Warn when a service or pod range would be reached through a proxy (HTTPProxyCIDRCheck)."""
    if not cidr:
        return []
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return [CheckResult("HTTPProxyCIDR", "error", f'error parsing CIDR "{cidr}": invalid CIDR address: {cidr}')]
    proxy = proxy_for(facts, str(network.network_address + 1))
    if proxy is None:
        return []
    return [CheckResult("HTTPProxyCIDR", "warning", f'connection to "{cidr}" uses proxy "{proxy}". This may lead '
                        "to malfunctional cluster setup. Make sure that Pod and Services IP ranges specified "
                        "correctly as exceptions in proxy configuration")]


def _shared_certificates_problem(facts: NodeFacts, cert_dir: str, local_etcd: bool) -> str | None:
    """Describe missing shared certificates as certs.go ``SharedCertificateExists`` does."""
    def missing(what: str, path: str) -> str:
        return f"couldn't load the {what} file {path}: open {path}: no such file or directory"
    errs: list[str] = []
    cas = [("ca", "CA"), ("front-proxy-ca", "front-proxy CA")] + ([("etcd/ca", "etcd CA")] if local_etcd else [])
    for i, (base, ux) in enumerate(cas):
        if f"{cert_dir}/{base}.crt" not in facts.files:  # a missing CA key is only a klog warning
            errs.append(f"failure loading certificate for {ux}: {missing('certificate', f'{cert_dir}/{base}.crt')}")
        if i == 0:  # the service-account key pair is checked between the CA and the front-proxy CA
            for what, ext in (("private key", "key"), ("public key", "pub")):
                if f"{cert_dir}/sa.{ext}" not in facts.files:
                    errs.append(f"failure loading key for service account: {missing(what, f'{cert_dir}/sa.{ext}')}")
                    break
    if not errs:
        return None
    return errs[0] if len(errs) == 1 else "[" + ", ".join(errs) + "]"  # utilerrors.NewAggregate
