"""Check scenario validation: every problem reported once with its field path, defaults filled, the engine config."""

from __future__ import annotations

import math
from typing import Any

import pytest

from sim.crypto import crypto_backend
from sim.engine import AllAtOnce, PoissonArrivals, UniformArrivals
from sim.engine.latency import LogNormal
from sim.scenario import SECTIONS, ScenarioError, engine_config, parse_document, resolved
from sim.scenario.sections.nodes import UNSAFE_WITHOUT_HASHES

NODES = [{"name": "w", "count": 2}]


def problems(doc: Any) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        parse_document(doc, "mitm.yaml", default_name="mitm")
    return caught.value.lines()


@pytest.mark.parametrize(
    "doc, expected",
    [
        pytest.param({"nodes": [{"name": "w", "count": -3}]},
                     ["mitm.yaml: nodes[0].count: must be a positive integer (got -3)"],
                     id="invalid: negative count"),
        pytest.param({"nodes": [{"name": "w", "count": 10**20}]},
                     ["mitm.yaml: nodes[0].count: must be at most 1,000,000 (got 100000000000000000000)"],
                     id="invalid: a count no run could hold"),
        pytest.param({"nodes": [{"name": "w", "cuont": 3}]},
                     ["mitm.yaml: nodes[0].cuont: unknown field (did you mean 'count'?)",
                      "mitm.yaml: nodes[0].count: is required"], id="invalid: misspelt key, did you mean"),
        pytest.param({"nodez": NODES}, ["mitm.yaml: nodez: unknown field (did you mean 'nodes'?)",
                                        "mitm.yaml: nodes: is required"], id="invalid: misspelt section"),
        pytest.param({"nodes": NODES, "apiserver": {"zzz": 1}},
                     ["mitm.yaml: apiserver.zzz: unknown field (known: cores, max_mutating_requests_inflight, "
                      "max_requests_inflight, request_timeout)"], id="invalid: unknown key, nothing close"),
        pytest.param({"nodes": NODES, "cluster": {"token_ttl": "5d"}},
                     ['mitm.yaml: cluster.token_ttl: time: unknown unit "d" in duration "5d"'],
                     id="invalid: Go's duration error"),
        pytest.param({"nodes": NODES, "cluster": {"token_ttl": 300}},
                     ['mitm.yaml: cluster.token_ttl: must be a duration with a unit, such as "10s" or "250ms" or '
                      '"never" (got 300)'], id="invalid: duration without unit"),
        pytest.param({"nodes": NODES, "cluster": {"ca_key_type": "dsa", "endpoint": "10.0.0.1"}},
                     ["mitm.yaml: cluster.endpoint: invalid endpoint '10.0.0.1': want host:port with a port in 1-65535",
                      "mitm.yaml: cluster.ca_key_type: must be one of: rsa, ecdsa (got 'dsa')"],
                     id="invalid: endpoint and choice"),
        pytest.param({"nodes": [{"name": "w", "count": 1, "arrival": {"poisson": {"rate": "ten"}}}]},
                     ['mitm.yaml: nodes[0].arrival.poisson.rate: invalid rate "ten": want <count>/<period>, such as '
                      '"10/s" or "600/m"'], id="invalid: rate"),
        pytest.param({"nodes": [{"name": "w", "count": 1, "arrival": "soon"}]},
                     ["mitm.yaml: nodes[0].arrival: must be a mapping with exactly one of: all_at_once, uniform, "
                      "poisson (got 'soon')"], id="invalid: arrival"),
        pytest.param({"nodes": [{"name": "w", "count": 1, "join": {"ca_cert_hashes": []}}]},
                     [f"mitm.yaml: nodes[0].join.ca_cert_hashes: {UNSAFE_WITHOUT_HASHES}"],
                     id="invalid: no pins without the unsafe flag, kubeadm's own text"),
        pytest.param({"nodes": [{"name": "w", "count": 1, "join": {"endpoint": "nowhere"}}]},
                     ["mitm.yaml: nodes[0].join.endpoint: invalid endpoint 'nowhere': want host:port with a port in "
                      "1-65535"], id="invalid: join endpoint"),
        pytest.param({"nodes": [{"name": "w", "count": 1}, {"name": "w", "count": 1},
                                {"name": "control-plane", "count": 1}]},
                     ["mitm.yaml: nodes[1].name: group name 'w' is used twice",
                      "mitm.yaml: nodes[2].name: 'control-plane' is the control plane's group (cluster.group)"],
                     id="invalid: group names"),
        pytest.param({"nodes": NODES, "network": {"loss": 1.5, "firewall": [{"action": "drop", "port": 0}]}},
                     ["mitm.yaml: network.loss: must be a number at least 0 and below 1 (got 1.5)",
                      "mitm.yaml: network.firewall[0].port: must be a port in 1-65535 or any (got 0)",
                      "mitm.yaml: network.firewall[0].action: must be one of: DROP, REJECT (got 'drop')"],
                     id="invalid: network values"),
        pytest.param({"nodes": NODES, "network": {"firewall": [{"host": "10.9.9.9", "source": "x"}],
                                                  "partitions": [{"side_a": ["w"], "side_b": ["y"]}],
                                                  "links": [{"between": ["w"]}]}},
                     ["mitm.yaml: network.links[0].between: must name exactly two groups (got 1)"],
                     id="invalid: a link between one group"),
        pytest.param({"nodes": NODES, "network": {"firewall": [{"host": "10.9.9.9", "source": "x"}],
                                                  "partitions": [{"side_a": ["w"], "side_b": ["y"],
                                                                  "window": {"start": "1m", "end": "30s"}}]}},
                     ["mitm.yaml: network.partitions[0].window.end: must not be before start"],
                     id="invalid: a window that ends before it starts"),
        pytest.param({"nodes": NODES, "network": {"firewall": [{"host": "10.9.9.9", "source": "x"}],
                                                  "partitions": [{"side_a": ["w"], "side_b": ["y"]}]}},
                     ["mitm.yaml: network.firewall[0].host: unknown host '10.9.9.9' (known: cluster, 10.0.0.1)",
                      "mitm.yaml: network.firewall[0].source: unknown group 'x' (known: control-plane, w)",
                      "mitm.yaml: network.partitions[0].side_b[0]: unknown group 'y' (known: control-plane, w)"],
                     id="invalid: unknown hosts and groups, checked across sections"),
        pytest.param({"nodes": NODES, "run": {"trace_node": "w-3"}},
                     ["mitm.yaml: run.trace_node: no node is named 'w-3' (did you mean 'w-2'?)"],
                     id="invalid: trace node"),
        pytest.param({"nodes": NODES, "expect": {"outcomes": {"v": {"joined": -1}}, "invariants": ["nice"],
                                                 "join_time": {"w": {"p42": "< 1s", "p50": "1s"}}}},
                     ["mitm.yaml: expect.outcomes.v.joined: must be a count bound such as 3, all, >= 5 or 1..4 "
                      "(not a string) (got -1)",
                      "mitm.yaml: expect.join_time.w.p42: must be one of: min, p50, p90, p95, p99, max, mean "
                      "(got 'p42')",
                      "mitm.yaml: expect.join_time.w.p50: must be a duration bound such as \"< 2s\", \">= 4m50s\" or "
                      "\"1s..3s\" (a comparison (<, <=, >, >=) or a range is needed) (got '1s')",
                      "mitm.yaml: expect.invariants[0]: must be one of: pinned-nodes-trust-only-the-cluster-ca, "
                      "no-node-trusts-a-foreign-ca, csrs-reach-only-the-cluster, every-node-finished, "
                      "failures-carry-kubeadm-errors (got 'nice')"], id="invalid: expect values"),
        pytest.param({"nodes": NODES, "expect": {"outcomes": {"v": {"joined": 1}}, "errors": [
            {"group": "u", "contains": "x"}]}},
                     ["mitm.yaml: expect.outcomes.v: unknown group 'v' (known: all, w)",
                      "mitm.yaml: expect.errors[0].group: unknown group 'u' (known: all, w)"],
                     id="invalid: expect names unknown groups"),
        pytest.param({"nodes": NODES, "cluster": {"tokens": [{"token": "abc"}, {"token": "abcdef.0123456789abcdef",
                                                                               "usages": ["signing", "typing"]}]}},
                     ["mitm.yaml: cluster.tokens[0]: token 'abc': the bootstrap token \"abc\" was not of the form "
                      + '"' + r"\\A([a-z0-9]{6})\\.([a-z0-9]{16})\\z" + '"',
                      "mitm.yaml: cluster.tokens[1]: token 'abcdef.0123456789abcdef': invalid bootstrap token usage "
                      "string: typing, valid usage options: signing,authentication"],
                     id="invalid: a malformed token, kubeadm's text"),
        pytest.param({"nodes": NODES, "attackers": [{"mitm": {"name": "w", "group": "v"}},
                                                    {"token_thief": {"name": "eve"}}, {"spy": {}}]},
                     ["mitm.yaml: attackers[1].token_thief.victim: is required",
                      "mitm.yaml: attackers[2].spy: unknown field (known: csr_flooder, mitm, token_thief)"],
                     id="invalid: attackers"),
        pytest.param({"nodes": NODES, "attackers": [{"mitm": {"name": "w", "group": "v"}}]},
                     ["mitm.yaml: attackers[0].mitm.name: 'w' is taken: attackers, node groups and the control "
                      "plane's group each need a name of their own",
                      "mitm.yaml: attackers[0].mitm.group: no node group named 'v' (known: w)"],
                     id="invalid: attacker names and victims, checked across sections"),
        pytest.param({"nodes": NODES, "admin": [{"reset_node": {"at": "1m"}}, {"rejoin_node": {"at": "1m", "node": "w-9"}},
                                                {"approve_csrs": {"at": "1s", "group": "v"}}]},
                     ["mitm.yaml: admin[0].reset_node: give exactly one of node and group"],
                     id="invalid: an admin action without a target"),
        pytest.param({"nodes": NODES, "admin": [{"rejoin_node": {"at": "1m", "node": "w-9"}},
                                                {"approve_csrs": {"at": "1s", "group": "v"}}]},
                     ["mitm.yaml: admin[0].rejoin_node.node: no node named 'w-9' (nodes are <group>-<n>)",
                      "mitm.yaml: admin[1].approve_csrs.group: no node group named 'v' (known: w)"],
                     id="invalid: admin targets, checked across sections"),
        pytest.param({"nodes": [{"name": "w", "count": 1, "join": {"certificate_key": "ab"}, "machine": {
            "files": ["etc/kubernetes/kubelet.conf"]}}]},
                     ["mitm.yaml: nodes[0].join: a certificate_key is for control-plane joins (set control_plane)",
                      "mitm.yaml: nodes[0].machine: machine files must be absolute paths"],
                     id="invalid: join and machine settings the engine refuses"),
        pytest.param({"nodes": NODES, "expect": {"attackers": {"eve": {"identities": 1}}}},
                     ["mitm.yaml: expect.attackers.eve: no attacker named 'eve' (known: none)"],
                     id="invalid: expectations of an unknown attacker"),
        pytest.param([1, 2], ["mitm.yaml: must be a mapping of sections (name, description, "
                              + ", ".join(s.key for s in SECTIONS) + ")"], id="invalid: not a mapping"),
        pytest.param({"name": "a b", "nodes": NODES},
                     ["mitm.yaml: name: must be letters, digits, '.', '_' or '-' (got 'a b')"], id="invalid: name"),
    ],
)
def test_problems_are_reported_one_line_each_with_their_path(doc: Any, expected: list[str]) -> None:
    assert problems(doc) == expected


def test_crypto_modes_are_the_ones_sim_crypto_offers() -> None:
    with pytest.raises(ValueError) as caught:
        crypto_backend("quantum")
    assert problems({"nodes": NODES, "run": {"crypto": "quantum"}}) == [f"mitm.yaml: run.crypto: {caught.value}"]


def test_defaults_are_filled_and_recorded_in_the_file_spelling() -> None:
    scenario = parse_document({"nodes": [{"name": "w", "count": 2}]}, "x.yaml", default_name="x")
    out = resolved(scenario)
    assert out["name"] == "x" and out["description"] == ""
    assert out["cluster"] == {
        "endpoint": "10.0.0.1:6443", "name": "control-plane", "group": "control-plane", "ca_key_type": "rsa",
        "token": "auto", "token_ttl": "24h0m0s", "tokens": [], "kubernetes_version": "current", "autoapprove": True,
        "public_cluster_info": True, "anonymous_auth": True, "control_plane_endpoint": False, "upload_certs": False,
        "certificate_key": "auto", "existing_nodes": []}
    assert out["apiserver"] == {"cores": 2, "max_requests_inflight": 400, "max_mutating_requests_inflight": 200,
                                "request_timeout": "1m0s"}
    assert out["controllers"]["kube_api_qps"] == 20.0 and out["controllers"]["kube_api_burst"] == 30
    assert out["nodes"][0]["join"]["ca_cert_hashes"] == ["cluster"]
    assert out["nodes"][0]["arrival"] == {"all_at_once": {"at": "0s"}}
    assert out["network"]["latency"] == "250\u00b5s"
    # the resolved form parses back to the same scenario
    assert parse_document(out, "x.yaml", default_name="y") == scenario


@pytest.mark.parametrize(
    "join, pinned, hashes",
    [
        pytest.param({}, True, (), id="valid: default pins the cluster CA (the engine's own pin)"),
        pytest.param({"unsafe_skip_ca_verification": True}, False, (), id="valid: kind-style, no pins"),
        pytest.param({"unsafe_skip_ca_verification": True, "ca_cert_hashes": ["sha256:ab"]}, True, ("sha256:ab",),
                     id="valid: pins given with the unsafe flag are still enforced"),
        pytest.param({"ca_cert_hashes": ["sha256:ab", "cluster"]}, True, ("sha256:ab", "cluster"),
                     id="valid: a rotation list keeps the cluster marker for the run to resolve"),
    ],
)
def test_join_pins_map_to_the_engine(join: dict[str, Any], pinned: bool, hashes: tuple[str, ...]) -> None:
    scenario = parse_document({"nodes": [{"name": "w", "count": 1, "join": join}]}, "x.yaml", default_name="x")
    settings = engine_config(scenario).groups[0].join
    assert (settings.pinned, settings.ca_cert_hashes) == (pinned, hashes)


def test_every_section_reaches_the_engine_config() -> None:
    scenario = parse_document({
        "run": {"seed": 7, "until": "1h", "sample_interval": "250ms"},
        "cluster": {"token_ttl": "never", "ca_key_type": "ecdsa", "kubernetes_version": 1.22},
        "apiserver": {"cores": 4, "max_requests_inflight": 10, "max_mutating_requests_inflight": 5},
        "controllers": {"kube_api_qps": 100, "kube_api_burst": 200, "workers": {"csrapproving": 10}},
        "network": {"latency": {"lognormal": {"median": "2ms", "p99": "20ms"}},
                    "firewall": [{"port": 6443, "action": "REJECT", "source": "b",
                                  "window": {"start": "10s", "end": "1m"}}],
                    "partitions": [{"side_a": ["a"], "side_b": ["control-plane"]}]},
        "nodes": [{"name": "a", "count": 2, "arrival": {"uniform": {"window": "10s"}}},
                  {"name": "b", "count": 1, "arrival": {"poisson": {"rate": "600/m", "start": "5s"}},
                   "join": {"token": "abcdef.0123456789abcdef", "endpoint": "10.0.0.2:6443"},
                   "models": {"clock_skew": "-90s"}}],
    }, "x.yaml", default_name="x")
    config = engine_config(scenario, log_requests=True)
    assert (config.seed, config.until, config.sample_interval, config.log_requests) == (7, 3600.0, 0.25, True)
    assert config.cluster.token_ttl is None and config.cluster.profile == "1.22"
    assert (config.apiserver.cores, config.apiserver.server_concurrency) == (4, 15)
    assert (config.controllers.qps, config.controllers.burst, config.controllers.workers) == (
        100.0, 200, (("csrapproving", 10),))
    assert config.network.default_link.latency == LogNormal(0.002, 0.02)
    rule = config.network.firewall[0]
    assert (rule.host, rule.port, rule.action, rule.source_group, rule.window.start, rule.window.end) == (
        "10.0.0.1", 6443, "REJECT", "b", 10.0, 60.0)
    assert config.network.partitions[0].window.end == math.inf
    a, b = config.groups
    assert a.arrival == UniformArrivals(window=10.0) and b.arrival == PoissonArrivals(rate=10.0, start=5.0)
    assert b.join.token == "abcdef.0123456789abcdef" and b.join.endpoint == "10.0.0.2:6443"
    assert b.models.clock_skew == -90.0 and a.join.token is None and a.arrival != AllAtOnce()
