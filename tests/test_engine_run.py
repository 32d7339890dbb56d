"""Check ``simulate``: configuration, arrivals, the happy path's results, a token expiring mid-storm."""

from __future__ import annotations

import dataclasses
import random
import statistics

import pytest

from sim.engine.node import NodeModels
from sim.engine.run import (
    AllAtOnce, ClusterSettings, EngineConfig, NodeGroup, PoissonArrivals, UniformArrivals, arrival_times, simulate,
)
from sim.engine.network import FirewallRule
from sim.engine.run import NetworkSettings
from tests.engine_support import HOST, config, run

MILESTONES = ["phase:preflight", "discovery-attempt", "jws-verified", "pin-verified", "discovery-attempt",
              "second-fetch", "discovered", "phase:kubelet-start", "kubelet-healthy", "csr-created", "csr-issued",
              "certificate-stored", "node-registered", "node-ready", "kubelet-conf-loaded", "joined"]


def test_arrivals() -> None:
    rng = random.Random(3)
    assert arrival_times(AllAtOnce(at=4.0), 3, rng) == [4.0, 4.0, 4.0]
    uniform = arrival_times(UniformArrivals(start=10.0, window=5.0), 200, rng)
    assert all(10.0 <= t < 15.0 for t in uniform) and max(uniform) - min(uniform) > 4.5
    poisson = arrival_times(PoissonArrivals(rate=4.0, start=1.0), 2000, rng)
    gaps = [b - a for a, b in zip([1.0, *poisson], poisson)]
    assert all(g > 0 for g in gaps) and statistics.mean(gaps) == pytest.approx(0.25, rel=0.1)
    assert arrival_times(UniformArrivals(window=1.0), 0, rng) == []


@pytest.mark.parametrize(
    "changes, message",
    [
        pytest.param(dict(groups=(NodeGroup(name="a", count=1), NodeGroup(name="a", count=2))), "unique",
                     id="invalid: duplicate group names"),
        pytest.param(dict(groups=(NodeGroup(name="a", count=-1),)), "negative", id="invalid: negative count"),
        pytest.param(dict(groups=(NodeGroup(name="control-plane", count=1),)), "control plane",
                     id="invalid: a group named like the control plane's"),
    ],
)
def test_invalid_configurations_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        EngineConfig(**changes)  # type: ignore[arg-type]


def test_happy_path_reports_every_node_as_plain_data() -> None:
    seen: list[tuple[int, int]] = []
    result = simulate(config(20, arrival=UniformArrivals(window=10.0)), progress=lambda done, total: seen.append(
        (done, total)))
    assert result.counts == {**result.counts, "nodes": 20, "joined": 20, "failed": 0, "unfinished": 0}
    assert seen[-1] == (20, 20) and len(seen) == 20
    for node in result.nodes:
        assert [mark for _, mark in node.marks] == MILESTONES
        times = [t for t, _ in node.marks]
        assert times == sorted(times) and node.started == times[0]
        assert node.ended == max(times)  # done once joined and Ready, whichever comes last
        assert node.trusted_ca_pin == result.ca_pin and node.error == "" and node.group == "w"
    assert result.node("w-3").name == "w-3"
    series = result.servers[0].series
    assert list(series.times) == sorted(series.times) and series.times[-1] == result.sim_time
    assert series.column("csrs/issued")[-1] == 20 and series.column("csrs/pending")[-1] == 0
    assert sum(series.per_interval("csrs/approved")) == 20
    assert result.servers[0].requests == sum(result.counts[f"api-calls/{name}"] for name in (
        "csrapproving", "csrsigning-kubelet-client")) + 20 * 11
    # each node: cluster-info twice, kubeadm-config, kube-proxy, kubelet-config, GET Node, POST CSR,
    # the CSR watch's GET, POST Node, PATCH Node status (Ready), PATCH Node (CRI socket annotation)
    assert dataclasses.is_dataclass(result) and result.wall_time > 0


def test_no_nodes_is_an_empty_run() -> None:
    result = simulate(EngineConfig(cluster=ClusterSettings(ca_key_type="ecdsa")))
    assert result.nodes == () and result.sim_time == 0.0


def test_until_stops_a_run_with_nodes_still_busy() -> None:
    rules = NetworkSettings(firewall=(FirewallRule(host=HOST, port=6443, action="DROP"),))
    result = run(2, network=rules, until=100.0)
    assert result.counts["unfinished"] == 2 and result.sim_time == 100.0
    assert not result.nodes[0].finished and result.nodes[0].error == ""


def test_a_token_that_expires_mid_storm() -> None:
    # The token lives 60 s; nodes arrive over 120 s; a slow kubelet (30 s to start) creates its CSR well after
    # its node finished discovery, so nodes that discovered in the last ~30 s before expiry post the CSR late.
    result = run(120, cluster=ClusterSettings(ca_key_type="ecdsa", token_ttl=60.0),
                 arrival=UniformArrivals(window=120.0), models=NodeModels(kubelet_start_delay=30.0), keep_logs=True)
    expiry = 60.0
    joined = [n for n in result.nodes if n.joined]
    late_csr = [n for n in result.nodes if n.phase == "kubelet-start"]
    no_discovery = [n for n in result.nodes if n.phase == "preflight"]
    assert joined and late_csr and no_discovery
    assert len(joined) + len(late_csr) + len(no_discovery) == 120
    unauthorized = ("kubernetes.io/kube-apiserver-client-kubelet: Failed while requesting a signed certificate from "
                    "the control plane: cannot create certificate signing request: Unauthorized")
    for node in late_csr:
        discovered = node.milestone("discovered")
        # (the bootstrapsigner drops the token's JWS an informer delay after the tokencleaner deletes it)
        assert discovered is not None and discovered < expiry + 1.0
        assert node.milestone("csr-created") is None
        assert any(line.text == unauthorized for line in node.logs if line.stream == "kubelet")
        assert node.error == "error execution phase kubelet-start: context deadline exceeded"
    token_id = no_discovery[0].error.rsplit('"', 2)[1]
    for node in no_discovery:
        assert node.started is not None and node.started >= expiry - 1.0
        assert node.error == ("error execution phase preflight: couldn't validate the identity of the API Server: "
                              f'could not find a JWS signature in the cluster-info ConfigMap for token ID "{token_id}"')
    for node in joined:
        created = node.milestone("csr-created")
        assert created is not None and created < expiry + 10.0  # the authenticator caches a token for 10 s


@pytest.mark.parametrize(("start", "verbosity"), [
    pytest.param("[preflight] Running pre-flight checks", 0, id="valid: a phase line prints by default"),
    pytest.param("[discovery] Created cluster-info discovery client", 1, id="valid: a discovery detail is V(1)"),
    pytest.param("\nThis node has joined the cluster:", 0, id="valid: the success text prints by default"),
])
def test_node_logs_keep_each_lines_verbosity(start: str, verbosity: int) -> None:
    node, = run(1, keep_logs=True).nodes
    line = next(line for line in node.logs if line.text.startswith(start))
    assert line.verbosity == verbosity and line == (line.t, line.stream, line.text, verbosity)
