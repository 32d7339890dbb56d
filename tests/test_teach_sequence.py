"""Check the sequence diagram: lane order, arrow labels, and that a traced join renders."""

from __future__ import annotations

import io

import pytest

from sim.teach.sequence import API_SERVER, call_label, draw_sequence, lane_of, lanes_for
from sim.teach.trace import Call, Step, TracingHarness
from tests.teach_support import joined


def call(**overrides: object) -> Call:
    fields: dict[str, object] = dict(t=0.0, sender="kubeadm", node="node-1", method="GET",
                                     path="/api/v1/namespaces/kube-public/configmaps/cluster-info", purpose="",
                                     credential="anonymous", tls_verified=True, status=200)
    fields.update(overrides)
    return Call(**fields)  # type: ignore[arg-type]


def test_lanes_put_node_programs_first_then_the_api_server_then_the_rest() -> None:
    events = [call(sender="bootstrapsigner", node=""), call(), Step(t=0, sender="kubelet", node="node-1", kind="mark",
                                                                   text="x"), call(sender="attacker", node="")]
    assert lanes_for(events) == ["kubeadm@node-1", "kubelet@node-1", API_SERVER, "bootstrapsigner", "attacker"]
    assert lane_of(events[0]) == "bootstrapsigner"


@pytest.mark.parametrize(
    "overrides, expected",
    [
        pytest.param({}, "GET kube-public/configmaps/cluster-info → 200\nanonymous", id="valid: a verified call"),
        pytest.param({"tls_verified": False}, "GET kube-public/configmaps/cluster-info → 200\nanonymous, TLS not verified",
                     id="valid: the first discovery fetch"),
        pytest.param({"method": "WATCH", "status": None}, "WATCH kube-public/configmaps/cluster-info → (open)\nanonymous",
                     id="valid: an open watch"),
        pytest.param({"status": None, "error": "dial tcp 10.0.0.1:6443: connect: connection refused"},
                     "GET kube-public/configmaps/cluster-info → dial tcp 10.0.0.1:6443: connect: connection r...\n"
                     "anonymous", id="invalid: a transport failure is shortened"),
        pytest.param({"status": 401, "credential": "token abcdef"},
                     "GET kube-public/configmaps/cluster-info → 401\ntoken abcdef", id="invalid: a rejected token"),
    ],
)
def test_call_label(overrides: dict[str, object], expected: str) -> None:
    assert call_label(call(**overrides)) == expected


def test_a_traced_join_renders_as_png() -> None:
    run = joined()
    assert isinstance(run.harness, TracingHarness)
    fig = draw_sequence(run.harness.events, title="node-1 joins")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "kubeadm\nnode-1" in texts and API_SERVER in texts
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=40)
    assert buffer.getvalue().startswith(b"\x89PNG")


def test_chosen_lanes_leave_other_events_out_and_long_traces_are_cut() -> None:
    events = [call(t=float(i)) for i in range(10)] + [call(sender="csrapproving", node="")]
    fig = draw_sequence(events, lanes=["kubeadm@node-1", API_SERVER], max_rows=4)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "... 6 more events not drawn" in texts
    assert "csrapproving" not in texts
    assert sum(1 for t in texts if t.startswith("t=")) == 4
