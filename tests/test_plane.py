"""Check how a control plane is assembled: the serving certificate, the controllers, admin actions, upload-certs."""

from __future__ import annotations

import ipaddress
import random
from datetime import timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from sim.control.manager import ControllerManager
from sim.control.plane import ControlPlane, subject_of
from sim.control.profile import CURRENT, V1_22, Profile
from sim.harness import DEFAULT_START
from sim.protocol import certkey, keys, pki, x509verify
from sim.protocol import constants as C
from sim.protocol import csr as csr_rules
from sim.protocol.csr import csr_object
from sim.protocol.errors import CertificateKeyError
from sim.protocol.http import ClientSubject, Request

ENDPOINT = "10.0.0.1:6443"
CSR_PATH = "/apis/certificates.k8s.io/v1/certificatesigningrequests"


def make_with_token(endpoint: str = ENDPOINT, seed: int = 1, profile: Profile = CURRENT,
                    **options: Any) -> tuple[ControlPlane, str]:
    options.setdefault("ca_key_type", "ecdsa")
    plane, token, _ = ControlPlane.bootstrap(now=DEFAULT_START, rng=random.Random(seed), endpoint=endpoint,
                                             profile=profile, **options)
    return plane, token.token


def make(endpoint: str = ENDPOINT, seed: int = 1, profile: Profile = CURRENT, **options: Any) -> ControlPlane:
    return make_with_token(endpoint, seed, profile, **options)[0]


def sans(cert: x509.Certificate) -> tuple[list[str], list[str]]:
    ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return ext.get_values_for_type(x509.DNSName), [str(ip) for ip in ext.get_values_for_type(x509.IPAddress)]


# --- the serving certificate --------------------------------------------------------------------

KUBERNETES_NAMES = ["kubernetes", "kubernetes.default", "kubernetes.default.svc",
                    "kubernetes.default.svc.cluster.local"]


@pytest.mark.parametrize(
    "endpoint, dns_extra, ips",
    [
        pytest.param("10.0.0.1:6443", [], ["10.96.0.1", "127.0.0.1", "10.0.0.1"], id="valid: IPv4 endpoint"),
        pytest.param("cp.example.com:6443", ["cp.example.com"], ["10.96.0.1", "127.0.0.1"],
                     id="valid: DNS endpoint"),
        pytest.param("[fd00::1]:6443", [], ["10.96.0.1", "127.0.0.1", "fd00::1"], id="valid: IPv6 endpoint"),
    ],
)
def test_serving_certificate_names_every_way_clients_reach_the_api(endpoint: str, dns_extra: list[str],
                                                                   ips: list[str]) -> None:
    plane = make(endpoint)
    dns, got_ips = sans(plane.serving.cert)
    assert sorted(dns) == sorted([*KUBERNETES_NAMES, "localhost", "control-plane", *dns_extra])
    assert sorted(got_ips) == sorted(str(ipaddress.ip_address(ip)) for ip in ips)
    host = endpoint.rsplit(":", 1)[0].strip("[]")
    for name in (host, "127.0.0.1", "localhost", "kubernetes.default.svc"):
        assert x509verify.verify_hostname(plane.serving.cert, name) is None, name
    assert x509verify.verify_hostname(plane.serving.cert, "10.0.0.99") is not None


def test_serving_certificate_is_a_server_leaf_of_the_cluster_ca() -> None:
    plane = make()
    cert = plane.serving.cert
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "kube-apiserver"
    assert cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value == x509.ExtendedKeyUsage(
        [ExtendedKeyUsageOID.SERVER_AUTH])
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert x509verify.verify_chain(cert, [plane.ca.cert], DEFAULT_START) is None
    assert x509verify.verify_chain(cert, [plane.ca.cert], DEFAULT_START + timedelta(days=364)) is None


@pytest.mark.parametrize("key_type, cls", [("ecdsa", ec.EllipticCurvePrivateKey), ("rsa", rsa.RSAPrivateKey)],
                         ids=["valid: ecdsa CA", "valid: rsa CA"])
def test_serving_key_follows_the_ca_key_type(key_type: str, cls: type) -> None:
    plane = make(ca_key_type=key_type)
    assert isinstance(plane.ca.key, cls) and isinstance(plane.serving.key, cls)


def test_bootstrap_is_deterministic_for_a_seed() -> None:
    a, b, c = make(seed=5), make(seed=5), make(seed=6)
    assert a.ca.cert_pem == b.ca.cert_pem and a.serving.cert_pem == b.serving.cert_pem
    assert a.ca.cert_pem != c.ca.cert_pem


def test_bootstrap_returns_the_init_token_and_output() -> None:
    plane, token, lines = ControlPlane.bootstrap(now=DEFAULT_START, rng=random.Random(1), endpoint=ENDPOINT,
                                                 ca_key_type="ecdsa")
    assert plane.store.get("secrets", "kube-system", f"bootstrap-token-{token.token_id}") is not None
    assert any(token.token in line for line in lines)
    assert plane.ca is plane.secrets.ca and plane.endpoint == ENDPOINT and plane.name == "control-plane"


# --- controllers --------------------------------------------------------------------------------

CONTROLLERS = ["bootstrapsigner", "tokencleaner", "csrapproving", "csrsigning-kubelet-client",
               "csrsigning-kube-apiserver-client", "csrsigning-kubelet-serving", "csrsigning-legacy-unknown",
               "csrcleaner", "garbagecollector"]


@pytest.mark.parametrize("options", [{}, {"autoapprove": False}, {"profile": V1_22}],
                         ids=["valid: defaults", "valid: without autoapprove", "valid: 1.22 profile"])
def test_controllers_are_the_ones_kubeadm_enables(options: dict[str, Any]) -> None:
    plane = make(**options)
    assert [c.name for c in plane.controllers] == CONTROLLERS
    assert len({c.name for c in plane.controllers}) == len(CONTROLLERS)
    for controller in plane.controllers:
        assert controller.workers >= 1


# --- admin actions --------------------------------------------------------------------------------

def submit(plane: ControlPlane, token: str, node: str = "node-1") -> str:
    """Create a kubelet client CSR with the bootstrap token, as a joining kubelet does."""
    key = keys.generate_private_key("ecdsa")
    body = csr_object(request_pem=pki.kubelet_client_csr(key, node), signer_name=C.KUBE_APISERVER_CLIENT_KUBELET_SIGNER,
                      usages=C.KUBELET_CLIENT_USAGES_ECDSA)
    response = plane.handle(Request.build("POST", CSR_PATH, body=body, bearer=token), DEFAULT_START)
    assert response.status == 201, response.body
    return str(response.body["metadata"]["name"])


@pytest.mark.parametrize(
    "deny, condition, state",
    [
        pytest.param(False, ("Approved", "KubectlApprove", "This CSR was approved by kubectl certificate approve."),
                     "Approved,Issued", id="valid: approve, then the signer issues"),
        pytest.param(True, ("Denied", "KubectlDeny", "This CSR was denied by kubectl certificate deny."), "Denied",
                     id="valid: deny"),
    ],
)
def test_approve_csr_acts_as_kubectl_certificate(deny: bool, condition: tuple[str, str, str], state: str) -> None:
    plane, token = make_with_token(autoapprove=False)
    manager = ControllerManager(plane.store, plane.controllers, plane.handle)
    manager.pump(DEFAULT_START)
    name = submit(plane, token)
    manager.pump(DEFAULT_START)
    pending = plane.store.get("certificatesigningrequests", "", name)
    assert pending is not None and csr_rules.csr_state(pending) == "Pending"
    response = plane.approve_csr(name, DEFAULT_START, deny=deny)
    assert response.status == 200, response.body
    manager.pump(DEFAULT_START)
    obj = plane.store.get("certificatesigningrequests", "", name)
    assert obj is not None and csr_rules.csr_state(obj) == state
    got = obj["status"]["conditions"][0]
    assert (got["type"], got["reason"], got["message"], got["status"]) == (*condition, "True")
    assert got["lastUpdateTime"] == got["lastTransitionTime"] == "2026-01-01T00:00:00Z"


def test_approve_unknown_csr_answers_not_found() -> None:
    plane = make()
    response = plane.approve_csr("csr-nope0", DEFAULT_START)
    assert response.status == 404
    assert response.body["message"] == 'certificatesigningrequests.certificates.k8s.io "csr-nope0" not found'


@pytest.mark.parametrize(
    "profile, groups",
    [
        pytest.param(CURRENT, ("kubeadm:cluster-admins",), id="valid: current admin.conf group"),
        pytest.param(V1_22, ("system:masters",), id="valid: 1.22 admin.conf group"),
    ],
)
def test_admin_subject_is_admin_conf_identity(profile: Profile, groups: tuple[str, ...]) -> None:
    plane = make(profile=profile)
    assert plane.admin_subject() == ClientSubject(common_name="kubernetes-admin", organizations=groups)
    assert subject_of(plane.secrets.admin.cert) == plane.admin_subject()


def test_approval_needs_the_admin_identity() -> None:
    plane, token = make_with_token(autoapprove=False)
    name = submit(plane, token)
    obj = plane.store.get("certificatesigningrequests", "", name)
    assert obj is not None
    obj["status"] = {"conditions": [{"type": "Approved", "status": "True", "reason": "Sneaky", "message": "x"}]}
    stranger = ClientSubject(common_name="system:node:node-9", organizations=("system:nodes",))
    response = plane.handle(Request.build("PUT", f"{CSR_PATH}/{name}/approval", body=obj, client=stranger),
                            DEFAULT_START)
    assert response.status == 403


def test_replace_swaps_one_part_and_keeps_the_rest() -> None:
    plane = make()
    other = make(seed=9)
    swapped = plane.replace(serving=other.serving)
    assert swapped.serving is other.serving and swapped.store is plane.store and plane.serving is not other.serving


# --- upload-certs ---------------------------------------------------------------------------------

def test_upload_certs_key_decrypts_the_shared_files() -> None:
    plane = make(control_plane_endpoint=ENDPOINT)
    key = plane.upload_certs(DEFAULT_START, random.Random(3))
    assert len(key) == 64 and all(ch in "0123456789abcdef" for ch in key)
    secret = plane.store.get("secrets", "kube-system", C.KUBEADM_CERTS_SECRET)
    assert secret is not None
    files = certkey.decode_kubeadm_certs_secret(secret, certkey.decode_certificate_key(key))
    assert files["ca.crt"] == plane.ca.cert_pem and files["ca.key"] == plane.ca.key_pem
    assert set(files) == {"ca.crt", "ca.key", "front-proxy-ca.crt", "front-proxy-ca.key", "sa.pub", "sa.key",
                          "etcd-ca.crt", "etcd-ca.key"}


def test_upload_certs_with_a_given_key_uses_it_and_another_key_fails() -> None:
    plane = make(control_plane_endpoint=ENDPOINT)
    chosen = "ab" * 32
    assert plane.upload_certs(DEFAULT_START, random.Random(3), certificate_key=chosen) == chosen
    secret = plane.store.get("secrets", "kube-system", C.KUBEADM_CERTS_SECRET)
    assert secret is not None
    with pytest.raises(CertificateKeyError, match="cipher: message authentication failed"):
        certkey.decode_kubeadm_certs_secret(secret, certkey.decode_certificate_key("cd" * 32))
