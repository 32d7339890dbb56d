"""Check the node model: Go's failure texts for DROP, REJECT and no route, TLS trust, loss, timing models."""

from __future__ import annotations

import random

import pytest

from sim.engine.apiserver import ApiServerSettings
from sim.engine.latency import Constant
from sim.engine.network import CLIENT_TIMEOUT_AWAITING_HEADERS, CLIENT_TIMEOUT_CONNECTING, FirewallRule, Link, Window
from sim.engine.client import retransmit_delay
from sim.engine.node import NodeModels
from sim.engine.run import JoinSettings, NetworkSettings, UniformArrivals
from sim.protocol.constants import DISCOVERY_TIMEOUT
from tests.engine_support import DISCOVERY_PREFIX, HOST, costs_with, run

REFUSED = f"dial tcp {HOST}:6443: connect: connection refused"


def firewall(action: str, window: Window = Window(), reject_with: str = "tcp-reset") -> NetworkSettings:
    return NetworkSettings(firewall=(FirewallRule(host=HOST, port=6443, action=action, window=window,  # type: ignore[arg-type]
                                                  reject_with=reject_with),))  # type: ignore[arg-type]


def test_drop_on_6443_fails_discovery_after_five_minutes_with_the_client_timeout() -> None:
    result = run(3, network=firewall("DROP"))
    assert result.counts["failed"] == 3
    for node in result.nodes:
        assert node.error == DISCOVERY_PREFIX + CLIENT_TIMEOUT_CONNECTING
        assert node.error.endswith("net/http: request canceled while waiting for connection "
                                   "(Client.Timeout exceeded while awaiting headers)")
        assert node.ended == DISCOVERY_TIMEOUT and node.phase == "preflight"
        # each 10 s attempt times out; the next starts at once (the 5 s tick has passed): 30 attempts
        assert sum(1 for _, mark in node.marks if mark == "discovery-attempt") == 30


def test_reject_on_6443_fails_the_same_way_with_connection_refused() -> None:
    result = run(2, network=firewall("REJECT"))
    for node in result.nodes:
        assert node.error == DISCOVERY_PREFIX + REFUSED
        assert node.ended == DISCOVERY_TIMEOUT
        # refused a round trip later, so kubeadm tries on every 5 s tick: at 0, 5, ..., 295
        assert sum(1 for _, mark in node.marks if mark == "discovery-attempt") == 60


@pytest.mark.parametrize(
    "reject_with, inner",
    [
        pytest.param("icmp-port-unreachable", "connect: connection refused", id="valid: iptables' default REJECT"),
        pytest.param("icmp-host-prohibited", "connect: no route to host", id="valid: firewalld's REJECT"),
    ],
)
def test_an_icmp_reject_reads_as_go_reports_it(reject_with: str, inner: str) -> None:
    node = run(1, network=firewall("REJECT", reject_with=reject_with)).nodes[0]
    assert node.error == DISCOVERY_PREFIX + f"dial tcp {HOST}:6443: {inner}"
    assert sum(1 for _, mark in node.marks if mark == "discovery-attempt") == 60  # answered, so every 5 s tick


def test_an_unknown_reject_with_is_refused() -> None:
    with pytest.raises(ValueError, match="reject_with must be one of tcp-reset, icmp-port-unreachable, "
                                         "icmp-host-prohibited, got 'icmp-net-prohibited'"):
        FirewallRule(host=HOST, action="REJECT", reject_with="icmp-net-prohibited")  # type: ignore[arg-type]


def test_a_drop_window_shorter_than_the_timeout_lets_nodes_join_late() -> None:
    result = run(5, arrival=UniformArrivals(window=20.0), network=firewall("DROP", Window(0.0, 90.0)))
    assert result.counts["joined"] == 5
    for node in result.nodes:
        joined = node.milestone("joined")
        assert joined is not None and 90.0 < joined < DISCOVERY_TIMEOUT
        assert node.milestone("discovered") is not None and node.milestone("discovered") >= 90.0  # type: ignore[operator]


@pytest.mark.parametrize(
    "endpoint, inner",
    [
        pytest.param("10.9.9.9:6443", "dial tcp 10.9.9.9:6443: connect: no route to host", id="invalid: unknown host"),
        pytest.param(f"{HOST}:443", f"dial tcp {HOST}:443: connect: connection refused", id="invalid: closed port"),
    ],
)
def test_a_wrong_endpoint_fails_with_gos_dial_error(endpoint: str, inner: str) -> None:
    result = run(1, join=JoinSettings(endpoint=endpoint, discovery_timeout=20.0))
    url = f"https://{endpoint}/api/v1/namespaces/kube-public/configmaps/cluster-info?timeout=10s"
    assert result.nodes[0].error == ("error execution phase preflight: couldn't validate the identity of the API "
                                     f'Server: failed to request the cluster-info ConfigMap: Get "{url}": {inner}')


def test_a_slow_server_fails_the_client_while_awaiting_headers() -> None:
    # Enough cores that each new connection's TLS handshake finds one free while earlier GETs still run.
    result = run(1, costs=costs_with(requests={"get configmaps": 30e6}), apiserver=ApiServerSettings(cores=8),
                 join=JoinSettings(discovery_timeout=25.0))
    assert result.nodes[0].error == DISCOVERY_PREFIX + CLIENT_TIMEOUT_AWAITING_HEADERS


def test_a_cpu_starved_server_cannot_even_finish_the_tls_handshake() -> None:
    # Two cores busy with 30 s GETs: the third attempt's handshake waits for a core past the client's timeout.
    result = run(1, costs=costs_with(requests={"get configmaps": 30e6}), join=JoinSettings(discovery_timeout=25.0))
    assert result.nodes[0].error == DISCOVERY_PREFIX + CLIENT_TIMEOUT_CONNECTING


def test_a_pinned_node_with_a_wrong_pin_trusts_nothing() -> None:
    wrong = "sha256:" + "ab" * 32
    node = run(1, join=JoinSettings(ca_cert_hashes=(wrong,))).nodes[0]
    assert not node.joined and node.trusted_ca_pin == ""
    assert node.error.startswith("error execution phase preflight: couldn't validate the identity of the API "
                                 "Server: cluster CA found in cluster-info ConfigMap is invalid: ")


def test_pinned_and_unsafe_nodes_both_end_up_trusting_the_cluster_ca() -> None:
    for pinned in (True, False):
        result = run(2, join=JoinSettings(pinned=pinned))
        assert result.counts["joined"] == 2
        for node in result.nodes:
            assert node.trusted_ca_pin == result.ca_pin and node.pinned is pinned
            assert node.csr_server == "control-plane" and node.csr_name.startswith("csr-")
            assert (node.milestone("pin-verified") is not None) is pinned


def test_a_lossy_link_delays_joins_but_does_not_break_them() -> None:
    clean = run(10, arrival=UniformArrivals(window=5.0))
    lossy = run(10, arrival=UniformArrivals(window=5.0),
                network=NetworkSettings(default_link=Link(latency=Constant(0.001), loss=0.2)))
    assert lossy.counts["joined"] == 10
    spent = [n.ended - n.started for n in lossy.nodes]  # type: ignore[operator]
    assert max(spent) > max(n.ended - n.started for n in clean.nodes)  # type: ignore[operator]


def test_retransmissions_cost_nothing_on_a_clean_link_and_draw_nothing() -> None:
    rng = random.Random(1)
    assert retransmit_delay(Link(), rng) == 0.0
    assert rng.random() == random.Random(1).random()
    delays = [retransmit_delay(Link(loss=0.5), random.Random(seed)) for seed in range(50)]
    assert {0.0, 0.2, 0.6} <= set(round(d, 6) for d in delays)  # RTO 200 ms, doubling


def test_kubelet_start_and_cni_delays_are_models_the_node_waits_for() -> None:
    node = run(1, models=NodeModels(kubelet_start_delay=3.0, cni_ready_delay=7.0)).nodes[0]
    started, healthy = node.milestone("phase:kubelet-start"), node.milestone("kubelet-healthy")
    registered, ready = node.milestone("node-registered"), node.milestone("node-ready")
    assert started is not None and healthy is not None and registered is not None and ready is not None
    assert healthy - started == pytest.approx(3.0, abs=0.01)
    assert ready - registered == pytest.approx(7.0, abs=0.01)
    assert node.ended == pytest.approx(ready, abs=0.01)  # the node is done once Ready


@pytest.mark.parametrize(
    "skew, joined",
    [
        pytest.param(3600.0, True, id="valid: an hour ahead (certificates are valid for a year)"),
        pytest.param(-240.0, True, id="valid: four minutes behind (within kubeadm's 5 min backdating)"),
        pytest.param(-3600.0, False, id="invalid: an hour behind sees the server certificate as not yet valid"),
    ],
)
def test_a_node_judges_the_servers_certificate_by_its_own_clock(skew: float, joined: bool) -> None:
    node = run(1, models=NodeModels(clock_skew=skew)).nodes[0]
    assert node.joined == joined
    if not joined:
        assert node.error.startswith(DISCOVERY_PREFIX + "tls: failed to verify certificate: x509: certificate has "
                                     "expired or is not yet valid: current time 2025-12-31T23:")
        assert node.ended == pytest.approx(DISCOVERY_TIMEOUT, abs=0.01)
