"""Run whole joins against a control plane with real crypto, through the in-process harness."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from sim.control import kubeadm_token
from sim.control.plane import ControlPlane
from sim.control.profile import CURRENT, V1_22, Profile
from sim.harness import DEFAULT_START, Harness
from sim.protocol import constants as C
from sim.protocol import csr as csr_rules
from sim.protocol import pins, x509verify
from sim.protocol.joinconfig import JoinConfiguration
from sim.protocol.preflight import NodeFacts
from sim.protocol.tokens import BootstrapToken

ENDPOINT = "10.0.0.1:6443"


def make_cluster(seed: int = 1, profile: Profile = CURRENT, **options: Any) -> tuple[ControlPlane, BootstrapToken, Harness]:
    rng = random.Random(seed)
    plane, token, _ = ControlPlane.bootstrap(now=DEFAULT_START, rng=rng, endpoint=ENDPOINT, profile=profile, **options)
    return plane, token, Harness(plane, rng=rng)


def worker(plane: ControlPlane, token: str, name: str = "node-1", **overrides: Any) -> JoinConfiguration:
    settings: dict[str, Any] = dict(node_name=name, api_server_endpoint=ENDPOINT, token=token,
                                    ca_cert_hashes=(pins.certificate_pin(plane.ca.cert),),
                                    kubelet_config_configmap=plane.profile.kubelet_config_configmap)
    settings.update(overrides)
    return JoinConfiguration(**settings)


def issued_certificate(node_files: dict[str, bytes]) -> x509.Certificate:
    return x509.load_pem_x509_certificate(node_files[C.KUBELET_CLIENT_CURRENT_PATH])


def test_worker_join_with_pinning_issues_a_kubelet_client_certificate() -> None:
    plane, token, harness = make_cluster()
    node = harness.join(worker(plane, token.token))
    harness.run()

    outcome = node.outcome
    assert outcome is not None and outcome.joined, outcome
    assert outcome.pinned and outcome.trusted_ca_pin == pins.certificate_pin(plane.ca.cert)
    assert outcome.csr_server == plane.name
    assert C.KUBELET_CONF_PATH in node.files and C.BOOTSTRAP_KUBELET_CONF_PATH not in node.files
    assert node.files[C.DEFAULT_CA_CERT_PATH] == plane.ca.cert_pem

    csr = plane.store.get("certificatesigningrequests", "", outcome.csr_name)
    assert csr is not None and csr_rules.csr_state(csr) == "Approved,Issued"
    assert csr["spec"]["username"] == f"system:bootstrap:{token.token_id}"
    assert csr["spec"]["groups"] == ["system:bootstrappers", "system:bootstrappers:kubeadm:default-node-token",
                                     "system:authenticated"]
    approved = csr["status"]["conditions"][0]
    assert (approved["type"], approved["reason"], approved["message"]) == (
        "Approved", "AutoApproved", "Auto approving kubelet client certificate after SubjectAccessReview.")

    cert = issued_certificate(node.files)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "system:node:node-1"
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "system:nodes"
    assert cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value == x509.ExtendedKeyUsage(
        [ExtendedKeyUsageOID.CLIENT_AUTH])
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and not usage.value.key_encipherment
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == timedelta(hours=8760)
    assert x509verify.verify_chain(cert, [plane.ca.cert], harness.now) is None

    registered = plane.store.get("nodes", "", "node-1")
    assert registered is not None
    assert registered["metadata"]["annotations"][C.CRI_SOCKET_ANNOTATION] == C.DEFAULT_CRI_SOCKET
    ready = [c for c in registered["status"]["conditions"] if c["type"] == "Ready"]
    assert ready[0]["status"] == "True"


def test_join_prints_kubeadm_phase_lines_and_success_text() -> None:
    plane, token, harness = make_cluster()
    node = harness.join(worker(plane, token.token))
    harness.run()
    printed = [line.text for line in node.logs if line.stream == "stdout"]
    assert printed[0] == "[preflight] Running pre-flight checks"
    assert "[kubelet-start] Starting the kubelet" in printed
    assert "[kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap" in printed
    assert "This node has joined the cluster:" in printed[-1]


def test_unpinned_join_succeeds_without_second_fetch() -> None:
    plane, token, harness = make_cluster()
    node = harness.join(worker(plane, token.token, ca_cert_hashes=(), unsafe_skip_ca_verification=True))
    harness.run()
    assert node.outcome is not None and node.outcome.joined and not node.outcome.pinned
    assert node.milestone("second-fetch") is None and node.milestone("pin-verified") is None


@pytest.mark.parametrize("seed", [1, 7])
def test_same_seed_gives_identical_runs(seed: int) -> None:
    def run() -> tuple[Any, ...]:
        plane, token, harness = make_cluster(seed)
        nodes = [harness.join(worker(plane, token.token, f"node-{i}"), at=float(i)) for i in range(3)]
        harness.run()
        return (tuple(n.files[C.KUBELET_CLIENT_CURRENT_PATH] for n in nodes), tuple(tuple(n.marks) for n in nodes),
                tuple(harness.requests), plane.ca.cert_pem)

    assert run() == run()


WRONG_PIN = "sha256:" + "0" * 64


@pytest.mark.parametrize(
    "overrides, expected",
    [
        pytest.param(dict(ca_cert_hashes=(WRONG_PIN,)),
                     "error execution phase preflight: couldn't validate the identity of the API Server: cluster CA "
                     "found in cluster-info ConfigMap is invalid: none of the public keys \"{pin}\" are pinned",
                     id="invalid: wrong CA hash"),
        pytest.param(dict(ca_cert_hashes=("sha256:abc",)),
                     "error execution phase preflight: couldn't validate the identity of the API Server: invalid "
                     "discovery token CA certificate hash: invalid hash \"sha256:abc\", expected a 32 byte SHA-256 "
                     "hash, found 1 bytes",
                     id="invalid: malformed CA hash"),
        pytest.param(dict(ca_cert_hashes=()),
                     "discovery.bootstrapToken.caCertHashes: Invalid value: \"\": using token-based discovery without "
                     "caCertHashes can be unsafe. Set unsafeSkipCAVerification as true in your kubeadm config file or "
                     "pass --discovery-token-unsafe-skip-ca-verification flag to continue",
                     id="invalid: no CA hash and no unsafe skip"),
    ],
)
def test_discovery_failures_give_kubeadm_text(overrides: dict[str, Any], expected: str) -> None:
    plane, token, harness = make_cluster()
    node = harness.join(worker(plane, token.token, **overrides))
    harness.run()
    assert node.outcome is not None and not node.outcome.joined
    assert node.outcome.error == expected.format(pin=pins.certificate_pin(plane.ca.cert))


def test_unknown_token_polls_every_five_seconds_until_the_discovery_timeout() -> None:
    plane, _, harness = make_cluster()
    node = harness.join(worker(plane, "zzzzzz.0123456789abcdef"))
    harness.run()
    assert node.outcome is not None
    assert node.outcome.error == ("error execution phase preflight: couldn't validate the identity of the API Server: "
                                  "could not find a JWS signature in the cluster-info ConfigMap for token ID \"zzzzzz\"")
    attempts = [t for t, m, _ in node.marks if m == "discovery-attempt"]
    assert attempts[:3] == [0.0, 5.0, 10.0]
    assert len(attempts) == 60 and attempts[-1] == 295.0


def test_token_without_authentication_usage_discovers_but_cannot_read_config() -> None:
    plane, _, harness = make_cluster()
    signing_only = BootstrapToken(token_id="sign00", token_secret="0123456789abcdef", usages=("signing",), groups=())
    kubeadm_token.create_token(plane.store, harness.now, signing_only)
    harness.call_later(0.0, lambda: None)
    node = harness.join(worker(plane, signing_only.token), at=1.0)
    harness.run()
    assert node.outcome is not None
    assert node.outcome.error == ("error execution phase preflight: unable to fetch the kubeadm-config ConfigMap: "
                                  "Unauthorized")


def test_expired_token_is_unsigned_and_cleaned() -> None:
    plane, _, harness = make_cluster()
    short = BootstrapToken(token_id="short0", token_secret="0123456789abcdef", ttl=60)
    kubeadm_token.create_token(plane.store, harness.now, short)
    harness.call_later(0.0, lambda: None)
    node = harness.join(worker(plane, short.token, discovery_timeout=20.0), at=61.0)
    harness.run()
    assert plane.store.get("secrets", "kube-system", "bootstrap-token-short0") is None
    assert node.outcome is not None and "could not find a JWS signature" in node.outcome.error


def test_without_autoapprove_the_join_times_out_waiting_for_the_tls_bootstrap() -> None:
    plane, token, harness = make_cluster(autoapprove=False)
    node = harness.join(worker(plane, token.token))
    harness.run()
    assert node.outcome is not None
    assert node.outcome.error == "error execution phase kubelet-start: context deadline exceeded"
    csr = plane.store.get("certificatesigningrequests", "", node.outcome.csr_name)
    assert csr is not None and csr_rules.csr_state(csr) == "Pending"
    assert C.BOOTSTRAP_KUBELET_CONF_PATH not in node.files


def test_manual_approval_lets_the_join_finish() -> None:
    plane, token, harness = make_cluster(autoapprove=False)
    node = harness.join(worker(plane, token.token))

    def approve() -> None:
        for obj in plane.store.list("certificatesigningrequests"):
            plane.approve_csr(obj["metadata"]["name"], harness.now)
    harness.call_later(60.0, approve)
    harness.run()
    assert node.outcome is not None and node.outcome.joined, node.outcome
    finished = node.milestone("joined")
    assert finished is not None and 60.0 <= finished <= 62.0


def test_ready_node_with_the_same_name_stops_the_join_before_the_csr() -> None:
    plane, token, harness = make_cluster()
    first = harness.join(worker(plane, token.token, "twin"))
    harness.run()
    assert first.outcome is not None and first.outcome.joined
    machine = harness.add_node("machine-b", facts=NodeFacts.healthy_worker("twin"))
    second = harness.join(worker(plane, token.token, "twin"), machine=machine)
    harness.run()
    assert second.outcome is not None
    assert second.outcome.error == ('error execution phase kubelet-start: a Node with name "twin" and status "Ready" '
                                    "already exists in the cluster. You must delete the existing Node or change the "
                                    "name of this new joining Node")


def test_profile_1_22_joins_with_legacy_usages() -> None:
    plane, token, harness = make_cluster(profile=V1_22)
    node = harness.join(worker(plane, token.token))
    harness.run()
    assert node.outcome is not None and node.outcome.joined, node.outcome
    cert = issued_certificate(node.files)
    assert cert.extensions.get_extension_for_class(x509.KeyUsage).value.key_encipherment


def test_control_plane_join_downloads_certs_and_marks_the_node() -> None:
    plane, token, harness = make_cluster(control_plane_endpoint=ENDPOINT)
    key = plane.upload_certs(harness.now, harness.rng)
    harness.call_later(0.0, lambda: None)
    cfg = worker(plane, token.token, "cp-2", control_plane=True, certificate_key=key,
                 advertise_address="10.0.0.2")
    harness.add_node("cp-2", facts=NodeFacts.healthy_worker("cp-2").with_changes(num_cpu=4, mem_mb=8192))
    node = harness.join(cfg)
    harness.run()
    assert node.outcome is not None and node.outcome.joined, node.outcome
    assert node.files["/etc/kubernetes/pki/ca.key"] == plane.ca.key_pem
    served = x509.load_pem_x509_certificate(node.files["/etc/kubernetes/pki/apiserver.crt"])
    assert x509verify.verify_chain(served, [plane.ca.cert], harness.now) is None
    registered = plane.store.get("nodes", "", "cp-2")
    assert registered is not None and "node-role.kubernetes.io/control-plane" in registered["metadata"]["labels"]


@pytest.mark.parametrize(
    "mutate, expected",
    [
        pytest.param("wrong-key", "error execution phase control-plane-prepare/download-certs: error downloading certs: "
                                  "error decoding secret data with provided key: cipher: message authentication failed",
                     id="invalid: wrong certificate key"),
        pytest.param("expired", "error execution phase control-plane-prepare/download-certs: error downloading certs: "
                                "error downloading the secret: Secret \"kubeadm-certs\" was not found in the "
                                "\"kube-system\" Namespace. This Secret might have expired. Please, run `kubeadm init "
                                "phase upload-certs --upload-certs` on a control plane to generate a new one",
                     id="invalid: kubeadm-certs older than 2 h"),
        pytest.param("no-endpoint", "error execution phase preflight: \nOne or more conditions for hosting a new "
                                    "control plane instance is not satisfied.\n\nunable to add a new control plane "
                                    "instance a cluster that doesn't have a stable controlPlaneEndpoint address\n\n"
                                    "Please ensure that:\n* The cluster has a stable controlPlaneEndpoint address.\n"
                                    "* The certificates that must be shared among control plane instances are "
                                    "provided.\n\n",
                     id="invalid: cluster initialised without a controlPlaneEndpoint"),
    ],
)
def test_control_plane_join_failures(mutate: str, expected: str) -> None:
    plane, token, harness = make_cluster(control_plane_endpoint=None if mutate == "no-endpoint" else ENDPOINT)
    key = plane.upload_certs(harness.now, harness.rng)
    if mutate == "wrong-key":
        key = "ab" * 32
    harness.call_later(0.0, lambda: None)
    start = 2 * 3600 + 1.0 if mutate == "expired" else 0.0
    # The long-lived join token outlives the 2 h proxy token that owns kubeadm-certs.
    harness.add_node("cp-2", facts=NodeFacts.healthy_worker("cp-2").with_changes(num_cpu=4, mem_mb=8192))
    node = harness.join(worker(plane, token.token, "cp-2", control_plane=True, certificate_key=key), at=start)
    harness.run()
    assert node.outcome is not None and node.outcome.error == expected


def test_rejoin_without_reset_fails_preflight() -> None:
    plane, token, harness = make_cluster()
    node = harness.join(worker(plane, token.token))
    harness.run()
    assert node.outcome is not None and node.outcome.joined
    again = harness.join(worker(plane, token.token))
    harness.run()
    assert again.outcome is not None and again.outcome.error == "error execution phase preflight: preflight checks failed"
    errors = [line.text for line in again.logs if "[ERROR" in line.text]
    assert "\t[ERROR FileAvailable--etc-kubernetes-kubelet.conf]: /etc/kubernetes/kubelet.conf already exists" in errors


def test_anonymous_cluster_info_removed_breaks_token_discovery() -> None:
    plane, token, harness = make_cluster(public_cluster_info=False)
    node = harness.join(worker(plane, token.token, discovery_timeout=10.0))
    harness.run()
    assert node.outcome is not None
    assert node.outcome.error == (
        "error execution phase preflight: couldn't validate the identity of the API Server: failed to request the "
        "cluster-info ConfigMap: configmaps \"cluster-info\" is forbidden: User \"system:anonymous\" cannot get "
        "resource \"configmaps\" in API group \"\" in the namespace \"kube-public\"")


def test_file_discovery_works_without_public_cluster_info() -> None:
    plane, token, harness = make_cluster(public_cluster_info=False)
    from sim.protocol import kubeconfig
    harness.add_node("node-1")
    harness.nodes["node-1"].files["/root/discovery.conf"] = kubeconfig.cluster_info_kubeconfig(
        f"https://{ENDPOINT}", plane.ca.cert_pem).encode()
    node = harness.join(JoinConfiguration(node_name="node-1", discovery_file="/root/discovery.conf",
                                          tls_bootstrap_token=token.token))
    harness.run()
    assert node.outcome is not None and node.outcome.joined, node.outcome
