"""Check the attackers through ``simulate``: a man in the middle, a token thief, a CSR flooder; and determinism."""

from __future__ import annotations

import re
from typing import Any, Callable

import pytest

from sim.engine import (
    AllAtOnce, ApproveCsrs, ClusterSettings, CsrFlooder, DeleteNode, EngineConfig, ExistingNode, JoinSettings,
    MitmAttacker, NodeGroup, RejoinNode, ResetNode, TokenThief, UniformArrivals, Window, simulate,
)
from tests.engine_support import CLUSTER_INFO_URL, config

DISCOVERY = "error execution phase preflight: couldn't validate the identity of the API Server: "
ECDSA = ClusterSettings(ca_key_type="ecdsa")


def mitm(**options: Any) -> MitmAttacker:
    return MitmAttacker(name="mitm", group="w", **options)


@pytest.mark.parametrize(
    "attacker, join, error",
    [
        pytest.param(mitm(knows_token=True), JoinSettings(pinned=False), "",
                     id="invalid: stolen token, unpinned nodes trust the attacker's CA"),
        pytest.param(mitm(knows_token=True), JoinSettings(), DISCOVERY + "cluster CA found in cluster-info ConfigMap "
                     'is invalid: none of the public keys "{pin}" are pinned', id="valid: pinned nodes detect it"),
        pytest.param(mitm(), JoinSettings(pinned=False), DISCOVERY + "failed to verify JWS signature of received "
                     "cluster info object, can't trust this API Server", id="valid: without the token the JWS fails"),
        pytest.param(mitm(knows_token=True), JoinSettings(discovery="file", discovery_timeout=20.0),
                     DISCOVERY + "Abort reading the cluster-info ConfigMap after timeout of 20s: "
                     f'Get "{CLUSTER_INFO_URL}": '
                     "tls: failed to verify certificate: x509: certificate signed by unknown authority (possibly "
                     'because of "x509: ECDSA verification failure" while trying to verify candidate authority '
                     'certificate "kubernetes")',
                     id="valid: file discovery verifies TLS against the real CA"),
        pytest.param(mitm(knows_token=True, window=Window(0.0, 5.0)), JoinSettings(pinned=False), "",
                     id="valid: the interception is over before the nodes arrive"),
    ],
)
def test_a_man_in_the_middle(attacker: MitmAttacker, join: JoinSettings, error: str) -> None:
    late = attacker.window.end < 1e9
    bystanders = NodeGroup(name="b", count=1, join=JoinSettings(pinned=False))
    cfg = config(2, join=join, attackers=(attacker,), arrival=AllAtOnce(at=10.0 if late else 0.0))
    result = simulate(EngineConfig(cluster=ECDSA, groups=(*cfg.groups, bystanders), attackers=(attacker,)))
    found = result.attacker("mitm")
    assert found.kind == "mitm" and found.ca_pin != result.ca_pin
    victims = [n for n in result.nodes if n.group == "w"]
    assert {n.error for n in victims} == {error.format(pin=found.ca_pin)}
    bystander = result.node("b-1")  # another group is not intercepted
    assert bystander.joined and bystander.trusted_ca_pin == result.ca_pin and bystander.csr_server == "control-plane"
    if error:
        assert found.victims == () and found.identities == () and not any(n.joined for n in victims)
        assert all(n.trusted_ca_pin != found.ca_pin for n in victims)
        assert found.intercepted == (0 if join.discovery == "file" else 2)  # file discovery: the handshake fails
        return
    if late:
        assert found.intercepted == 0
        assert all(n.joined and n.trusted_ca_pin == result.ca_pin and n.csr_server == "control-plane" for n in victims)
        return
    # The known weakness of unpinned discovery: the nodes join, trusting the attacker and handing it their CSRs.
    for node in victims:
        assert node.joined and not node.pinned
        assert node.trusted_ca_pin == found.ca_pin != result.ca_pin
        assert node.discovery_server == "mitm" and node.csr_server == "mitm"
        assert node.milestone("node-ready") is not None
    assert sorted(found.victims) == ["w-1", "w-2"] and found.csrs_created == 2 and found.csrs_failed == 0
    # ... and the cluster's CA certified the attacker's own keys for both node names.
    assert found.identities == ("system:node:w-1", "system:node:w-2")


def test_a_token_thief_gets_a_certificate_for_an_existing_nodes_name() -> None:
    cluster = ClusterSettings(ca_key_type="ecdsa", existing_nodes=(ExistingNode(name="victim"),))
    result = simulate(EngineConfig(cluster=cluster, attackers=(TokenThief(name="thief", victim="victim", at=5.0),),
                                   log_requests=True))
    thief = result.attacker("thief")
    assert (thief.kind, thief.victims, thief.identities) == ("token-thief", ("victim",), ("system:node:victim",))
    assert thief.csrs_created == 1 and thief.node_registered and thief.error == ""
    # The approver's nodeclient rule approved it: a bootstrap token may ask for any node's name.
    approved = [e for e in result.events if e[2] == "csr-approved"]
    assert len(approved) == 1 and approved[0][0] > 5.0


@pytest.mark.parametrize(
    "cluster, token, error",
    [
        pytest.param(ClusterSettings(ca_key_type="ecdsa", autoapprove=False), None,
                     "timed out waiting for the condition", id="valid: without autoapprove the CSR waits 15 min"),
        pytest.param(ECDSA, "zzzzzz.0123456789abcdef", "cannot create certificate signing request: Unauthorized",
                     id="valid: a token the cluster does not know"),
    ],
)
def test_a_token_thief_fails(cluster: ClusterSettings, token: str | None, error: str) -> None:
    result = simulate(EngineConfig(cluster=cluster, attackers=(TokenThief(name="thief", victim="w-9", token=token),)))
    thief = result.attacker("thief")
    assert thief.identities == () and not thief.node_registered and thief.error == error


def test_a_csr_flood_delays_the_nodes_behind_it() -> None:
    quiet = simulate(config(5, arrival=AllAtOnce(at=5.0)))
    flood = CsrFlooder(name="flood", rate=100.0, count=300)
    loud = simulate(config(5, arrival=AllAtOnce(at=5.0), attackers=(flood,)))
    found = loud.attacker("flood")
    assert (found.kind, found.csrs_created, found.csrs_failed) == ("csr-flooder", 300, 0)
    assert loud.counts["joined"] == quiet.counts["joined"] == 5
    took = [n.ended - n.started for n in loud.nodes if n.ended is not None and n.started is not None]
    assert max(n.ended - n.started for n in quiet.nodes if n.ended and n.started is not None) < 2.0
    # The approver's client (20 QPS, two calls a CSR) gets through ~10 CSRs a second: the nodes queue behind ~280.
    assert min(took) > 20.0
    assert loud.servers[0].series.column("csrs/issued")[-1] == 305


def test_everything_together_is_deterministic_per_seed() -> None:
    def run(seed: int) -> Any:
        cfg = EngineConfig(
            seed=seed, cluster=ClusterSettings(ca_key_type="ecdsa", autoapprove=False,
                                               existing_nodes=(ExistingNode(name="victim"),)),
            groups=(NodeGroup(name="w", count=3, arrival=UniformArrivals(window=5.0), join=JoinSettings(pinned=False)),
                    NodeGroup(name="p", count=2)),
            attackers=(mitm(knows_token=True), TokenThief(name="thief", victim="victim", at=1.0),
                       CsrFlooder(name="flood", rate=20.0, count=10)),
            admin=(ApproveCsrs(at=20.0), ResetNode(at=30.0, node="p-1"), DeleteNode(at=30.0, node="p-1"),
                   RejoinNode(at=31.0, node="p-1"),
                   ApproveCsrs(at=40.0)))
        return simulate(cfg)
    first, again, other = run(7), run(7), run(8)
    assert first.events.digest() == again.events.digest() != other.events.digest()
    assert first.attackers == again.attackers and first.admin == again.admin
    assert [(n.name, n.joined, n.error, n.ended) for n in first.nodes] == \
        [(n.name, n.joined, n.error, n.ended) for n in again.nodes]
    assert first.attacker("mitm").identities == ("system:node:w-1", "system:node:w-2", "system:node:w-3")
    assert first.attacker("thief").identities == ("system:node:victim",)
    assert first.node("p-1").joined and len(first.node("p-1").joins) == 2


@pytest.mark.parametrize(
    "build, message",
    [
        pytest.param(lambda: MitmAttacker(name="", group="w"), "needs a name", id="invalid: no name"),
        pytest.param(lambda: MitmAttacker(name="m", group="w", ca_key_type="ed25519"), "rsa or ecdsa",
                     id="invalid: MITM CA key type"),
        pytest.param(lambda: TokenThief(name="t", victim=""), "victim", id="invalid: thief without victim"),
        pytest.param(lambda: TokenThief(name="t", victim="v", at=-1.0), "non-negative", id="invalid: thief time"),
        pytest.param(lambda: CsrFlooder(name="f", rate=0.0, count=3), "positive rate", id="invalid: flood rate"),
        pytest.param(lambda: CsrFlooder(name="f", rate=1.0, count=0), "positive rate and count",
                     id="invalid: flood count"),
        pytest.param(lambda: config(1, attackers=(MitmAttacker(name="m", group="x"),)), "no node group named 'x'",
                     id="invalid: MITM on an unknown group"),
        pytest.param(lambda: config(1, attackers=(TokenThief(name="w", victim="v"),)), "must differ",
                     id="invalid: attacker named like a group"),
        pytest.param(lambda: config(1, attackers=(TokenThief(name="t", victim="v"), CsrFlooder(name="t", rate=1,
                                                                                              count=1))),
                     "must differ", id="invalid: two attackers of one name"),
    ],
)
def test_invalid_attackers_are_refused(build: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        build()


def test_attackers_do_the_same_in_modeled_crypto() -> None:
    def run(crypto: str) -> Any:
        return simulate(config(2, join=JoinSettings(pinned=False), crypto=crypto, attackers=(
            mitm(knows_token=True), TokenThief(name="thief", victim="w-1", at=5.0),
            CsrFlooder(name="flood", rate=5.0, count=3))))
    real, modeled = run("real"), run("modeled")
    assert real.attackers == modeled.attackers and real.attacker("thief").identities == ("system:node:w-1",)
    assert [(n.joined, n.error, n.trusted_ca_pin, n.csr_server, n.ended) for n in real.nodes] == \
        [(n.joined, n.error, n.trusted_ca_pin, n.csr_server, n.ended) for n in modeled.nodes]
