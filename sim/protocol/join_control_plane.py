"""Run the phases only a control-plane join has: shared certificates, local components, marking.

How this works (``cmd/kubeadm/app/cmd/phases/join/controlplane*.go``): with
``--certificate-key`` the node downloads the ``kubeadm-certs`` Secret using
the bootstrap token and decrypts it (AES-256-GCM, ``copycerts.go``). Holding
the cluster CA key, it issues its own API server certificate and an admin
kubeconfig, then labels and taints its Node as a control plane. Static Pods
and etcd membership are modelled as the files and log lines kubeadm writes;
nothing runs them.
"""

from __future__ import annotations

from typing import Any, Callable, Generator

from sim.protocol import certkey, kubeconfig
from sim.protocol import constants as C
from sim.protocol.commands import Command, IssueCertificate, Log, TlsConfig, WriteFile
from sim.protocol.errors import JoinsimError, wrap
from sim.protocol.join_state import JoinState, api_call
from sim.protocol.joinconfig import JoinConfiguration
from sim.protocol.poll import poll_until_timeout

PKI_DIR = "/etc/kubernetes/pki"
MANIFESTS_DIR = "/etc/kubernetes/manifests"
SECRET_MISSING = (
    f'Secret "{C.KUBEADM_CERTS_SECRET}" was not found in the "kube-system" Namespace. This Secret might have expired. '
    "Please, run `kubeadm init phase upload-certs --upload-certs` on a control plane to generate a new one"
)
CONTROL_PLANE_LABELS = (C.CONTROL_PLANE_LABEL, C.EXCLUDE_FROM_EXTERNAL_LB_LABEL)

PhaseRun = Callable[[JoinConfiguration, JoinState], Generator[Command, Any, None]]


def control_plane_prepare() -> list[tuple[str, PhaseRun]]:
    """List the sub-phases of ``control-plane-prepare`` in order."""
    return [("control-plane-prepare/download-certs", download_certs), ("control-plane-prepare/certs", certs),
            ("control-plane-prepare/kubeconfig", kubeconfigs), ("control-plane-prepare/control-plane", manifests)]


def download_certs(cfg: JoinConfiguration, state: JoinState) -> Generator[Command, Any, None]:
    """Fetch and decrypt kubeadm-certs, then write the shared certificates and keys."""
    if not cfg.certificate_key:
        yield Log(text="[download-certs] Skipping certs download", verbosity=1)
        return
    yield Log(text=f'[download-certs] Downloading the certificates in Secret "{C.KUBEADM_CERTS_SECRET}" '
                   'in the "kube-system" Namespace')
    try:
        key = bytes.fromhex(cfg.certificate_key)
    except ValueError as err:
        raise JoinsimError(wrap("error downloading certs", wrap("error decoding certificate key", err))) from None
    result = yield from api_call(state, "GET", f"/api/v1/namespaces/kube-system/secrets/{C.KUBEADM_CERTS_SECRET}",
                                 purpose="download-certs")
    if isinstance(result, str) or not result.ok:
        if not isinstance(result, str) and result.status == 404:
            cause = SECRET_MISSING
        else:
            cause = result if isinstance(result, str) else str((result.body or {}).get("message", ""))
        raise JoinsimError(wrap("error downloading certs", wrap("error downloading the secret", cause)))
    try:
        files = certkey.decode_kubeadm_certs_secret(result.body, key)
    except ValueError as err:
        raise JoinsimError(wrap("error downloading certs", err)) from None
    for name, data in sorted(files.items()):
        path = f"{PKI_DIR}/{name.replace('etcd-', 'etcd/', 1) if name.startswith('etcd-') else name}"
        state.shared_files[name] = data
        yield WriteFile(path=path, data=data)
    yield Log(text=f'[download-certs] Saving the certificates to the folder: "{PKI_DIR}"')


def certs(cfg: JoinConfiguration, state: JoinState) -> Generator[Command, Any, None]:
    """Issue this instance's API server serving certificate from the shared CA."""
    ca_cert, ca_key = _shared_ca(state)
    yield Log(text=f'[certs] Using certificateDir folder "{PKI_DIR}"')
    yield Log(text='[certs] Generating "apiserver" certificate and key')
    dns = (cfg.node_name, "kubernetes", "kubernetes.default", "kubernetes.default.svc",
           "kubernetes.default.svc.cluster.local")
    ips = ("10.96.0.1",) + ((cfg.advertise_address,) if cfg.advertise_address else ())
    cert, key = yield IssueCertificate(ca_cert_pem=ca_cert, ca_key_pem=ca_key, common_name="kube-apiserver",
                                       dns_names=dns, ip_addresses=ips, server=True)
    yield Log(text=f"[certs] apiserver serving cert is signed for DNS names [{' '.join(dns)}] and IPs [{' '.join(ips)}]")
    yield WriteFile(path=f"{PKI_DIR}/apiserver.crt", data=cert, mode=0o644)
    yield WriteFile(path=f"{PKI_DIR}/apiserver.key", data=key)
    yield Log(text="[certs] Valid certificates and keys now exist in \"/etc/kubernetes/pki\"")


def kubeconfigs(cfg: JoinConfiguration, state: JoinState) -> Generator[Command, Any, None]:
    """Write admin.conf with a client certificate issued from the shared CA."""
    ca_cert, ca_key = _shared_ca(state)
    yield Log(text='[kubeconfig] Generating kubeconfig files')
    yield Log(text='[kubeconfig] Using kubeconfig folder "/etc/kubernetes"')
    cert, key = yield IssueCertificate(ca_cert_pem=ca_cert, ca_key_pem=ca_key, common_name="kubernetes-admin",
                                       organizations=("kubeadm:cluster-admins",))
    assert state.discovered is not None
    text = kubeconfig.cert_kubeconfig(state.discovered.server, ca_cert, cert_pem=cert, key_pem=key)
    yield WriteFile(path=C.ADMIN_CONF_PATH, data=text.encode())
    yield Log(text='[kubeconfig] Writing "admin.conf" kubeconfig file')
    state.admin_tls = TlsConfig(ca_pem=ca_cert, client_cert_pem=cert, client_key_pem=key)


def manifests(cfg: JoinConfiguration, state: JoinState) -> Generator[Command, Any, None]:
    """Write the static Pod manifests (a model: each names its component and image)."""
    yield Log(text=f'[control-plane] Using manifest folder "{MANIFESTS_DIR}"')
    for component in ("kube-apiserver", "kube-controller-manager", "kube-scheduler"):
        yield Log(text=f'[control-plane] Creating static Pod manifest for "{component}"')
        yield WriteFile(path=f"{MANIFESTS_DIR}/{component}.yaml", data=_manifest(component), mode=0o600)


def check_etcd(cfg: JoinConfiguration, state: JoinState) -> Generator[Command, Any, None]:
    """Check the etcd cluster is healthy (a model: it always is)."""
    yield Log(text="[check-etcd] Checking that the etcd cluster is healthy", verbosity=1)


def etcd_join(cfg: JoinConfiguration, state: JoinState) -> Generator[Command, Any, None]:
    """Add this node as an etcd member (a model: the manifest and kubeadm's lines)."""
    yield Log(text="[etcd] Announced new etcd member joining to the existing etcd cluster")
    yield Log(text='[etcd] Creating static Pod manifest for "etcd"')
    yield WriteFile(path=f"{MANIFESTS_DIR}/etcd.yaml", data=_manifest("etcd"), mode=0o600)


def mark_control_plane(cfg: JoinConfiguration, state: JoinState) -> Generator[Command, Any, None]:
    """Label and taint the Node as a control plane, with the admin identity."""
    name = cfg.node_name
    yield Log(text=f"[mark-control-plane] Marking the node {name} as control-plane by adding the labels: "
                   f"[{' '.join(CONTROL_PLANE_LABELS)}]")
    yield Log(text=f"[mark-control-plane] Marking the node {name} as control-plane by adding the taints "
                   f"[{C.CONTROL_PLANE_LABEL}:{C.CONTROL_PLANE_TAINT_EFFECT}]")
    patch = {"metadata": {"labels": {label: "" for label in CONTROL_PLANE_LABELS}},
             "spec": {"taints": [{"key": C.CONTROL_PLANE_LABEL, "effect": C.CONTROL_PLANE_TAINT_EFFECT}]}}
    last = ""

    def patched() -> Generator[Command, Any, bool]:
        nonlocal last
        result = yield from api_call(state, "PATCH", f"/api/v1/nodes/{name}", body=patch, tls=state.admin_tls,
                                     content_type="application/strategic-merge-patch+json", purpose="mark-control-plane")
        if isinstance(result, str):
            last = result
            return False
        last = str((result.body or {}).get("message", "")) if isinstance(result.body, dict) else ""
        return result.ok

    if not (yield from poll_until_timeout(C.KUBERNETES_API_CALL_RETRY_INTERVAL, cfg.kubernetes_api_call_timeout, patched)):
        raise JoinsimError(wrap("error applying control-plane label and taints", last or "context deadline exceeded"))


def wait_control_plane(cfg: JoinConfiguration, state: JoinState) -> Generator[Command, Any, None]:
    """Wait for the local control-plane components (a model: they start at once)."""
    yield Log(text="[control-plane-check] Waiting for healthy control plane components.", verbosity=1)


def _shared_ca(state: JoinState) -> tuple[bytes, bytes]:
    cert, key = state.shared_files.get("ca.crt", b""), state.shared_files.get("ca.key", b"")
    if not cert or not key:
        raise JoinsimError(f"couldn't load the CA certificate and key from {PKI_DIR}: no such file or directory")
    return cert, key


def _manifest(component: str) -> bytes:
    return (f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: {component}\n  namespace: kube-system\n"
            f"spec:\n  containers:\n  - name: {component}\n    image: registry.k8s.io/{component}:{C.KUBEADM_VERSION}\n"
            "  hostNetwork: true\n").encode()
