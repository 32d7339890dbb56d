"""Check the API server model: APF classification from credentials, seats, queues, 429s, CPU, watches."""

from __future__ import annotations

import dataclasses

import pytest

from sim.control.controllers.base import CONTROLLER_MANAGER
from sim.engine.apf import DEFAULT_PRIORITY_LEVELS, TOO_MANY_REQUESTS_TEXT, Apf, PriorityLevel
from sim.engine.apiserver import ApiServerSettings, claimed_user, queue_wait_limit, request_digest
from sim.protocol.http import ClientSubject, Request
from tests.engine_support import CLUSTER_INFO, bench, costs_with, run

CM_PATH = "/api/v1/namespaces/kube-public/configmaps/cluster-info"
NODE = ClientSubject(common_name="system:node:w-1", organizations=("system:nodes",))


def tiny_levels(queues: int = 1, limit: int = 1) -> tuple[PriorityLevel, ...]:
    """Return the default levels with global-default cut down to ``queues`` queues of ``limit`` requests."""
    return tuple(dataclasses.replace(level, queues=queues, hand_size=1, queue_length_limit=limit)
                 if level.name == "global-default" else level for level in DEFAULT_PRIORITY_LEVELS)


@pytest.mark.parametrize(
    "request_, user, groups",
    [
        pytest.param(Request.build("GET", CM_PATH), "system:anonymous", ("system:unauthenticated",),
                     id="valid: no credentials is anonymous"),
        pytest.param(Request.build("GET", CM_PATH, bearer="abcdef.0123456789abcdef"), "system:bootstrap:abcdef",
                     ("system:bootstrappers", "system:authenticated"), id="valid: a bootstrap token"),
        pytest.param(Request.build("GET", "/api/v1/nodes/w-1", client=NODE), "system:node:w-1",
                     ("system:nodes", "system:authenticated"), id="valid: a client certificate"),
    ],
)
def test_apf_reads_the_user_from_the_credentials(request_: Request, user: str, groups: tuple[str, ...]) -> None:
    assert claimed_user(request_) == (user, groups)


@pytest.mark.parametrize(
    "request_, level",
    [
        pytest.param(Request.build("GET", CM_PATH), "global-default", id="anonymous discovery"),
        pytest.param(Request.build("POST", "/apis/certificates.k8s.io/v1/certificatesigningrequests",
                                   bearer="abcdef.0123456789abcdef"), "global-default", id="bootstrap token CSR"),
        pytest.param(Request.build("POST", "/api/v1/nodes", client=NODE), "node-high", id="node registration"),
        pytest.param(Request.build("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews",
                                   client=CONTROLLER_MANAGER), "workload-high", id="controller manager"),
    ],
)
def test_requests_land_in_upstreams_priority_levels(request_: Request, level: str) -> None:
    assert Apf().classify(request_digest(request_)).level == level


@pytest.mark.parametrize(
    "query, limit",
    [
        pytest.param("?timeout=10s", 2.5, id="a quarter of the client's timeout"),
        pytest.param("", 15.0, id="no timeout: a quarter of --request-timeout"),
        pytest.param("?timeout=10m", 15.0, id="capped by --request-timeout"),
        pytest.param("?timeout=soon", 15.0, id="an unparseable timeout counts as none"),
    ],
)
def test_queue_wait_limit(query: str, limit: float) -> None:
    assert queue_wait_limit(Request.build("GET", CM_PATH + query)) == limit


def test_requests_share_the_cores_for_their_modelled_cost() -> None:
    b = bench(ApiServerSettings(cores=1))
    first = b.start(b.server.serve(Request.build("GET", CLUSTER_INFO), "a"))
    second = b.start(b.server.serve(Request.build("GET", CLUSTER_INFO), "b"))
    b.env.run(until=first)
    assert b.env.now == pytest.approx(250e-6)  # "get configmaps" in the packaged table
    b.env.run(until=second)
    assert b.env.now == pytest.approx(500e-6)
    assert first.value.status == 200 and first.value.server == "control-plane"
    assert b.server.requests.value == 2


def test_a_full_queue_answers_429_with_retry_after() -> None:
    b = bench(ApiServerSettings(server_concurrency=1, levels=tiny_levels(queues=1, limit=1)))
    procs = [b.start(b.server.serve(Request.build("GET", CLUSTER_INFO), str(i))) for i in range(3)]
    b.env.run(until=procs[-1])
    rejected = procs[-1].value
    assert rejected.status == 429 and rejected.text == TOO_MANY_REQUESTS_TEXT
    assert rejected.headers["Retry-After"] == "1"
    b.env.run(until=procs[1])
    assert [p.value.status for p in procs] == [200, 200, 429]
    assert b.server.rejected.value == 1


def test_a_queued_request_gives_up_after_a_quarter_of_its_timeout() -> None:
    b = bench(ApiServerSettings(server_concurrency=1, levels=tiny_levels(queues=1, limit=5)),
              costs=costs_with(requests={"get configmaps": 20e6}))
    holder = b.start(b.server.serve(Request.build("GET", CLUSTER_INFO), "holder"))
    waiter = b.start(b.server.serve(Request.build("GET", CLUSTER_INFO + "?timeout=10s"), "waiter"))
    b.env.run(until=waiter)
    assert b.env.now == pytest.approx(2.5) and waiter.value.status == 429
    b.env.run(until=holder)
    assert holder.value.status == 200 and b.env.now == pytest.approx(20.0)


def test_watchers_of_an_object_wake_when_it_changes() -> None:
    b = bench()
    key = ("configmaps", "kube-public", "cluster-info")
    other = b.server.watch(("configmaps", "kube-system", "kubeadm-config"))
    changed = b.server.watch(key)
    current = b.server.current(key)
    assert current.status == 200
    body = dict(current.body, data={**current.body["data"], "extra": "x"})
    put = Request.build("PUT", CLUSTER_INFO, body=body, client=b.plane.admin_subject())
    done = b.start(b.server.serve(put, "admin"))
    b.env.run(until=done)
    assert done.value.status == 200
    assert changed.triggered and not other.triggered
    assert b.server.current(("configmaps", "kube-public", "nope")).status == 404


def test_tiny_seats_make_a_storm_meet_429s_that_client_go_retries() -> None:
    result = run(30, apiserver=ApiServerSettings(server_concurrency=2, levels=tiny_levels(queues=1, limit=3)))
    server = result.servers[0]
    assert server.rejected_429 > 0
    assert max(server.series.column("rejected-429")) == server.rejected_429
    assert max(server.series.column("queued/global-default/peak")) == 3
    assert result.counts["joined"] == 30  # every 429 came with Retry-After: 1, and client-go retried
