"""Check the tracing harness: it records who called what with which credential, and changes nothing."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from sim.control.plane import ControlPlane
from sim.harness import DEFAULT_START
from sim.protocol import commands as cmd
from sim.protocol import constants as C
from sim.protocol import modeled, pki
from sim.protocol.http import Request
from sim.teach.trace import Call, Step, TracingHarness, credential_of, short_path
from tests.teach_support import ENDPOINT, Joined, joined

CLUSTER_INFO = "/api/v1/namespaces/kube-public/configmaps/cluster-info"
CSRS = "/apis/certificates.k8s.io/v1/certificatesigningrequests"


@pytest.fixture(scope="module")
def run() -> Joined:
    return joined()


def test_tracing_changes_nothing_about_the_run() -> None:
    plain, traced = joined(traced=False), joined(traced=True)
    assert traced.harness.requests == plain.harness.requests
    assert traced.node.marks == plain.node.marks
    assert traced.node.files[C.KUBELET_CLIENT_CURRENT_PATH] == plain.node.files[C.KUBELET_CLIENT_CURRENT_PATH]


def test_node_calls_name_the_program_and_the_credential(run: Joined) -> None:
    assert isinstance(run.harness, TracingHarness)
    node_calls = [c for c in run.harness.calls() if c.node == "node-1" and c.method != "WATCH"]
    assert len(node_calls) == len(run.harness.requests)
    first, second = node_calls[0], node_calls[1]
    assert (first.sender, first.path, first.credential, first.tls_verified, first.status) == (
        "kubeadm", CLUSTER_INFO, "anonymous", False, 200)
    assert (second.path, second.tls_verified) == (CLUSTER_INFO, True)
    post = next(c for c in node_calls if c.method == "POST" and c.path == CSRS)
    assert (post.sender, post.credential, post.status) == ("kubelet", f"token {run.token.token_id}", 201)
    register = next(c for c in node_calls if c.method == "POST" and c.path == "/api/v1/nodes")
    assert (register.sender, register.credential) == ("kubelet", "cert system:node:node-1")


def test_a_modeled_join_names_the_kubelets_certificate() -> None:
    run = joined(crypto="modeled")
    assert isinstance(run.harness, TracingHarness) and run.node.outcome is not None and run.node.outcome.joined
    assert modeled.is_modeled(run.node.files[C.KUBELET_CLIENT_CURRENT_PATH])
    register = next(c for c in run.harness.calls() if c.method == "POST" and c.path == "/api/v1/nodes")
    assert (register.sender, register.credential, register.status) == ("kubelet", "cert system:node:node-1", 201)


def test_controller_calls_are_attributed_to_each_controller(run: Joined) -> None:
    assert isinstance(run.harness, TracingHarness)
    senders = {c.sender for c in run.harness.calls() if not c.node}
    assert {"bootstrapsigner", "csrapproving", "csrsigning-kubelet-client"} <= senders
    approval = next(c for c in run.harness.calls(senders=["csrapproving"]) if c.path.endswith("/approval"))
    assert (approval.method, approval.status, approval.credential) == (
        "PUT", 200, "cert system:kube-controller-manager")


def test_local_steps_and_the_watch_are_recorded_in_order(run: Joined) -> None:
    assert isinstance(run.harness, TracingHarness)
    kubelet = [e for e in run.harness.events if e.sender == "kubelet"]
    texts = [e.text if isinstance(e, Step) else f"{e.method} {e.path}" for e in kubelet]
    key, csr, post = (texts.index("generate ecdsa private key"),
                      texts.index("build CSR CN=system:node:node-1, O=system:nodes"), texts.index(f"POST {CSRS}"))
    assert key < csr < post
    watch = next(e for e in kubelet if isinstance(e, Call) and e.method == "WATCH")
    assert watch.status is None and watch.error == ""
    assert any(isinstance(e, Step) and e.kind == "write" and e.text == f"write {C.BOOTSTRAP_KUBELET_CONF_PATH}"
               for e in run.harness.events)


def test_calls_filters_by_time_and_sender(run: Joined) -> None:
    assert isinstance(run.harness, TracingHarness)
    late = run.harness.calls(since=0.5)
    assert late and all(c.t >= 0.5 for c in late)
    assert {c.sender for c in run.harness.calls(senders=["kubelet"])} == {"kubelet"}


@pytest.mark.parametrize(
    "who, expected",
    [
        pytest.param("admin", 200, id="valid: admin.conf's certificate lists secrets"),
        pytest.param("token", 403, id="invalid: a bootstrap token may not list secrets"),
        pytest.param("anonymous", 403, id="invalid: anonymous may not list secrets"),
        pytest.param("bad-token", 401, id="invalid: an unknown token is unauthorized"),
    ],
)
def test_send_acts_as_an_outsider_through_the_tls_model(who: str, expected: int) -> None:
    rng = random.Random(3)
    plane, token, _ = ControlPlane.bootstrap(now=DEFAULT_START, rng=rng, endpoint=ENDPOINT, ca_key_type="ecdsa")
    harness = TracingHarness(plane, rng=rng)
    options = {"admin": {"client": plane.secrets.admin}, "token": {"token": token.token}, "anonymous": {},
               "bad-token": {"token": "zzzzzz.0123456789abcdef"}}[who]
    response = harness.send("someone", "GET", "/api/v1/namespaces/kube-system/secrets", **options)  # type: ignore[arg-type]
    assert response.status == expected
    last = harness.calls(senders=["someone"])[-1]
    assert (last.status, last.node, last.tls_verified) == (expected, "", True)


def test_send_with_an_expired_serving_certificate_raises_the_tls_error() -> None:
    rng = random.Random(3)
    plane, _, _ = ControlPlane.bootstrap(now=DEFAULT_START, rng=rng, endpoint=ENDPOINT, ca_key_type="ecdsa")
    harness = TracingHarness(plane, rng=rng, start=DEFAULT_START + timedelta(days=400))
    with pytest.raises(ConnectionError, match="certificate has expired"):
        harness.send("someone", "GET", CLUSTER_INFO)
    assert harness.calls(senders=["someone"])[0].error.startswith("tls: failed to verify certificate")
    assert harness.send("someone", "GET", CLUSTER_INFO, verify=False).status == 200


OTHER = pki.create_ca(now=DEFAULT_START, rng=random.Random(5), key_type="ecdsa", common_name="someone")


def modeled_cert(common_name: str) -> bytes:
    """Return a modeled client certificate for ``common_name``, issued by ``OTHER``."""
    key = modeled.generate_key(random.Random(6))
    request = modeled.parse_request(modeled.create_request(key, common_name=common_name))
    return modeled.issue(OTHER.cert, OTHER.key, request, serial=1, not_before=DEFAULT_START,
                         not_after=DEFAULT_START + timedelta(days=1), key_usages=(), ext_key_usages=()).pem()


@pytest.mark.parametrize(
    "request_, tls, expected",
    [
        pytest.param(Request.build("GET", "/"), cmd.TlsConfig(), "anonymous", id="valid: no credential"),
        pytest.param(Request.build("GET", "/", bearer="abcdef.0123456789abcdef"), cmd.TlsConfig(), "token abcdef",
                     id="valid: a bootstrap token shows its id only"),
        pytest.param(Request.build("GET", "/"), cmd.TlsConfig(client_cert_pem=OTHER.cert_pem), "cert someone",
                     id="valid: a client certificate shows its CN"),
        pytest.param(Request.build("GET", "/", bearer="not-a-token"), cmd.TlsConfig(), "token (malformed)",
                     id="invalid: a malformed bearer token"),
        pytest.param(Request.build("GET", "/"), cmd.TlsConfig(client_cert_pem=modeled_cert("system:node:m")),
                     "cert system:node:m", id="valid: a modeled client certificate shows its CN"),
        pytest.param(Request.build("GET", "/"), cmd.TlsConfig(client_cert_pem=modeled_cert("")), "cert (no CN)",
                     id="valid: a modeled client certificate without a CN"),
        pytest.param(Request.build("GET", "/"), cmd.TlsConfig(client_cert_pem=b"junk"), "cert (unreadable)",
                     id="invalid: an unreadable client certificate"),
        pytest.param(Request.build("GET", "/"),
                     cmd.TlsConfig(client_cert_pem=b"-----BEGIN MODELED CERTIFICATE-----\nxx\n"),
                     "cert (unreadable)", id="invalid: an unreadable modeled client certificate"),
    ],
)
def test_credential_of(request_: Request, tls: cmd.TlsConfig, expected: str) -> None:
    assert credential_of(request_, tls) == expected


@pytest.mark.parametrize(
    "path, expected",
    [
        pytest.param(CLUSTER_INFO, "kube-public/configmaps/cluster-info", id="valid: namespaced core object"),
        pytest.param("/api/v1/nodes/node-1/status", "nodes/node-1/status", id="valid: cluster-scoped subresource"),
        pytest.param(CSRS + "/csr-1/approval", "certificatesigningrequests/csr-1/approval",
                     id="valid: a group's resource"),
        pytest.param("/healthz", "healthz", id="valid: a non-resource path"),
        pytest.param("/", "/", id="invalid: the root path stays as it is"),
    ],
)
def test_short_path(path: str, expected: str) -> None:
    assert short_path(path) == expected
