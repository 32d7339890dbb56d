"""Run ``kubeadm init phase upload-certs --upload-certs``: share the CA keys for control-plane joins.

How this works: kubeadm encrypts the cluster CA, front-proxy CA, service
account key pair and etcd CA with AES-256-GCM under the certificate key and
stores them in ``kube-system/kubeadm-certs``. That Secret is owned by a
throw-away bootstrap token (TTL 2 h, no usages, no groups) so that when the
tokencleaner deletes the token, the garbage collector deletes the
certificates too. A Role and RoleBinding let bootstrap tokens of the default
group read the Secret; without the key its contents are useless.
Upstream: cmd/kubeadm/app/phases/copycerts/copycerts.go (UploadCerts, createRBAC),
cmd/kubeadm/app/cmd/phases/init/uploadcerts.go.
"""

from __future__ import annotations

from datetime import datetime

from sim.control.kubeadm_init import ClusterSecrets
from sim.control.kubeadm_rbac import apply
from sim.control.rbac_objects import group, role, role_binding, rule
from sim.control.kubeadm_token import create_token
from sim.control.store import Store
from sim.protocol import certkey, tokens
from sim.protocol.constants import (
    DEFAULT_CERT_TOKEN_DURATION, KUBE_SYSTEM_NAMESPACE, KUBEADM_CERTS_ROLE, KUBEADM_CERTS_SECRET,
    KUBEADM_CERTS_TOKEN_DESCRIPTION, NODE_BOOTSTRAP_TOKEN_AUTH_GROUP,
)
from sim.protocol.rng import Rng
from sim.protocol.tokens import BootstrapToken

__all__ = ["upload_certs"]


def upload_certs(store: Store, *, now: datetime, rng: Rng, secrets: ClusterSecrets,
                 certificate_key: str | None = None) -> tuple[str, list[str]]:
    """Store the encrypted control-plane certificates; return the certificate key and kubeadm's log lines.

    A bad ``certificate_key`` raises CertificateKeyError with kubeadm's text.
    """
    key_hex = certificate_key or certkey.generate_certificate_key(rng)
    log = [f'[upload-certs] Storing the certificates in Secret "{KUBEADM_CERTS_SECRET}" '
           f'in the "{KUBE_SYSTEM_NAMESPACE}" Namespace']
    key = certkey.decode_certificate_key(key_hex)
    proxy = BootstrapToken.from_string(
        tokens.generate_bootstrap_token(rng), description=KUBEADM_CERTS_TOKEN_DESCRIPTION,
        ttl=DEFAULT_CERT_TOKEN_DURATION, usages=(), groups=())
    create_token(store, now, proxy)
    owner = store.peek("secrets", KUBE_SYSTEM_NAMESPACE, tokens.secret_name(proxy.token_id))
    assert owner is not None, "the proxy token was just created"  # getSecretOwnerRef reads it back
    meta = owner["metadata"]
    apply(store, certkey.kubeadm_certs_secret(secrets.control_plane_files(), key, rng,
                                              {"name": meta["name"], "uid": meta["uid"]}), now)
    apply(store, role(KUBEADM_CERTS_ROLE, KUBE_SYSTEM_NAMESPACE,
                                   [rule(["get"], groups=[""], resources=["secrets"], names=[KUBEADM_CERTS_SECRET])]), now)
    apply(store, role_binding(KUBEADM_CERTS_ROLE, KUBE_SYSTEM_NAMESPACE, KUBEADM_CERTS_ROLE,
                                           [group(NODE_BOOTSTRAP_TOKEN_AUTH_GROUP)]), now)
    log += ["[upload-certs] Using certificate key:", key_hex]
    return key_hex, log
