"""Keep ``joinsim serve``'s key material in its directory, laid out as kubeadm leaves /etc/kubernetes.

How this works: after the first ``kubeadm init`` the server writes the cluster
CA, the front-proxy and etcd CAs, the service-account key pair and the API
server's serving certificate under ``DIR/pki`` (kubeadm's file names; private
keys 0600), the admin kubeconfig to ``DIR/admin.conf`` (and, for releases that
have one, ``DIR/super-admin.conf`` in ``system:masters``) and a small
``DIR/cluster.json`` naming the profile, key type and node name. A restart reads
them back instead of running init again. ``cluster.json`` is written last, so a
directory without it holds no finished init. The serving certificate is
re-issued when it does not cover the address the server now binds (or has
expired), as ``kubeadm init phase certs apiserver`` would after a config change.
Every file is written atomically (``sim.fileutil.write_atomic``).
Upstream: cmd/kubeadm/app/phases/certs/certlist.go, cmd/kubeadm/app/constants/constants.go,
cmd/kubeadm/app/phases/kubeconfig/kubeconfig.go.
"""

from __future__ import annotations

import ipaddress
import json
import os
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from cryptography import x509

from sim.control.kubeadm_init import ClusterSecrets, admin_groups
from sim.control.profile import profile as profile_named
from sim.fileutil import write_atomic
from sim.protocol import kubeconfig, pki
from sim.protocol.constants import KUBEADM_CLUSTER_ADMINS, MASTERS_GROUP
from sim.protocol.hostport import endpoint_host
from sim.protocol.rng import Rng

__all__ = ["ClusterMeta", "PkiDir", "serving_sans"]

# cmd/kubeadm/app/constants/constants.go: SuperAdminKubeConfigFileName, its user's name
SUPER_ADMIN_COMMON_NAME = "kubernetes-super-admin"
_KEYS = {  # file stem -> ClusterSecrets field holding a CertKey
    "ca": "ca", "front-proxy-ca": "front_proxy_ca", "etcd/ca": "etcd_ca",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterMeta:
    """Describe the initialized cluster: what a restart needs besides keys and objects."""

    profile: str
    ca_key_type: str
    name: str = "control-plane"
    control_plane_endpoint: str | None = None
    join_token: str = ""
    """The token the server last printed in its join command (re-used while it still exists)."""


def serving_sans(host: str, name: str) -> tuple[list[str], list[str]]:
    """Return the API server certificate's DNS names and IPs (kubeadm's apiserver cert plus 127.0.0.1, localhost)."""
    dns = ["kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local",
           "localhost", name]
    ips = ["10.96.0.1", "127.0.0.1"]
    try:
        ips.append(str(ipaddress.ip_address(host.strip("[]"))))
    except ValueError:
        dns.append(host)
    return dns, ips


def _covers(cert: x509.Certificate, host: str, now: datetime) -> bool:
    """Tell whether a serving certificate is valid now and names ``host``."""
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        return False
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    try:
        return ipaddress.ip_address(host.strip("[]")) in sans.get_values_for_type(x509.IPAddress)
    except ValueError:
        return host in sans.get_values_for_type(x509.DNSName)


class PkiDir:
    """Read and write one server directory's key material and cluster description."""

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)
        self.pki = os.path.join(self.root, "pki")

    @property
    def admin_conf(self) -> str:
        """Return the path of the admin kubeconfig."""
        return os.path.join(self.root, "admin.conf")

    @property
    def super_admin_conf(self) -> str:
        """Return the path of the ``system:masters`` kubeconfig (releases since 1.29)."""
        return os.path.join(self.root, "super-admin.conf")

    @property
    def meta_path(self) -> str:
        """Return the path of ``cluster.json``; its presence means init has finished."""
        return os.path.join(self.root, "cluster.json")

    def initialized(self) -> bool:
        """Tell whether this directory holds a finished init."""
        return os.path.exists(self.meta_path)

    # --- cluster.json ---

    def read_meta(self) -> ClusterMeta:
        """Load ``cluster.json``."""
        with open(self.meta_path, encoding="utf-8") as handle:
            raw: dict[str, Any] = json.load(handle)
        fields = {k: raw[k] for k in ClusterMeta.__dataclass_fields__ if k in raw}
        return ClusterMeta(**fields)

    def write_meta(self, meta: ClusterMeta) -> None:
        """Store ``cluster.json`` atomically (0600: it names the join token)."""
        write_atomic(self.meta_path, (json.dumps(asdict(meta), indent=2, sort_keys=True) + "\n").encode(), 0o600)

    # --- certificates and keys ---

    def _path(self, name: str) -> str:
        return os.path.join(self.pki, name)

    def _read(self, name: str) -> bytes:
        with open(self._path(name), "rb") as handle:
            return handle.read()

    def _write_pair(self, stem: str, pair: pki.CertKey) -> None:
        write_atomic(self._path(stem + ".key"), pair.key_pem, 0o600)
        write_atomic(self._path(stem + ".crt"), pair.cert_pem, 0o644)

    def save_secrets(self, secrets: ClusterSecrets, serving: pki.CertKey) -> None:
        """Write the CAs, service-account keys and serving certificate under ``pki/``."""
        for stem, attr in _KEYS.items():
            self._write_pair(stem, getattr(secrets, attr))
        write_atomic(self._path("sa.key"), secrets.sa_key_pem, 0o600)
        write_atomic(self._path("sa.pub"), secrets.sa_pub_pem, 0o644)
        self._write_pair("apiserver", serving)

    def load_secrets(self, meta: ClusterMeta, endpoint: str) -> tuple[ClusterSecrets, pki.CertKey]:
        """Read the key material back; the admin identity comes from ``admin.conf``."""
        pairs = {attr: pki.CertKey.from_pem(self._read(stem + ".crt"), self._read(stem + ".key"))
                 for stem, attr in _KEYS.items()}
        with open(self.admin_conf, "rb") as handle:
            user = kubeconfig.load(handle.read()).current_user()
        if user is None or not user.client_cert_data:
            raise ValueError(f"{self.admin_conf}: no client certificate for the current context")
        admin = pki.CertKey.from_pem(user.client_cert_data, user.client_key_data)
        secrets = ClusterSecrets(
            ca=pairs["ca"], endpoint=endpoint, control_plane_endpoint=meta.control_plane_endpoint,
            profile=profile_named(meta.profile), admin=admin, front_proxy_ca=pairs["front_proxy_ca"],
            etcd_ca=pairs["etcd_ca"], sa_key_pem=self._read("sa.key"), sa_pub_pem=self._read("sa.pub"))
        serving = pki.CertKey.from_pem(self._read("apiserver.crt"), self._read("apiserver.key"))
        return secrets, serving

    def ensure_serving(self, secrets: ClusterSecrets, serving: pki.CertKey, meta: ClusterMeta, now: datetime,
                       rng: Rng | None) -> pki.CertKey:
        """Return a serving certificate valid now for the endpoint's host, re-issuing and saving it if needed."""
        host = endpoint_host(secrets.endpoint)
        if _covers(serving.cert, host, now):
            return serving
        dns, ips = serving_sans(host, meta.name)
        fresh = pki.create_serving_cert(secrets.ca, common_name="kube-apiserver", dns_names=dns, ip_addresses=ips,
                                        now=now, rng=rng, key_type=meta.ca_key_type)
        self._write_pair("apiserver", fresh)
        return fresh

    def serving_files(self) -> tuple[str, str]:
        """Return the paths of the serving certificate and key (for ``ssl.SSLContext.load_cert_chain``)."""
        return self._path("apiserver.crt"), self._path("apiserver.key")

    def ca_file(self) -> str:
        """Return the path of the cluster CA certificate."""
        return self._path("ca.crt")

    # --- kubeconfigs ---

    def write_admin_conf(self, secrets: ClusterSecrets) -> None:
        """Write ``admin.conf`` for the current endpoint, keeping the admin's certificate."""
        write_atomic(self.admin_conf, secrets.admin_kubeconfig().encode(), 0o600)

    def write_super_admin_conf(self, secrets: ClusterSecrets, now: datetime, rng: Rng | None, key_type: str) -> None:
        """Write ``super-admin.conf`` (``system:masters``) when admin.conf is in ``kubeadm:cluster-admins``.

        The certificate is issued once and kept; only the server URL follows the endpoint.
        """
        if admin_groups(secrets.profile) != (KUBEADM_CLUSTER_ADMINS,):
            return
        pair: pki.CertKey | None = None
        if os.path.exists(self.super_admin_conf):
            with open(self.super_admin_conf, "rb") as handle:
                user = kubeconfig.load(handle.read()).current_user()
            if user is not None and user.client_cert_data:
                pair = pki.CertKey.from_pem(user.client_cert_data, user.client_key_data)
        if pair is None:
            pair = pki.create_client_cert(secrets.ca, common_name=SUPER_ADMIN_COMMON_NAME,
                                          organizations=(MASTERS_GROUP,), now=now, rng=rng, key_type=key_type)
        text = kubeconfig.cert_kubeconfig(secrets.server, secrets.ca.cert_pem, cert_pem=pair.cert_pem,
                                          key_pem=pair.key_pem, user=SUPER_ADMIN_COMMON_NAME)
        write_atomic(self.super_admin_conf, text.encode(), 0o600)
