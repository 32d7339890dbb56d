"""Check routing through firewalls, partitions and interceptions, and the Go client's error texts."""

from __future__ import annotations

import random
from typing import Any, Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.engine.latency import Constant, LogNormal
from sim.engine.network import (
    CLIENT_TIMEOUT_CONNECTING, DEFAULT_LATENCY, SYN_RETRIES, Deliver, Drop, FirewallRule, Host, Interception, Link,
    Network, NoRoute, Partition, Reject, Route, Window, connection_refused, connection_timed_out, no_route_to_host,
    split_endpoint, transport_failure, url_error,
)
from sim.protocol.commands import TransportFailure

EP = "10.0.0.1:6443"
WAN = Link(latency=LogNormal(0.002, 0.02), loss=0.01)
HOSTS = (
    Host(name="10.0.0.1", group="control-plane", ports=frozenset({6443, 2379})),
    Host(name="10.0.1.1", group="workers"),
    Host(name="10.0.1.2", group="workers"),
    Host(name="10.0.2.1", group="edge"),
    Host(name="10.0.9.9", group="attackers", ports=frozenset({6443})),
)
WORKER = ("10.0.1.1", "workers")


def network(firewall: Sequence[FirewallRule] = (), partitions: Sequence[Partition] = (),
            interceptions: Sequence[Interception] = ()) -> Network:
    return Network(HOSTS, links={("workers", "control-plane"): WAN}, firewall=firewall, partitions=partitions,
                   interceptions=interceptions)


def deliver(host: str, link: Link = WAN, intercepted: bool = False) -> Deliver:
    return Deliver(to_host=host, link=link, intercepted=intercepted)


DROP_6443 = FirewallRule(host="10.0.0.1", port=6443, action="DROP")
REJECT_6443 = FirewallRule(host="10.0.0.1", port=6443, action="REJECT")
CUT = Partition(side_a=frozenset({"workers"}), side_b=frozenset({"control-plane"}), window=Window(10.0, 20.0))
MITM = Interception(attacker="10.0.9.9", source_group="workers", endpoint=EP, window=Window(0.0, 60.0))
LOOP = Link(latency=Constant(0.0))


@pytest.mark.parametrize(
    ("kwargs", "src", "endpoint", "t", "expected"),
    [
        pytest.param({}, WORKER, EP, 0.0, deliver("10.0.0.1"), id="valid: open port delivers"),
        pytest.param({}, ("10.0.2.1", "edge"), EP, 0.0, deliver("10.0.0.1", Link()),
                     id="valid: unlisted group pair uses the default link"),
        pytest.param({}, WORKER, "10.0.0.1:6444", 0.0, Reject(reason="closed", link=WAN),
                     id="valid: closed port refuses"),
        pytest.param({}, WORKER, "10.9.9.9:6443", 0.0, NoRoute(), id="valid: unknown host has no route"),
        pytest.param({"firewall": [DROP_6443]}, WORKER, EP, 0.0, Drop(reason="firewall"), id="valid: DROP drops"),
        pytest.param({"firewall": [REJECT_6443]}, WORKER, EP, 0.0, Reject(reason="firewall", link=WAN),
                     id="valid: REJECT refuses"),
        pytest.param({"firewall": [DROP_6443]}, WORKER, "10.0.0.1:2379", 0.0, deliver("10.0.0.1"),
                     id="valid: rule on another port"),
        pytest.param({"firewall": [FirewallRule(host="10.0.0.1", action="DROP")]}, WORKER, "10.0.0.1:2379", 0.0,
                     Drop(reason="firewall"), id="valid: rule on every port"),
        pytest.param({"firewall": [FirewallRule(host="10.0.0.1", port=6443, source_group="edge")]}, WORKER, EP,
                     0.0, deliver("10.0.0.1"), id="valid: rule for another source group"),
        pytest.param({"firewall": [FirewallRule(host="10.0.0.1", port=6443, source_group="workers")]}, WORKER,
                     EP, 0.0, Drop(reason="firewall"), id="valid: rule for this source group"),
        pytest.param({"firewall": [FirewallRule(host="10.0.0.1", window=Window(100.0, 200.0))]}, WORKER, EP,
                     99.9, deliver("10.0.0.1"), id="valid: before the window"),
        pytest.param({"firewall": [FirewallRule(host="10.0.0.1", window=Window(100.0, 200.0))]}, WORKER, EP,
                     100.0, Drop(reason="firewall"), id="valid: window start is inside"),
        pytest.param({"firewall": [FirewallRule(host="10.0.0.1", window=Window(100.0, 200.0))]}, WORKER, EP,
                     200.0, deliver("10.0.0.1"), id="valid: window end is outside"),
        pytest.param({"firewall": [REJECT_6443, DROP_6443]}, WORKER, EP, 0.0, Reject(reason="firewall", link=WAN),
                     id="valid: the first matching rule wins"),
        pytest.param({"firewall": [DROP_6443]}, WORKER, "10.0.0.1:6444", 0.0, Reject(reason="closed", link=WAN),
                     id="valid: closed port behind an unrelated rule"),
        pytest.param({"partitions": [CUT]}, WORKER, EP, 15.0, Drop(reason="partition"),
                     id="valid: partition drops"),
        pytest.param({"partitions": [CUT]}, ("10.0.0.1", "control-plane"), "10.0.1.1:10250", 15.0,
                     Drop(reason="partition"), id="valid: partition cuts both ways"),
        pytest.param({"partitions": [CUT]}, WORKER, EP, 20.0, deliver("10.0.0.1"), id="valid: partition healed"),
        pytest.param({"partitions": [CUT]}, ("10.0.2.1", "edge"), EP, 15.0, deliver("10.0.0.1", Link()),
                     id="valid: partition spares other groups"),
        pytest.param({"partitions": [CUT], "firewall": [REJECT_6443]}, WORKER, EP, 15.0, Drop(reason="partition"),
                     id="valid: partition before firewall"),
        pytest.param({"interceptions": [MITM]}, WORKER, EP, 1.0, deliver("10.0.9.9", Link(), intercepted=True),
                     id="valid: interception diverts to the attacker"),
        pytest.param({"interceptions": [MITM]}, ("10.0.2.1", "edge"), EP, 1.0, deliver("10.0.0.1", Link()),
                     id="valid: interception spares other groups"),
        pytest.param({"interceptions": [MITM]}, WORKER, EP, 60.0, deliver("10.0.0.1"),
                     id="valid: interception window over"),
        pytest.param({"interceptions": [MITM]}, WORKER, "10.0.0.1:2379", 1.0, deliver("10.0.0.1"),
                     id="valid: interception of one endpoint only"),
        pytest.param({"interceptions": [Interception(attacker="10.0.9.9", source_group="attackers", endpoint=EP)]},
                     ("10.0.9.9", "attackers"), EP, 1.0, deliver("10.0.0.1", Link()),
                     id="valid: the attacker reaches the real server"),
        pytest.param({"interceptions": [MITM], "firewall": [FirewallRule(host="10.0.9.9", action="REJECT")]},
                     WORKER, EP, 1.0, Reject(reason="firewall", link=Link()),
                     id="valid: firewall on the attacker applies"),
        pytest.param({"interceptions": [MITM], "firewall": [DROP_6443]}, WORKER, EP, 1.0,
                     deliver("10.0.9.9", Link(), intercepted=True),
                     id="valid: interception bypasses the server's firewall"),
        pytest.param({"partitions": [Partition(side_a=frozenset({"control-plane"}), side_b=frozenset({"workers"}))]},
                     ("10.0.0.1", "control-plane"), EP, 0.0, deliver("10.0.0.1", LOOP),
                     id="valid: loopback ignores partitions"),
        pytest.param({"firewall": [DROP_6443]}, ("10.0.0.1", "control-plane"), EP, 0.0, Drop(reason="firewall"),
                     id="valid: loopback still meets the firewall"),
    ],
)
def test_route(kwargs: dict[str, Any], src: tuple[str, str], endpoint: str, t: float, expected: Route) -> None:
    assert network(**kwargs).route(src[0], src[1], endpoint, t) == expected


def test_links_are_symmetric_with_a_default() -> None:
    net = network()
    assert net.link("workers", "control-plane") is WAN
    assert net.link("control-plane", "workers") is WAN
    assert net.link("edge", "workers") == Link(latency=DEFAULT_LATENCY)


@pytest.mark.parametrize(
    ("route", "message"),
    [
        pytest.param(Reject(reason="firewall"), "dial tcp 10.0.0.1:6443: connect: connection refused",
                     id="valid: reject"),
        pytest.param(Reject(reason="closed"), "dial tcp 10.0.0.1:6443: connect: connection refused",
                     id="valid: closed port"),
        pytest.param(NoRoute(), "dial tcp 10.0.0.1:6443: connect: no route to host", id="valid: no route"),
        pytest.param(Drop(reason="firewall"), "net/http: request canceled while waiting for connection "
                     "(Client.Timeout exceeded while awaiting headers)", id="valid: drop times out"),
    ],
)
def test_transport_failure_texts(route: Route, message: str) -> None:
    assert transport_failure(route, EP) == TransportFailure(message=message)


def test_a_delivered_route_is_not_a_failure() -> None:
    with pytest.raises(ValueError):
        transport_failure(deliver("10.0.0.1"), EP)


def test_go_error_texts() -> None:
    url = "https://10.0.0.1:6443/api/v1/namespaces/kube-public/configmaps/cluster-info?timeout=10s"
    assert url_error("GET", url, CLIENT_TIMEOUT_CONNECTING) == (
        'Get "https://10.0.0.1:6443/api/v1/namespaces/kube-public/configmaps/cluster-info?timeout=10s": '
        "net/http: request canceled while waiting for connection (Client.Timeout exceeded while awaiting headers)")
    assert url_error("POST", "https://x/y", "EOF") == 'Post "https://x/y": EOF'
    assert connection_refused(EP) == "dial tcp 10.0.0.1:6443: connect: connection refused"
    assert no_route_to_host(EP) == "dial tcp 10.0.0.1:6443: connect: no route to host"
    assert connection_timed_out(EP) == "dial tcp 10.0.0.1:6443: connect: connection timed out"


class Scripted(random.Random):
    """Return scripted values from random(), to drive loss draws exactly."""

    def __init__(self, values: Sequence[float]) -> None:
        super().__init__(0)
        self.values = list(values)

    def random(self) -> float:
        return self.values.pop(0)


@pytest.mark.parametrize(
    ("draws", "delay"),
    [
        pytest.param([0.9], 0.0, id="valid: first SYN gets through"),
        pytest.param([0.0, 0.9], 1.0, id="valid: one retransmission after 1s"),
        pytest.param([0.0, 0.0, 0.0, 0.9], 7.0, id="valid: backoff doubles"),
        pytest.param([0.0] * (SYN_RETRIES + 1), None, id="valid: kernel gives up after 127s of retries"),
    ],
)
def test_connect_delay_follows_syn_backoff(draws: list[float], delay: float | None) -> None:
    assert Link(loss=0.5).connect_delay(Scripted(draws)) == delay


def test_loss_free_links_draw_nothing() -> None:
    rng = random.Random(5)
    state = rng.getstate()
    assert not Link().sample_loss(rng)
    assert Link().connect_delay(rng) == 0.0
    assert rng.getstate() == state


@given(st.floats(min_value=0.0, max_value=0.9))
def test_loss_rate_matches_probability(loss: float) -> None:
    rng = random.Random(11)
    lost = sum(Link(loss=loss).sample_loss(rng) for _ in range(4000))
    assert lost / 4000 == pytest.approx(loss, abs=0.03)


def test_deliver_samples_its_link() -> None:
    route = network().route(*WORKER, EP, 0.0)
    assert isinstance(route, Deliver) and route.latency == WAN.latency
    first, second = random.Random(1), random.Random(1)
    assert route.sample_latency(first) == WAN.sample_latency(second)
    assert route.sample_loss(first) == WAN.sample_loss(second)


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        pytest.param("10.0.0.1:6443", ("10.0.0.1", 6443), id="valid: ipv4"),
        pytest.param("cp.example:443", ("cp.example", 443), id="valid: name"),
        pytest.param("[fd00::1]:6443", ("fd00::1", 6443), id="valid: ipv6"),
        pytest.param("10.0.0.1", None, id="invalid: no port"),
        pytest.param(":6443", None, id="invalid: no host"),
        pytest.param("10.0.0.1:0", None, id="invalid: port zero"),
        pytest.param("10.0.0.1:65536", None, id="invalid: port too large"),
        pytest.param("10.0.0.1:https", None, id="invalid: named port"),
    ],
)
def test_split_endpoint(endpoint: str, expected: tuple[str, int] | None) -> None:
    if expected is None:
        with pytest.raises(ValueError, match="invalid endpoint"):
            split_endpoint(endpoint)
    else:
        assert split_endpoint(endpoint) == expected


@pytest.mark.parametrize(
    ("build", "message"),
    [
        pytest.param(lambda: Network([HOSTS[0], HOSTS[0]]), "declared twice", id="invalid: duplicate host"),
        pytest.param(lambda: Network(HOSTS, firewall=[FirewallRule(host="nope")]), "unknown host 'nope'",
                     id="invalid: firewall on unknown host"),
        pytest.param(lambda: Network(HOSTS, interceptions=[Interception(attacker="nope", source_group="w",
                                                                         endpoint=EP)]),
                     "unknown host 'nope'", id="invalid: unknown attacker"),
        pytest.param(lambda: FirewallRule(host="h", action="ACCEPT"),  # type: ignore[arg-type]
                     "DROP or REJECT", id="invalid: action"),
        pytest.param(lambda: Window(5.0, 1.0), "end is before the start", id="invalid: window"),
        pytest.param(lambda: Partition(side_a=frozenset({"a"}), side_b=frozenset({"a", "b"})), "disjoint",
                     id="invalid: overlapping partition"),
        pytest.param(lambda: Partition(side_a=frozenset(), side_b=frozenset({"b"})), "non-empty",
                     id="invalid: empty partition side"),
        pytest.param(lambda: Link(loss=1.0), r"\[0, 1\)", id="invalid: certain loss"),
        pytest.param(lambda: Link(loss=-0.1), r"\[0, 1\)", id="invalid: negative loss"),
        pytest.param(lambda: Interception(attacker="a", source_group="w", endpoint="nowhere"), "invalid endpoint",
                     id="invalid: interception endpoint"),
        pytest.param(lambda: network().route(*WORKER, "10.0.0.1", 0.0), "invalid endpoint",
                     id="invalid: route endpoint"),
    ],
)
def test_validation(build: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()
