"""Check that an engine run's event log becomes the calls and steps draw_sequence draws."""

from __future__ import annotations

from sim.engine import ClusterSettings, EngineConfig, JoinSettings, MitmAttacker, NodeGroup, simulate
from sim.teach.engine_trace import trace_of
from sim.teach.sequence import draw_sequence
from sim.teach.trace import Call, Step


def test_a_node_behind_a_man_in_the_middle_sends_nothing_to_the_api_server() -> None:
    result = simulate(EngineConfig(cluster=ClusterSettings(ca_key_type="ecdsa"), log_requests=True,
                                   groups=(NodeGroup(name="w", count=1, join=JoinSettings(pinned=False)),),
                                   attackers=(MitmAttacker(name="mallory", group="w", knows_token=True),)))
    events = trace_of(result.events, {"w-1", "mallory", "csrapproving"})
    calls = [e for e in events if isinstance(e, Call)]
    steps = [e for e in events if isinstance(e, Step)]
    assert calls and {c.sender for c in calls} == {"mallory", "csrapproving"}
    assert calls[0].method == "GET" and calls[0].path.endswith("/cluster-info") and calls[0].status == 200
    assert {s.sender for s in steps} == {"w-1"}
    texts = [s.text for s in steps]
    assert texts[0] == "[preflight] phase" and texts[-1] == "kubeadm join succeeded"
    assert "discovered (pinned=false, server=mallory)" in texts and "discovery-attempt" not in " ".join(texts)
    assert [e.t for e in events] == sorted(e.t for e in events)
    fig = draw_sequence(events, lanes=["w-1", "mallory", "kube-apiserver", "csrapproving"])
    assert fig.axes


def test_rejections_become_429_calls_and_other_sources_are_left_out() -> None:
    log = [(1.0, "apiserver", "rejected", (("from", "n-1"), ("path", "/api"), ("level", "global-default"))),
           (1.5, "apiserver", "request", (("from", "n-2"), ("method", "GET"), ("path", "/x"), ("status", "200"))),
           (2.0, "n-1", "join-finished", (("error", "boom"), ("joined", "false"))),
           (2.0, "n-1", "discovery-attempt", ())]
    events = trace_of(log, {"n-1"})
    assert events == [
        Call(t=1.0, sender="n-1", node="", method="", path="/api", purpose="", credential="", tls_verified=True,
             status=429),
        Step(t=2.0, sender="n-1", node="", kind="mark", text="kubeadm join failed"),
    ]
