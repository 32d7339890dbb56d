"""Check ``kubeadm init``'s API objects, RBAC subjects and printed output."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from sim.control import kubeadm
from sim.control.controllers.bootstrapsigner import CLUSTER_INFO_KEY, BootstrapSigner
from sim.control.kubeadm_config import checksum
from sim.control.profile import CURRENT, V1_22, Profile
from sim.control.store import Store
from sim.protocol import constants as C
from sim.protocol import jws, kubeconfig, objects, tokens
from sim.protocol.http import Response
from sim.protocol.tokens import BootstrapToken

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
ENDPOINT = "10.0.0.1:6443"
TOKENS_GROUP = {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": C.NODE_BOOTSTRAP_TOKEN_AUTH_GROUP}
NODES = {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:nodes"}
GOLDEN_TOKEN = "dr1xes.vzemeeti1qz6bi7l"
GOLDEN_PIN = "sha256:e16b0bfee56034075874d53d625e555c100f96ec3e1fc5dc488283c76fe1e3bf"

Result = tuple[Store, kubeadm.ClusterSecrets, BootstrapToken, list[str]]


def run_init(profile: Profile = CURRENT, **kw: Any) -> Result:
    store = Store(random.Random(0))
    kw.setdefault("ca_key_type", "ecdsa")
    secrets, token, log = kubeadm.init(store, now=NOW, rng=random.Random(1), endpoint=ENDPOINT, profile=profile,
                                       **kw)
    return store, secrets, token, log


@pytest.fixture(scope="module")
def cluster() -> Result:
    return run_init()


def get(store: Store, resource: str, namespace: str, name: str) -> dict[str, Any]:
    obj = store.get(resource, namespace, name)
    assert obj is not None, f"{resource} {namespace}/{name} missing"
    return obj


@pytest.mark.parametrize(
    ("resource", "namespace", "name"),
    [
        pytest.param("namespaces", "", "kube-public", id="valid: kube-public namespace"),
        pytest.param("configmaps", "kube-public", "cluster-info", id="valid: cluster-info"),
        pytest.param("configmaps", "kube-system", "kubeadm-config", id="valid: kubeadm-config"),
        pytest.param("configmaps", "kube-system", "kubelet-config", id="valid: kubelet-config"),
        pytest.param("configmaps", "kube-system", "kube-proxy", id="valid: kube-proxy"),
        pytest.param("secrets", "kube-system", f"bootstrap-token-{GOLDEN_TOKEN[:6]}", id="valid: default token"),
        pytest.param("nodes", "", "control-plane", id="valid: control-plane node"),
        pytest.param("clusterroles", "", "kubeadm:get-nodes", id="valid: get-nodes role"),
        pytest.param("clusterroles", "", "system:node-bootstrapper", id="valid: built-in bootstrapper role"),
        pytest.param("clusterroles", "", "cluster-admin", id="valid: cluster-admin"),
        pytest.param("roles", "kube-public", "kubeadm:bootstrap-signer-clusterinfo", id="valid: cluster-info role"),
        pytest.param("roles", "kube-system", "kubeadm:nodes-kubeadm-config", id="valid: kubeadm-config role"),
        pytest.param("roles", "kube-system", "kubeadm:kubelet-config", id="valid: kubelet-config role"),
    ],
)
def test_init_creates_object(cluster: Result, resource: str, namespace: str, name: str) -> None:
    get(cluster[0], resource, namespace, name)


@pytest.mark.parametrize(
    ("resource", "namespace", "name", "role_ref", "subjects"),
    [
        pytest.param("clusterrolebindings", "", "kubeadm:kubelet-bootstrap",
                     ("ClusterRole", "system:node-bootstrapper"), [TOKENS_GROUP], id="valid: tokens may post CSRs"),
        pytest.param("clusterrolebindings", "", "kubeadm:node-autoapprove-bootstrap",
                     ("ClusterRole", "system:certificates.k8s.io:certificatesigningrequests:nodeclient"),
                     [TOKENS_GROUP], id="valid: token CSRs auto-approved"),
        pytest.param("clusterrolebindings", "", "kubeadm:node-autoapprove-certificate-rotation",
                     ("ClusterRole", "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient"),
                     [NODES], id="valid: node renewals auto-approved"),
        pytest.param("clusterrolebindings", "", "kubeadm:get-nodes", ("ClusterRole", "kubeadm:get-nodes"),
                     [TOKENS_GROUP], id="valid: tokens may get nodes"),
        pytest.param("clusterrolebindings", "", "kubeadm:cluster-admins", ("ClusterRole", "cluster-admin"),
                     [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "kubeadm:cluster-admins"}],
                     id="valid: admin group is cluster-admin"),
        pytest.param("rolebindings", "kube-public", "kubeadm:bootstrap-signer-clusterinfo",
                     ("Role", "kubeadm:bootstrap-signer-clusterinfo"),
                     [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "system:anonymous"}],
                     id="valid: anonymous may read cluster-info"),
        pytest.param("rolebindings", "kube-system", "kubeadm:nodes-kubeadm-config",
                     ("Role", "kubeadm:nodes-kubeadm-config"), [TOKENS_GROUP, NODES], id="valid: kubeadm-config"),
        pytest.param("rolebindings", "kube-system", "kubeadm:kubelet-config", ("Role", "kubeadm:kubelet-config"),
                     [TOKENS_GROUP, NODES], id="valid: kubelet-config"),
    ],
)
def test_rbac_bindings(cluster: Result, resource: str, namespace: str, name: str, role_ref: tuple[str, str],
                       subjects: list[dict[str, str]]) -> None:
    binding = get(cluster[0], resource, namespace, name)
    assert (binding["roleRef"]["kind"], binding["roleRef"]["name"]) == role_ref
    assert binding["subjects"] == subjects


@pytest.mark.parametrize(
    ("resource", "namespace", "name", "rules"),
    [
        pytest.param("roles", "kube-public", "kubeadm:bootstrap-signer-clusterinfo",
                     [{"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"],
                       "resourceNames": ["cluster-info"]}], id="valid: get cluster-info only"),
        pytest.param("roles", "kube-system", "kubeadm:nodes-kubeadm-config",
                     [{"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"],
                       "resourceNames": ["kubeadm-config"]}], id="valid: get kubeadm-config only"),
        pytest.param("clusterroles", "", "kubeadm:get-nodes",
                     [{"verbs": ["get"], "apiGroups": [""], "resources": ["nodes"]}], id="valid: get nodes"),
    ],
)
def test_role_rules(cluster: Result, resource: str, namespace: str, name: str, rules: list[dict[str, Any]]) -> None:
    assert get(cluster[0], resource, namespace, name)["rules"] == rules


def test_kube_proxy_config_map_is_not_readable_by_tokens(cluster: Result) -> None:
    store = cluster[0]
    assert store.get("roles", "kube-system", "kube-proxy") is None
    cm = get(store, "configmaps", "kube-system", "kube-proxy")
    assert cm["metadata"]["annotations"]["kubeadm.kubernetes.io/component-config.hash"] == checksum(cm["data"])


def test_cluster_info_is_unsigned_and_points_at_the_endpoint(cluster: Result) -> None:
    store, secrets, _, _ = cluster
    data = get(store, "configmaps", "kube-public", "cluster-info")["data"]
    assert list(data) == ["kubeconfig"]
    loaded = kubeconfig.load(data["kubeconfig"]).current_cluster()
    assert (loaded.server, loaded.ca_data) == (f"https://{ENDPOINT}", secrets.ca.cert_pem)


def test_bootstrapsigner_signs_the_init_token(cluster: Result) -> None:
    store, _, token, _ = cluster
    signer = BootstrapSigner(store)
    gen = signer.reconcile(CLUSTER_INFO_KEY, NOW)
    request = next(gen)
    updated = json.loads(request.body)
    with pytest.raises(StopIteration):
        gen.send(Response(status=200, body=updated))
    expected = jws.compute_detached_signature(updated["data"]["kubeconfig"], token.token_id, token.token_secret)
    assert updated["data"][f"jws-kubeconfig-{token.token_id}"] == expected


def test_default_token(cluster: Result) -> None:
    store, _, token, _ = cluster
    assert token.token == GOLDEN_TOKEN
    data = objects.secret_data(get(store, "secrets", "kube-system", f"bootstrap-token-{token.token_id}"))
    assert data == {"token-id": token.token_id, "token-secret": token.token_secret,
                    "description": C.INIT_TOKEN_DESCRIPTION, "expiration": "2024-05-02T12:00:00Z",
                    "usage-bootstrap-signing": "true", "usage-bootstrap-authentication": "true",
                    "auth-extra-groups": C.NODE_BOOTSTRAP_TOKEN_AUTH_GROUP}


def test_given_token_is_used_with_the_init_description() -> None:
    given = BootstrapToken.from_string("abcdef.0123456789abcdef", ttl=0)
    store, _, token, log = run_init(token=given)
    assert token.token == given.token and token.description == C.INIT_TOKEN_DESCRIPTION
    decoded = tokens.token_from_secret(get(store, "secrets", "kube-system", "bootstrap-token-abcdef"))
    assert decoded.expires is None
    assert "[bootstrap-token] Using token: abcdef.0123456789abcdef" in log


@pytest.mark.parametrize(
    ("profile", "api_version", "kubelet_cm", "groups", "admins_binding"),
    [
        pytest.param(CURRENT, "kubeadm.k8s.io/v1beta4", "kubelet-config", ["kubeadm:cluster-admins"], True,
                     id="valid: current"),
        pytest.param(V1_22, "kubeadm.k8s.io/v1beta3", "kubelet-config-1.22", ["system:masters"], False,
                     id="valid: 1.22"),
    ],
)
def test_profile_dependent_objects(profile: Profile, api_version: str, kubelet_cm: str, groups: list[str],
                                   admins_binding: bool) -> None:
    store, secrets, _, log = run_init(profile, control_plane_endpoint="cp.example:6443")
    config = yaml.safe_load(get(store, "configmaps", "kube-system", "kubeadm-config")["data"]["ClusterConfiguration"])
    assert (config["apiVersion"], config["kind"], config["clusterName"], config["kubernetesVersion"],
            config["controlPlaneEndpoint"]) == (api_version, "ClusterConfiguration", "kubernetes",
                                                profile.kubernetes_version, "cp.example:6443")
    kubelet = yaml.safe_load(get(store, "configmaps", "kube-system", kubelet_cm)["data"]["kubelet"])
    assert (kubelet["kind"], kubelet["rotateCertificates"]) == ("KubeletConfiguration", True)
    role = get(store, "roles", "kube-system", f"kubeadm:{kubelet_cm}")
    assert role["rules"][0]["resourceNames"] == [kubelet_cm]
    orgs = [a.value for a in secrets.admin.cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    cn = secrets.admin.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert (cn, orgs) == ("kubernetes-admin", groups)
    assert (store.get("clusterrolebindings", "", "kubeadm:cluster-admins") is not None) is admins_binding
    assert f'[kubelet] Creating a ConfigMap "{kubelet_cm}" in namespace kube-system with the configuration for the ' \
           "kubelets in the cluster" in log
    assert secrets.host_port == "cp.example:6443"


def test_kubeadm_config_without_control_plane_endpoint(cluster: Result) -> None:
    text = get(cluster[0], "configmaps", "kube-system", "kubeadm-config")["data"]["ClusterConfiguration"]
    assert "controlPlaneEndpoint" not in yaml.safe_load(text)


@pytest.mark.parametrize(
    ("kw", "absent", "missing_line"),
    [
        pytest.param({"autoapprove": False}, [("clusterrolebindings", "", "kubeadm:node-autoapprove-bootstrap")],
                     "[bootstrap-token] Configured RBAC rules to allow the csrapprover controller automatically "
                     "approve CSRs from a Node Bootstrap Token", id="invalid: no auto-approval"),
        pytest.param({"public_cluster_info": False},
                     [("roles", "kube-public", "kubeadm:bootstrap-signer-clusterinfo"),
                      ("rolebindings", "kube-public", "kubeadm:bootstrap-signer-clusterinfo")],
                     None, id="invalid: cluster-info not public"),
    ],
)
def test_switches(kw: dict[str, Any], absent: list[tuple[str, str, str]], missing_line: str | None) -> None:
    store, _, _, log = run_init(**kw)
    for resource, namespace, name in absent:
        assert store.get(resource, namespace, name) is None
    assert get(store, "configmaps", "kube-public", "cluster-info")
    if missing_line:
        assert missing_line not in log


def test_control_plane_node_is_ready(cluster: Result) -> None:
    node = get(cluster[0], "nodes", "", "control-plane")
    assert node["status"]["conditions"][0]["type"] == "Ready"
    assert node["status"]["conditions"][0]["status"] == "True"
    assert node["metadata"]["labels"]["node-role.kubernetes.io/control-plane"] == ""
    assert node["metadata"]["annotations"][C.CRI_SOCKET_ANNOTATION] == C.DEFAULT_CRI_SOCKET


def test_bootstrap_token_lines_in_kubeadm_order(cluster: Result) -> None:
    log = cluster[3]
    start = log.index(f"[bootstrap-token] Using token: {GOLDEN_TOKEN}")
    assert log[start:start + 7] == [
        f"[bootstrap-token] Using token: {GOLDEN_TOKEN}",
        "[bootstrap-token] Configuring bootstrap tokens, cluster-info ConfigMap, RBAC Roles",
        "[bootstrap-token] Configured RBAC rules to allow Node Bootstrap tokens to get nodes",
        "[bootstrap-token] Configured RBAC rules to allow Node Bootstrap tokens to post CSRs in order for nodes to get "
        "long term certificate credentials",
        "[bootstrap-token] Configured RBAC rules to allow the csrapprover controller automatically approve CSRs from a "
        "Node Bootstrap Token",
        "[bootstrap-token] Configured RBAC rules to allow certificate rotation for all node client certificates in the "
        "cluster",
        '[bootstrap-token] Creating the "cluster-info" ConfigMap in the "kube-public" namespace',
    ]
    assert log[0] == "[init] Using Kubernetes version: v1.34.0"
    assert log[1] == '[upload-config] Storing the configuration used in ConfigMap "kubeadm-config" in the ' \
                     '"kube-system" Namespace'


def test_init_done_block_golden(cluster: Result) -> None:
    log = cluster[3]
    block = log[log.index("Your Kubernetes control-plane has initialized successfully!") - 1:]
    assert "\n".join(block) + "\n" == f"""
Your Kubernetes control-plane has initialized successfully!

To start using your cluster, you need to run the following as a regular user:

  mkdir -p $HOME/.kube
  sudo cp -i /etc/kubernetes/admin.conf $HOME/.kube/config
  sudo chown $(id -u):$(id -g) $HOME/.kube/config

Alternatively, if you are the root user, you can run:

  export KUBECONFIG=/etc/kubernetes/admin.conf

You should now deploy a pod network to the cluster.
Run "kubectl apply -f [podnetwork].yaml" with one of the options listed at:
  https://kubernetes.io/docs/concepts/cluster-administration/addons/

Then you can join any number of worker nodes by running the following on each as root:

kubeadm join {ENDPOINT} --token {GOLDEN_TOKEN} \\
\t--discovery-token-ca-cert-hash {GOLDEN_PIN} \n"""


def test_init_done_block_with_control_plane_endpoint() -> None:
    _, secrets, token, log = run_init(control_plane_endpoint="cp.example:6443")
    start = log.index("You can now join any number of control-plane nodes by copying certificate authorities")
    pin = secrets.ca_pins()[0]
    assert log[start:] == [
        "You can now join any number of control-plane nodes by copying certificate authorities",
        "and service account keys on each node and then running the following as root:", "",
        f"  kubeadm join cp.example:6443 --token {token.token} \\",
        f"\t--discovery-token-ca-cert-hash {pin} \\", "\t--control-plane ", "",
        "Then you can join any number of worker nodes by running the following on each as root:", "",
        f"kubeadm join cp.example:6443 --token {token.token} \\", f"\t--discovery-token-ca-cert-hash {pin} ",
    ]


def test_deterministic_for_a_seed_and_rsa_by_default() -> None:
    store, secrets, token, _ = run_init(ca_key_type="rsa")
    assert isinstance(secrets.ca.key, rsa.RSAPrivateKey) and isinstance(secrets.admin.key, rsa.RSAPrivateKey)
    config = yaml.safe_load(get(store, "configmaps", "kube-system", "kubeadm-config")["data"]["ClusterConfiguration"])
    assert config["encryptionAlgorithm"] == "RSA-2048"
    again = run_init(ca_key_type="rsa")
    assert again[1].ca_pins() == secrets.ca_pins() and again[2] == token
    assert isinstance(run_init()[1].ca.key, ec.EllipticCurvePrivateKey)


def test_admin_kubeconfig_and_control_plane_files(cluster: Result) -> None:
    secrets = cluster[1]
    admin = kubeconfig.load(secrets.admin_kubeconfig())
    assert admin.current_cluster().server == f"https://{ENDPOINT}" and admin.has_credentials()
    assert sorted(secrets.control_plane_files()) == sorted(C.KUBEADM_CERTS_FILES)
    assert all(secrets.control_plane_files().values())
    assert secrets.ca.cert.not_valid_after_utc == NOW + timedelta(days=3650)
