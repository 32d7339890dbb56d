"""Run the API-facing part of ``kubeadm init``: the objects a joining node will meet.

How this works: ``init`` generates the cluster's key material (CA, admin
client certificate, front-proxy and etcd CAs, service-account key pair) and
then writes into the store, in kubeadm's phase order, what it would create
through the API with admin.conf: the uploaded configuration and its Roles,
the control-plane Node, the default bootstrap token, the RBAC that lets
bootstrap tokens post CSRs and get them approved, and the unsigned
``kube-public/cluster-info`` (the bootstrapsigner adds the JWS). It returns
the secrets, the token and the lines kubeadm prints for these phases.
Upstream: cmd/kubeadm/app/cmd/init.go, cmd/kubeadm/app/cmd/phases/init/*.go
(bootstraptoken, uploadconfig, uploadcerts, markcontrolplane, showjoincommand),
cmd/kubeadm/app/phases/bootstraptoken/clusterinfo/clusterinfo.go,
cmd/kubeadm/app/phases/kubeconfig/kubeconfig.go.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives import serialization

from sim.control import kubeadm_config, kubeadm_rbac
from sim.control.kubeadm_rbac import apply
from sim.control.kubeadm_token import join_command_raw
from sim.control.profile import CURRENT, Profile
from sim.control.rbac_objects import cluster_role, cluster_role_binding, group, role, role_binding, rule, user
from sim.control.store import Store
from sim.protocol import keys, kubeconfig, pins, pki, tokens
from sim.protocol.constants import (
    ADMIN_CONF_PATH, ANONYMOUS_USER, CLUSTER_INFO_KUBECONFIG_KEY, CLUSTER_INFO_NAME, CLUSTER_INFO_NAMESPACE,
    CLUSTER_INFO_ROLE, CONTROL_PLANE_LABEL, CONTROL_PLANE_TAINT_EFFECT, CRI_SOCKET_ANNOTATION,
    CSR_AUTOAPPROVAL_CLUSTER_ROLE, DEFAULT_CRI_SOCKET, EXCLUDE_FROM_EXTERNAL_LB_LABEL, GET_NODES_CLUSTER_ROLE,
    INIT_TOKEN_DESCRIPTION, KUBE_SYSTEM_NAMESPACE, KUBEADM_CLUSTER_ADMINS, KUBEADM_CONFIG_CONFIGMAP,
    MASTERS_GROUP, NODE_AUTOAPPROVE_BOOTSTRAP_BINDING, NODE_AUTOAPPROVE_ROTATION_BINDING,
    NODE_BOOTSTRAP_TOKEN_AUTH_GROUP, NODE_BOOTSTRAPPER_CLUSTER_ROLE, NODE_KUBELET_BOOTSTRAP_BINDING,
    NODE_SELF_CSR_AUTOAPPROVAL_CLUSTER_ROLE, NODES_GROUP, NODES_KUBEADM_CONFIG_ROLE,
)
from sim.protocol.objects import Obj, configmap, format_time
from sim.protocol.rng import Rng
from sim.protocol.tokens import BootstrapToken

__all__ = ["ADMIN_COMMON_NAME", "ClusterSecrets", "admin_groups", "init", "init_done_lines"]

# cmd/kubeadm/app/phases/kubeconfig/kubeconfig.go: admin.conf's client name
ADMIN_COMMON_NAME = "kubernetes-admin"


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterSecrets:
    """Hold the key material ``kubeadm init`` leaves in /etc/kubernetes, and where the API is."""

    ca: pki.CertKey
    endpoint: str
    control_plane_endpoint: str | None
    profile: Profile
    admin: pki.CertKey
    front_proxy_ca: pki.CertKey
    etcd_ca: pki.CertKey
    sa_key_pem: bytes
    sa_pub_pem: bytes

    @property
    def host_port(self) -> str:
        """Return admin.conf's server without ``https://``: the control-plane endpoint, else the endpoint."""
        return self.control_plane_endpoint or self.endpoint

    @property
    def server(self) -> str:
        """Return admin.conf's server URL."""
        return f"https://{self.host_port}"

    def ca_pins(self) -> list[str]:
        """Return one ``sha256:<hex>`` pin per CA certificate in admin.conf (here: the cluster CA)."""
        return [pins.certificate_pin(self.ca.cert)]

    def admin_kubeconfig(self) -> str:
        """Return admin.conf."""
        return kubeconfig.cert_kubeconfig(self.server, self.ca.cert_pem, cert_pem=self.admin.cert_pem,
                                          key_pem=self.admin.key_pem)

    def control_plane_files(self) -> dict[str, bytes]:
        """Return the files ``upload-certs`` shares, by their path under /etc/kubernetes/pki."""
        return {
            "ca.crt": self.ca.cert_pem, "ca.key": self.ca.key_pem,
            "front-proxy-ca.crt": self.front_proxy_ca.cert_pem, "front-proxy-ca.key": self.front_proxy_ca.key_pem,
            "sa.pub": self.sa_pub_pem, "sa.key": self.sa_key_pem,
            "etcd/ca.crt": self.etcd_ca.cert_pem, "etcd/ca.key": self.etcd_ca.key_pem,
        }


def _minor(profile: Profile) -> tuple[int, int]:
    """Return the profile's (major, minor) Kubernetes version, for version-gated kubeadm behaviour."""
    major, minor = profile.kubernetes_version.lstrip("v").split(".")[:2]
    return int(major), int(minor)


def admin_groups(profile: Profile) -> tuple[str, ...]:
    """Return admin.conf's groups: ``kubeadm:cluster-admins`` since 1.29, ``system:masters`` before."""
    return (KUBEADM_CLUSTER_ADMINS,) if _minor(profile) >= (1, 29) else (MASTERS_GROUP,)


def _make_secrets(*, now: datetime, rng: Rng, endpoint: str, control_plane_endpoint: str | None, profile: Profile,
                  key_type: str) -> ClusterSecrets:
    """Generate the certificates and keys of the ``certs`` and ``kubeconfig`` phases, from the rng."""
    ca = pki.create_ca(now=now, rng=rng, key_type=key_type)
    front_proxy_ca = pki.create_ca(now=now, rng=rng, key_type=key_type, common_name="front-proxy-ca")
    etcd_ca = pki.create_ca(now=now, rng=rng, key_type=key_type, common_name="etcd-ca")
    sa_key = keys.generate_private_key(key_type, rng)
    sa_pub = sa_key.public_key().public_bytes(serialization.Encoding.PEM,
                                              serialization.PublicFormat.SubjectPublicKeyInfo)
    sa_priv = sa_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                   serialization.NoEncryption())
    admin = pki.create_client_cert(ca, common_name=ADMIN_COMMON_NAME, organizations=admin_groups(profile),
                                   now=now, rng=rng, key_type=key_type)
    return ClusterSecrets(ca=ca, endpoint=endpoint, control_plane_endpoint=control_plane_endpoint, profile=profile,
                          admin=admin, front_proxy_ca=front_proxy_ca, etcd_ca=etcd_ca, sa_key_pem=sa_priv,
                          sa_pub_pem=sa_pub)


def _control_plane_node(name: str, profile: Profile, now: datetime) -> Obj:
    """Return the control-plane Node as its kubelet registers it and mark-control-plane marks it, Ready."""
    stamp = format_time(now)
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {"kubernetes.io/arch": "amd64", "kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                       CONTROL_PLANE_LABEL: "", EXCLUDE_FROM_EXTERNAL_LB_LABEL: ""},
            "annotations": {CRI_SOCKET_ANNOTATION: DEFAULT_CRI_SOCKET, "node.alpha.kubernetes.io/ttl": "0",
                            "volumes.kubernetes.io/controller-managed-attach-detach": "true"},
        },
        "spec": {"taints": [{"key": CONTROL_PLANE_LABEL, "effect": CONTROL_PLANE_TAINT_EFFECT}]},
        "status": {
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                            "message": "kubelet is posting ready status", "lastHeartbeatTime": stamp,
                            "lastTransitionTime": stamp}],
            "nodeInfo": {"kubeletVersion": profile.kubernetes_version, "operatingSystem": "linux",
                         "architecture": "amd64"},
        },
    }


def _config_role(name: str, configmap_name: str) -> tuple[Obj, Obj]:
    """Return the Role and RoleBinding letting bootstrap tokens and nodes read one kube-system ConfigMap."""
    subjects = [group(NODE_BOOTSTRAP_TOKEN_AUTH_GROUP), group(NODES_GROUP)]
    return (role(name, KUBE_SYSTEM_NAMESPACE, [rule(["get"], groups=[""], resources=["configmaps"], names=[configmap_name])]),
            role_binding(name, KUBE_SYSTEM_NAMESPACE, name, subjects))


def init_done_lines(secrets: ClusterSecrets, token: str) -> list[str]:
    """Return the closing message of ``kubeadm init`` (show-join-command phase), line by line."""
    lines = [
        "Your Kubernetes control-plane has initialized successfully!", "",
        "To start using your cluster, you need to run the following as a regular user:", "",
        "  mkdir -p $HOME/.kube", f"  sudo cp -i {ADMIN_CONF_PATH} $HOME/.kube/config",
        "  sudo chown $(id -u):$(id -g) $HOME/.kube/config", "",
        "Alternatively, if you are the root user, you can run:", "", f"  export KUBECONFIG={ADMIN_CONF_PATH}", "",
        "You should now deploy a pod network to the cluster.",
        'Run "kubectl apply -f [podnetwork].yaml" with one of the options listed at:',
        "  https://kubernetes.io/docs/concepts/cluster-administration/addons/", "",
    ]
    if secrets.control_plane_endpoint:
        control_plane = join_command_raw(secrets.host_port, token, secrets.ca_pins(), control_plane=True)
        lines += ["You can now join any number of control-plane nodes by copying certificate authorities",
                  "and service account keys on each node and then running the following as root:", "",
                  *("  " + control_plane).split("\n"), ""]
    lines += ["Then you can join any number of worker nodes by running the following on each as root:", ""]
    lines += join_command_raw(secrets.host_port, token, secrets.ca_pins()).split("\n")
    return lines


def init(
    store: Store,
    *,
    now: datetime,
    rng: Rng,
    endpoint: str,
    profile: Profile = CURRENT,
    ca_key_type: str = "rsa",
    control_plane_endpoint: str | None = None,
    token: BootstrapToken | None = None,
    public_cluster_info: bool = True,
    autoapprove: bool = True,
    node_name: str = "control-plane",
) -> tuple[ClusterSecrets, BootstrapToken, list[str]]:
    """Set up a control plane's API objects as ``kubeadm init`` does; return secrets, token and log lines.

    ``public_cluster_info=False`` leaves out the Role/RoleBinding that let
    ``system:anonymous`` read cluster-info; ``autoapprove=False`` leaves out
    ``kubeadm:node-autoapprove-bootstrap``, so first-join CSRs stay Pending.
    """
    kubeadm_rbac.apiserver_defaults(store, now, profile)
    secrets = _make_secrets(now=now, rng=rng, endpoint=endpoint, control_plane_endpoint=control_plane_endpoint,
                            profile=profile, key_type=ca_key_type)
    if token is None:
        token = BootstrapToken.from_string(tokens.generate_bootstrap_token(rng), description=INIT_TOKEN_DESCRIPTION)
    elif not token.description:
        token = dataclasses.replace(token, description=INIT_TOKEN_DESCRIPTION)
    log = [f"[init] Using Kubernetes version: {profile.kubernetes_version}"]

    if admin_groups(profile) == (KUBEADM_CLUSTER_ADMINS,):  # EnsureAdminClusterRoleBinding
        apply(store, cluster_role_binding(KUBEADM_CLUSTER_ADMINS, kubeadm_rbac.CLUSTER_ADMIN_ROLE,
                                                       [group(KUBEADM_CLUSTER_ADMINS)]), now)
    apply(store, _control_plane_node(node_name, profile, now), now)

    log.append(f'[upload-config] Storing the configuration used in ConfigMap "{KUBEADM_CONFIG_CONFIGMAP}" '
               f'in the "{KUBE_SYSTEM_NAMESPACE}" Namespace')
    apply(store, kubeadm_config.kubeadm_config_map(profile, control_plane_endpoint, ca_key_type), now)
    for obj in _config_role(NODES_KUBEADM_CONFIG_ROLE, KUBEADM_CONFIG_CONFIGMAP):
        apply(store, obj, now)
    kubelet_cm = profile.kubelet_config_configmap
    log.append(f'[kubelet] Creating a ConfigMap "{kubelet_cm}" in namespace {KUBE_SYSTEM_NAMESPACE} '
               "with the configuration for the kubelets in the cluster")
    apply(store, kubeadm_config.kubelet_config_map(profile), now)
    for obj in _config_role(f"kubeadm:{kubelet_cm}", kubelet_cm):
        apply(store, obj, now)
    log += [
        "[upload-certs] Skipping phase. Please see --upload-certs",
        f"[mark-control-plane] Marking the node {node_name} as control-plane by adding the labels: "
        f"[{CONTROL_PLANE_LABEL} {EXCLUDE_FROM_EXTERNAL_LB_LABEL}]",
        f"[mark-control-plane] Marking the node {node_name} as control-plane by adding the taints "
        f"[{CONTROL_PLANE_LABEL}:{CONTROL_PLANE_TAINT_EFFECT}]",
        f"[bootstrap-token] Using token: {token.token}",
        "[bootstrap-token] Configuring bootstrap tokens, cluster-info ConfigMap, RBAC Roles",
    ]
    apply(store, tokens.token_to_secret(token, now), now)  # UpdateOrCreateTokens(failIfExists=false)
    tokens_group = [group(NODE_BOOTSTRAP_TOKEN_AUTH_GROUP)]
    log.append("[bootstrap-token] Configured RBAC rules to allow Node Bootstrap tokens to get nodes")
    apply(store, cluster_role(GET_NODES_CLUSTER_ROLE, [rule(["get"], groups=[""], resources=["nodes"])]), now)
    apply(store, cluster_role_binding(GET_NODES_CLUSTER_ROLE, GET_NODES_CLUSTER_ROLE, tokens_group), now)
    log.append("[bootstrap-token] Configured RBAC rules to allow Node Bootstrap tokens to post CSRs in order for "
               "nodes to get long term certificate credentials")
    apply(store, cluster_role_binding(NODE_KUBELET_BOOTSTRAP_BINDING, NODE_BOOTSTRAPPER_CLUSTER_ROLE,
                                                   tokens_group), now)
    if autoapprove:
        log.append("[bootstrap-token] Configured RBAC rules to allow the csrapprover controller automatically "
                   "approve CSRs from a Node Bootstrap Token")
        apply(store, cluster_role_binding(NODE_AUTOAPPROVE_BOOTSTRAP_BINDING,
                                                       CSR_AUTOAPPROVAL_CLUSTER_ROLE, tokens_group), now)
    log.append("[bootstrap-token] Configured RBAC rules to allow certificate rotation for all node client "
               "certificates in the cluster")
    apply(store, cluster_role_binding(NODE_AUTOAPPROVE_ROTATION_BINDING,
                                                   NODE_SELF_CSR_AUTOAPPROVAL_CLUSTER_ROLE, [group(NODES_GROUP)]), now)
    log.append(f'[bootstrap-token] Creating the "{CLUSTER_INFO_NAME}" ConfigMap in the "{CLUSTER_INFO_NAMESPACE}" '
               "namespace")
    info = kubeconfig.cluster_info_kubeconfig(secrets.server, secrets.ca.cert_pem)
    if store.peek("configmaps", CLUSTER_INFO_NAMESPACE, CLUSTER_INFO_NAME) is None:  # ...IfNotExists
        store.create("configmaps", configmap(CLUSTER_INFO_NAME, CLUSTER_INFO_NAMESPACE,
                                             {CLUSTER_INFO_KUBECONFIG_KEY: info}), now)
    if public_cluster_info:
        apply(store, role(CLUSTER_INFO_ROLE, CLUSTER_INFO_NAMESPACE,
                                       [rule(["get"], groups=[""], resources=["configmaps"], names=[CLUSTER_INFO_NAME])]), now)
        apply(store, role_binding(CLUSTER_INFO_ROLE, CLUSTER_INFO_NAMESPACE, CLUSTER_INFO_ROLE,
                                               [user(ANONYMOUS_USER)]), now)
    log += ['[kubelet-finalize] Updating "/etc/kubernetes/kubelet.conf" to point to a rotatable kubelet client '
            "certificate and key", "[addons] Applied essential addon: CoreDNS"]
    apply(store, kubeadm_config.kube_proxy_config_map(secrets.server), now)
    log += ["[addons] Applied essential addon: kube-proxy", ""]
    log += init_done_lines(secrets, token.token)
    return secrets, token, log
