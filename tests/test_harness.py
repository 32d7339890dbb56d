"""Check the in-process driver: its modelled TLS checks, the virtual clock, scheduling and determinism."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest

from sim.control import kubeadm_token
from sim.control.plane import ControlPlane
from sim.harness import DEFAULT_START, Harness
from sim.machine import Machine
from sim.protocol import commands as cmd
from sim.protocol import constants as C
from sim.protocol import kubeconfig, pins, pki
from sim.protocol.http import Request, Response
from sim.protocol.joinconfig import JoinConfiguration
from sim.protocol.tokens import BootstrapToken

ENDPOINT = "10.0.0.1:6443"
CLUSTER_INFO = "/api/v1/namespaces/kube-public/configmaps/cluster-info"
NODES = "/api/v1/nodes"
UNKNOWN_AUTHORITY = "tls: failed to verify certificate: x509: certificate signed by unknown authority"


def cluster(seed: int = 1, **options: Any) -> tuple[ControlPlane, BootstrapToken, Harness]:
    rng = random.Random(seed)
    harness_options = {k: options.pop(k) for k in ("start", "kubelet_start_delay", "echo") if k in options}
    plane, token, _ = ControlPlane.bootstrap(now=DEFAULT_START, rng=rng, endpoint=ENDPOINT, ca_key_type="ecdsa",
                                             **options)
    return plane, token, Harness(plane, rng=rng, **harness_options)


def worker(plane: ControlPlane, token: str, name: str = "node-1", **overrides: Any) -> JoinConfiguration:
    settings: dict[str, Any] = dict(node_name=name, api_server_endpoint=ENDPOINT, token=token,
                                    ca_cert_hashes=(pins.certificate_pin(plane.ca.cert),))
    settings.update(overrides)
    return JoinConfiguration(**settings)


OTHER_CA = pki.create_ca(now=DEFAULT_START, rng=random.Random(99), key_type="ecdsa", common_name="other-ca")


def get(harness: Harness, path: str, tls: cmd.TlsConfig, endpoint: str = ENDPOINT) -> Response | cmd.TransportFailure:
    """Send one request through the harness's modelled TLS layer (as an HttpRequest command would)."""
    node = harness.nodes.get("probe") or harness.add_node("probe")
    return harness._http(node, endpoint, Request.build("GET", path), tls)


# --- server verification ------------------------------------------------------------------------

@pytest.mark.parametrize(
    "tls, endpoint, expected",
    [
        pytest.param("cluster-ca", ENDPOINT, 200, id="valid: the cluster CA"),
        pytest.param("insecure", ENDPOINT, 200, id="valid: insecure skips server verification"),
        pytest.param("other-ca", ENDPOINT, UNKNOWN_AUTHORITY, id="invalid: another CA"),
        pytest.param("no-ca", ENDPOINT, UNKNOWN_AUTHORITY, id="invalid: no CA and not insecure"),
        pytest.param("garbage-ca", ENDPOINT, UNKNOWN_AUTHORITY, id="invalid: CA data that is no certificate"),
        pytest.param("cluster-ca", "10.0.0.9:6443", "dial tcp 10.0.0.9:6443: connect: connection refused",
                     id="invalid: wrong endpoint"),
        pytest.param("insecure", "10.0.0.1:443", "dial tcp 10.0.0.1:443: connect: connection refused",
                     id="invalid: wrong port, even insecure"),
    ],
)
def test_tls_layer_verifies_the_server_against_the_trusted_ca(tls: str, endpoint: str, expected: int | str) -> None:
    plane, _, harness = cluster()
    config = {
        "cluster-ca": cmd.TlsConfig(ca_pem=plane.ca.cert_pem),
        "insecure": cmd.TlsConfig(insecure=True),
        "other-ca": cmd.TlsConfig(ca_pem=OTHER_CA.cert_pem),
        "no-ca": cmd.TlsConfig(),
        "garbage-ca": cmd.TlsConfig(ca_pem=b"not a pem"),
    }[tls]
    result = get(harness, CLUSTER_INFO, config, endpoint)
    if isinstance(expected, int):
        assert isinstance(result, Response) and result.status == expected and result.server == plane.name
    else:
        assert result == cmd.TransportFailure(message=expected)


def test_same_named_ca_of_another_cluster_gets_gos_hint() -> None:
    plane, _, harness = cluster()
    twin = pki.create_ca(now=DEFAULT_START, rng=random.Random(7), key_type="ecdsa")
    result = get(harness, CLUSTER_INFO, cmd.TlsConfig(ca_pem=twin.cert_pem))
    assert isinstance(result, cmd.TransportFailure)
    assert result.message == (UNKNOWN_AUTHORITY + ' (possibly because of "x509: ECDSA verification failure" while '
                              'trying to verify candidate authority certificate "kubernetes")')


def test_serving_certificate_without_the_endpoint_host_fails_hostname_verification() -> None:
    plane, _, _ = cluster()
    narrow = pki.create_serving_cert(plane.ca, common_name="kube-apiserver", dns_names=["kubernetes"],
                                     ip_addresses=["127.0.0.1"], now=DEFAULT_START, rng=random.Random(2),
                                     key_type="ecdsa")
    harness = Harness(plane.replace(serving=narrow), rng=random.Random(3))
    result = get(harness, CLUSTER_INFO, cmd.TlsConfig(ca_pem=plane.ca.cert_pem))
    assert result == cmd.TransportFailure(
        message="tls: failed to verify certificate: x509: certificate is valid for 127.0.0.1, not 10.0.0.1")


def test_expired_serving_certificate_is_rejected_on_the_harness_clock() -> None:
    plane, _, _ = cluster()
    harness = Harness(plane, rng=random.Random(3), start=DEFAULT_START + timedelta(days=400))
    result = get(harness, CLUSTER_INFO, cmd.TlsConfig(ca_pem=plane.ca.cert_pem))
    assert isinstance(result, cmd.TransportFailure)
    assert result.message.startswith("tls: failed to verify certificate: x509: certificate has expired or is not "
                                     "yet valid: current time 2027-02-05T00:00:00Z is after ")


def test_join_trusting_another_ca_fails_discovery_with_the_tls_text() -> None:
    plane, token, harness = cluster()
    harness.add_node("node-1").files["/root/discovery.conf"] = kubeconfig.cluster_info_kubeconfig(
        f"https://{ENDPOINT}", OTHER_CA.cert_pem).encode()
    node = harness.join(JoinConfiguration(node_name="node-1", discovery_file="/root/discovery.conf",
                                          tls_bootstrap_token=token.token, discovery_timeout=10.0))
    harness.run()
    assert node.outcome is not None and node.outcome.error.endswith(
        f'Get "https://{ENDPOINT}{CLUSTER_INFO}?timeout=10s": {UNKNOWN_AUTHORITY}')


def test_join_to_a_wrong_endpoint_gets_connection_refused() -> None:
    plane, token, harness = cluster()
    node = harness.join(worker(plane, token.token, api_server_endpoint="10.0.0.9:6443", discovery_timeout=10.0))
    harness.run()
    assert node.outcome is not None and node.outcome.error.endswith(
        f'Get "https://10.0.0.9:6443{CLUSTER_INFO}?timeout=10s": dial tcp 10.0.0.9:6443: connect: connection refused')
    assert harness.requests == []


# --- client certificates ------------------------------------------------------------------------

def client_tls(plane: ControlPlane, issuer: pki.CertKey) -> cmd.TlsConfig:
    cert = pki.create_client_cert(issuer, common_name="kubernetes-admin", organizations=("kubeadm:cluster-admins",),
                                  now=DEFAULT_START, rng=random.Random(5), key_type="ecdsa")
    return cmd.TlsConfig(ca_pem=plane.ca.cert_pem, client_cert_pem=cert.cert_pem, client_key_pem=cert.key_pem)


def test_client_certificate_from_the_cluster_ca_is_authenticated() -> None:
    plane, _, harness = cluster()
    result = get(harness, NODES, client_tls(plane, plane.ca))
    assert isinstance(result, Response) and result.status == 200


def test_client_certificate_from_another_ca_is_not_authenticated() -> None:
    plane, _, harness = cluster()
    result = get(harness, NODES, client_tls(plane, OTHER_CA))
    assert isinstance(result, Response) and result.status == 401
    assert "kubernetes-admin" not in result.body["message"]


def test_client_certificate_from_another_ca_gets_401_even_on_a_public_path() -> None:
    plane, _, harness = cluster()
    result = get(harness, CLUSTER_INFO, client_tls(plane, OTHER_CA))
    assert isinstance(result, Response) and result.status == 401


# --- the clock and scheduling -------------------------------------------------------------------

def test_run_until_advances_the_clock_and_stops_before_later_events() -> None:
    plane, token, harness = cluster(autoapprove=False)
    node = harness.join(worker(plane, token.token), at=5.0)
    harness.run(until=3.0)
    assert harness.t == 3.0 and harness.now == DEFAULT_START + timedelta(seconds=3)
    assert node.marks == [] and harness.requests == []
    harness.run(until=10.0)
    assert harness.t == 10.0 and node.milestone("phase") == 5.0 and node.outcome is None
    harness.run()
    assert node.outcome is not None and node.outcome.error.endswith("context deadline exceeded")


def test_run_without_until_stops_when_every_join_has_finished() -> None:
    plane, token, harness = cluster()
    node = harness.join(worker(plane, token.token), at=2.0)
    harness.run()
    finished = node.milestone("joined")
    assert finished is not None and harness.t == finished
    assert harness.t < 60.0  # periodic controller resyncs do not keep the run going


def test_run_with_no_joins_and_no_until_does_nothing() -> None:
    _, _, harness = cluster()
    harness.run()
    assert harness.t == 0.0


def test_call_later_runs_at_its_virtual_time_and_lets_controllers_react() -> None:
    plane, _, harness = cluster()
    late = BootstrapToken(token_id="late00", token_secret="0123456789abcdef")
    seen: list[float] = []

    def add_token() -> None:
        seen.append(harness.t)
        kubeadm_token.create_token(plane.store, harness.now, late)

    harness.call_later(30.0, add_token)
    harness.run(until=29.0)
    info = plane.store.get("configmaps", "kube-public", "cluster-info")
    assert seen == [] and info is not None and "jws-kubeconfig-late00" not in info["data"]
    harness.run(until=31.0)
    info = plane.store.get("configmaps", "kube-public", "cluster-info")
    assert seen == [30.0] and info is not None and "jws-kubeconfig-late00" in info["data"]


def test_call_later_actions_run_in_time_then_insertion_order() -> None:
    _, _, harness = cluster()
    order: list[tuple[float, str]] = []
    harness.call_later(5.0, lambda: order.append((harness.t, "b")))
    harness.call_later(1.0, lambda: order.append((harness.t, "a")))
    harness.call_later(5.0, lambda: order.append((harness.t, "c")))
    harness.run(until=10.0)
    assert order == [(1.0, "a"), (5.0, "b"), (5.0, "c")]


def test_requests_record_time_node_method_path_and_status() -> None:
    plane, token, harness = cluster()
    harness.join(worker(plane, token.token), at=1.0)
    harness.run()
    first = harness.requests[0]
    assert first == (1.0, "node-1", "GET", CLUSTER_INFO, 200)
    posts = [r for r in harness.requests if r[2] == "POST"]
    assert [r[3] for r in posts] == ["/apis/certificates.k8s.io/v1/certificatesigningrequests", "/api/v1/nodes"]
    assert all(r[4] == 201 for r in posts)


def test_node_clock_skew_shows_in_what_the_node_writes() -> None:
    plane, token, harness = cluster()
    harness.add_node("node-1", skew=3600.0)
    node = harness.join(worker(plane, token.token))
    harness.run()
    assert node.outcome is not None and node.outcome.joined
    stamped = [p for p in node.files if p.startswith(f"{C.KUBELET_PKI_DIR}/kubelet-client-2")]
    assert stamped == [f"{C.KUBELET_PKI_DIR}/kubelet-client-2026-01-01-01-00-00.pem"]


@pytest.fixture(scope="module")
def pinned_join() -> Machine:
    """Return the machine of one pinned worker join, run to the end."""
    plane, token, harness = cluster()
    node = harness.join(worker(plane, token.token))
    harness.run()
    return node


# kubeadm prints its phase lines plainly (always shown) and discovery's progress with klog.V(1), shown from -v=1
# (cmd/kubeadm/app/discovery/token/token.go): the level of each line a pinned worker join prints.
@pytest.mark.parametrize(("start", "verbosity"), [
    pytest.param("[preflight] Running pre-flight checks", 0, id="valid: preflight's first line is plain output"),
    pytest.param("[discovery] Created cluster-info discovery client, requesting info from ", 1,
                 id="valid: discovery's client is V(1)"),
    pytest.param("[discovery] Waiting for the cluster-info ConfigMap to receive a JWS signature for token ID ", 1,
                 id="valid: the wait for a JWS signature is V(1)"),
    pytest.param("[discovery] Requesting info from ", 1, id="valid: the pinned second fetch is V(1)"),
    pytest.param("[discovery] Cluster info signature and contents are valid and TLS certificate validates", 1,
                 id="valid: discovery's verdict is V(1)"),
    pytest.param("[preflight] Reading configuration from the ", 0, id="valid: reading kubeadm-config is plain output"),
    pytest.param("[kubelet-start] Starting the kubelet", 0, id="valid: kubelet-start is plain output"),
    pytest.param("\nThis node has joined the cluster:", 0, id="valid: the success text is plain output"),
])
def test_a_join_logs_kubeadms_verbosity_levels(pinned_join: Machine, start: str, verbosity: int) -> None:
    levels = {line.verbosity for line in pinned_join.logs if line.text.startswith(start)}
    assert levels == {verbosity}


def test_every_discovery_line_of_a_clean_join_is_v1(pinned_join: Machine) -> None:
    discovery = [line for line in pinned_join.logs if line.text.startswith("[discovery]")]
    assert discovery and {line.verbosity for line in discovery} == {1}
    assert {line.verbosity for line in pinned_join.logs} == {0, 1}


def test_echo_receives_verbosity_0_lines_only() -> None:
    lines: list[tuple[str, str]] = []
    plane, token, harness = cluster(echo=lambda node, text: lines.append((node, text)))
    node = harness.join(worker(plane, token.token))
    harness.run()
    assert lines[0] == ("node-1", "[preflight] Running pre-flight checks")
    assert all(name == "node-1" for name, _ in lines)
    echoed = [text for _, text in lines]
    logged = [line.text for line in node.logs]
    waiting = '[discovery] Waiting for the cluster-info ConfigMap to receive a JWS signature for token ID "'
    assert any(text.startswith(waiting) for text in logged)  # a V(1) line: logged, not echoed
    assert not any(text.startswith(waiting) for text in echoed)
    assert echoed == [line.text for line in node.logs if line.verbosity == 0]  # the V(0) lines, in order
    assert "[kubelet-start] Starting the kubelet" in echoed and len(echoed) < len(logged)


# --- determinism -------------------------------------------------------------------------------

def run_once(seed: int) -> tuple[Any, ...]:
    plane, token, harness = cluster(seed)
    nodes = [harness.join(worker(plane, token.token, f"node-{i}"), at=0.5 * i) for i in range(3)]
    harness.run()
    return (plane.ca.cert_pem, tuple(harness.requests), tuple(tuple(n.marks) for n in nodes),
            tuple(n.files[C.KUBELET_CLIENT_CURRENT_PATH] for n in nodes), tuple(n.outcome for n in nodes))


def test_same_seed_same_run_and_another_seed_another_run() -> None:
    first, again, other = run_once(11), run_once(11), run_once(12)
    assert first == again
    assert first[0] != other[0] and first[3] != other[3]
    assert all(outcome.joined for outcome in first[4])
