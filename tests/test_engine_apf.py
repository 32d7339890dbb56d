"""Check API Priority and Fairness accounting: default levels, classification, shuffle sharding, 429s."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.engine.apf import (
    DEFAULT_PRIORITY_LEVELS, DEFAULT_SERVER_CONCURRENCY, Admitted, Apf, Flow, PriorityLevel, Queued, Rejected,
    RequestDigest, deal, hash_flow_id, nominal_limits, too_many_requests,
)

AUTH = "system:authenticated"
BOOTSTRAP = RequestDigest(user="system:bootstrap:abcdef",
                          groups=("system:bootstrappers", "system:bootstrappers:kubeadm:default-node-token", AUTH))
ANONYMOUS = RequestDigest(user="system:anonymous", groups=("system:unauthenticated",), namespace="kube-public",
                          resource="configmaps")


def test_default_split_of_600_seats() -> None:
    assert DEFAULT_SERVER_CONCURRENCY == 600
    assert nominal_limits(600, DEFAULT_PRIORITY_LEVELS) == {
        "exempt": 0, "system": 74, "node-high": 98, "leader-election": 25, "workload-high": 98,
        "workload-low": 245, "global-default": 49, "catch-all": 13,
    }
    assert {level.name: level.queue_capacity for level in DEFAULT_PRIORITY_LEVELS}["global-default"] == 128 * 50


def node(verb: str, resource: str, subresource: str = "", api_group: str = "", namespace: str = "") -> RequestDigest:
    return RequestDigest(user="system:node:worker-1", groups=("system:nodes", AUTH), verb=verb, api_group=api_group,
                         resource=resource, subresource=subresource, namespace=namespace)


KCM = "system:kube-controller-manager"
SA_GROUPS = ("system:serviceaccounts", "system:serviceaccounts:kube-system", AUTH)
NODE = "system:node:worker-1"
ANON = ("system:unauthenticated",)


@pytest.mark.parametrize(
    ("request_", "schema", "distinguisher", "level"),
    [
        pytest.param(BOOTSTRAP, "global-default", "system:bootstrap:abcdef", "global-default",
                     id="valid: bootstrap token in global-default, one flow per token"),
        pytest.param(ANONYMOUS, "global-default", "system:anonymous", "global-default",
                     id="valid: anonymous cluster-info fetch in global-default"),
        pytest.param(node("get", "configmaps", namespace="kube-system"), "system-nodes", NODE, "system",
                     id="valid: node reads in system"),
        pytest.param(node("create", "nodes"), "system-node-high", NODE, "node-high",
                     id="valid: node registration in node-high"),
        pytest.param(node("patch", "nodes", "status"), "system-node-high", NODE, "node-high",
                     id="valid: node status in node-high"),
        pytest.param(node("update", "leases", api_group="coordination.k8s.io", namespace="kube-node-lease"),
                     "system-node-high", NODE, "node-high", id="valid: node lease in node-high"),
        pytest.param(node("create", "certificatesigningrequests", api_group="certificates.k8s.io"),
                     "system-nodes", NODE, "system", id="valid: node CSR in system"),
        pytest.param(RequestDigest(user=KCM, groups=(AUTH,), verb="update", api_group="certificates.k8s.io",
                                   resource="certificatesigningrequests", subresource="approval"),
                     "kube-controller-manager", "", "workload-high", id="valid: controllers in workload-high"),
        pytest.param(RequestDigest(user=KCM, groups=(AUTH,), verb="create", api_group="authorization.k8s.io",
                                   resource="subjectaccessreviews"),
                     "kube-controller-manager", "", "workload-high", id="valid: approver SAR in workload-high"),
        pytest.param(RequestDigest(user=KCM, groups=(AUTH,), verb="update", api_group="coordination.k8s.io",
                                   resource="leases", namespace="kube-system"),
                     "system-leader-election", KCM, "leader-election", id="valid: kcm lease in leader-election"),
        pytest.param(RequestDigest(user=KCM, groups=(AUTH,), verb="list", api_group="coordination.k8s.io",
                                   resource="leases", namespace="kube-system"),
                     "kube-controller-manager", "kube-system", "workload-high",
                     id="valid: kcm lease list is not leader election"),
        pytest.param(RequestDigest(user="system:kube-scheduler", groups=(AUTH,), verb="create", resource="bindings",
                                   namespace="default"),
                     "kube-scheduler", "default", "workload-high", id="valid: scheduler in workload-high"),
        pytest.param(RequestDigest(user="kubernetes-admin", groups=("kubeadm:cluster-admins", "system:masters", AUTH)),
                     "exempt", "", "exempt", id="valid: system:masters exempt"),
        pytest.param(RequestDigest(user="system:anonymous", groups=ANON, path="/healthz"), "probes", "", "exempt",
                     id="valid: probes exempt"),
        pytest.param(RequestDigest(user="system:anonymous", groups=ANON, path="/version"),
                     "global-default", "system:anonymous", "global-default", id="valid: other non-resource"),
        pytest.param(RequestDigest(user="system:serviceaccount:kube-system:bootstrap-signer", groups=SA_GROUPS,
                                   verb="update", resource="configmaps", namespace="kube-public"),
                     "workload-leader-election", "system:serviceaccount:kube-system:bootstrap-signer",
                     "leader-election",
                     id="valid: bootstrapsigner's cluster-info update matches workload-leader-election, as upstream"),
        pytest.param(RequestDigest(user="system:serviceaccount:kube-system:token-cleaner", groups=SA_GROUPS,
                                   verb="delete", resource="secrets", namespace="kube-system"),
                     "kube-system-service-accounts", "kube-system", "workload-high",
                     id="valid: kube-system service account in workload-high"),
        pytest.param(RequestDigest(user="system:serviceaccount:default:app",
                                   groups=("system:serviceaccounts", "system:serviceaccounts:default", AUTH)),
                     "service-accounts", "system:serviceaccount:default:app", "workload-low",
                     id="valid: other service account in workload-low"),
    ],
)
def test_classify_like_the_default_flow_schemas(request_: RequestDigest, schema: str, distinguisher: str,
                                                level: str) -> None:
    assert Apf().classify(request_) == Flow(schema=schema, distinguisher=distinguisher, level=level)


@pytest.mark.parametrize(
    ("hash_value", "deck", "hand", "cards"),
    [
        pytest.param(10, 4, 2, [2, 3], id="valid: repeated remainder moves up"),
        pytest.param(0, 128, 6, [0, 1, 2, 3, 4, 5], id="valid: zero hash"),
        pytest.param(7, 4, 3, [3, 1, 0], id="valid: distinct remainders"),
        pytest.param(2**64 - 1, 128, 6, None, id="valid: largest hash"),
    ],
)
def test_deal(hash_value: int, deck: int, hand: int, cards: list[int] | None) -> None:
    dealt = deal(hash_value, deck, hand)
    if cards is not None:
        assert dealt == cards
    assert len(set(dealt)) == hand and all(0 <= card < deck for card in dealt)


@given(st.integers(min_value=0, max_value=2**64 - 1), st.integers(min_value=1, max_value=200), st.data())
def test_deal_gives_distinct_cards(hash_value: int, deck: int, data: st.DataObject) -> None:
    hand = data.draw(st.integers(min_value=1, max_value=min(deck, 15)))
    dealt = deal(hash_value, deck, hand)
    assert len(set(dealt)) == hand and all(0 <= card < deck for card in dealt)


def test_hash_flow_id_is_sha256_of_schema_and_distinguisher() -> None:
    import hashlib
    expected = int.from_bytes(hashlib.sha256(b"global-default\x00system:anonymous").digest()[:8], "little")
    assert hash_flow_id("global-default", "system:anonymous") == expected
    assert Flow(schema="global-default", distinguisher="system:anonymous",
                level="global-default").hash() == expected
    assert hash_flow_id("a", "bc") != hash_flow_id("ab", "c")


def test_one_bootstrap_token_is_one_flow_49_seats_300_queued() -> None:
    apf = Apf()
    flow = apf.classify(BOOTSTRAP)
    outcomes = Counter(type(apf.admit(flow)).__name__ for _ in range(400))
    assert outcomes == {"Admitted": 49, "Queued": 300, "Rejected": 51}
    assert (apf.seats_in_use("global-default"), apf.waiting("global-default")) == (49, 300)
    assert apf.rejected("global-default") == 51
    assert apf.admit(flow) == Rejected(reason="queue-full")


def test_many_flows_share_the_levels_queues() -> None:
    apf = Apf()
    users = [RequestDigest(user=f"system:node:n{i}", groups=(AUTH,)) for i in range(2000)]
    outcomes = Counter(type(apf.admit(apf.classify(u))).__name__ for u in users)
    assert outcomes["Admitted"] == 49 and outcomes["Rejected"] == 0


def test_catch_all_rejects_without_queues() -> None:
    apf = Apf()
    assert all(isinstance(apf.admit("catch-all"), Admitted) for _ in range(13))
    assert apf.admit("catch-all") == Rejected(reason="concurrency-limit")
    assert apf.release("catch-all") is None
    assert isinstance(apf.admit("catch-all"), Admitted)


def test_exempt_is_never_limited() -> None:
    apf = Apf()
    assert all(isinstance(apf.admit("exempt"), Admitted) for _ in range(5000))
    assert apf.seats_in_use("exempt") == 5000
    assert apf.release("exempt") is None


def small() -> Apf:
    """Return one level with 2 seats and 2 queues of 2; every flow's hand is one queue."""
    return Apf(server_concurrency=2, levels=[PriorityLevel(name="a", shares=1, queues=2, hand_size=1,
                                                           queue_length_limit=2)], schemas=())


def test_admit_queue_reject_release_in_order() -> None:
    apf = small()
    flow = Flow(schema="s", distinguisher="u", level="a")
    first, second, third, fourth, fifth = (apf.admit(flow) for _ in range(5))
    assert isinstance(first, Admitted) and isinstance(second, Admitted)
    assert isinstance(third, Queued) and isinstance(fourth, Queued) and third.queue == fourth.queue
    assert fifth == Rejected(reason="queue-full")
    assert apf.release("a") == third.ticket
    assert apf.release("a") == fourth.ticket
    assert apf.release("a") is None
    assert (apf.seats_in_use("a"), apf.waiting("a")) == (1, 0)


def test_release_dispatches_round_robin_across_queues() -> None:
    apf = Apf(server_concurrency=1, levels=[PriorityLevel(name="a", shares=1, queues=2, hand_size=2,
                                                          queue_length_limit=10)], schemas=())
    assert isinstance(apf.admit("a"), Admitted)
    queued = [apf.admit("a") for _ in range(6)]
    assert all(isinstance(q, Queued) for q in queued)
    by_queue: dict[int, list[int]] = {}
    for q in queued:
        assert isinstance(q, Queued)
        by_queue.setdefault(q.queue, []).append(q.ticket)
    assert sorted(len(v) for v in by_queue.values()) == [3, 3]
    dispatched = [apf.release("a") for _ in range(6)]
    queues_in_order = [next(k for k, v in by_queue.items() if t in v) for t in dispatched]
    assert queues_in_order[0::2] == [queues_in_order[0]] * 3 and queues_in_order[1::2] == [queues_in_order[1]] * 3
    assert all(by_queue[k] == [t for t in dispatched if t in by_queue[k]] for k in by_queue)  # FIFO in a queue


def test_cancel_withdraws_a_waiting_request() -> None:
    apf = small()
    apf.admit("a"), apf.admit("a")
    queued = apf.admit("a")
    assert isinstance(queued, Queued)
    assert apf.cancel("a", queued.ticket)
    assert not apf.cancel("a", queued.ticket)
    assert apf.waiting("a") == 0 and apf.rejected("a") == 1
    assert apf.release("a") is None


@pytest.mark.parametrize(
    ("action", "message"),
    [
        pytest.param(lambda apf: apf.admit("nope"), "unknown priority level 'nope'", id="invalid: unknown level"),
        pytest.param(lambda apf: apf.release("system"), "no seat in use", id="invalid: release of a free level"),
        pytest.param(lambda apf: nominal_limits(600, [PriorityLevel(name="x", shares=0)]), "positive",
                     id="invalid: no shares"),
        pytest.param(lambda apf: PriorityLevel(name="x", shares=1, queues=4, hand_size=5, queue_length_limit=1),
                     "handSize", id="invalid: hand larger than deck"),
        pytest.param(lambda apf: PriorityLevel(name="x", shares=1, queues=4, hand_size=2), "queueLengthLimit",
                     id="invalid: queues without a length"),
        pytest.param(lambda apf: PriorityLevel(name="x", shares=-1), "shares", id="invalid: negative shares"),
    ],
)
def test_errors(action: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        action(Apf())


def test_too_many_requests_response() -> None:
    response = too_many_requests()
    assert response.status == 429
    assert response.encode() == b"Too many requests, please try again later.\n"
    assert response.headers == {"Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff",
                                "Retry-After": "1"}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["admit", "release", "cancel"]), st.integers(min_value=0, max_value=7)),
                max_size=300))
def test_accounting_invariants(ops: list[tuple[str, int]]) -> None:
    apf = Apf(server_concurrency=8, levels=[PriorityLevel(name="a", shares=1, queues=4, hand_size=2,
                                                          queue_length_limit=3)], schemas=())
    seated: set[int] = set()
    waiting: set[int] = set()
    for op, arg in ops:
        if op == "admit":
            outcome = apf.admit(Flow(schema="s", distinguisher=f"user-{arg}", level="a"))
            if isinstance(outcome, Admitted):
                seated.add(outcome.ticket)
            elif isinstance(outcome, Queued):
                waiting.add(outcome.ticket)
        elif op == "release" and seated:
            seated.pop()
            ticket = apf.release("a")
            if ticket is not None:
                assert ticket in waiting
                waiting.remove(ticket)
                seated.add(ticket)
        elif op == "cancel" and waiting:
            ticket = sorted(waiting)[arg % len(waiting)]
            assert apf.cancel("a", ticket)
            waiting.remove(ticket)
        assert apf.seats_in_use("a") == len(seated) <= apf.limit("a") == 8
        assert apf.waiting("a") == len(waiting) <= 4 * 3
        assert not waiting or apf.seats_in_use("a") == 8  # nobody waits while a seat is free
