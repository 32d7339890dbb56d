"""Check the controller-manager model: work queues, the client token bucket's bound, informer delay, signing CPU."""

from __future__ import annotations

import simpy
import pytest

from sim.engine.apiserver import ApiServerSettings
from sim.engine.controllers import INFORMER_DELAY, ControllerSettings, WorkQueue
from sim.engine.run import SimResult
from sim.protocol.constants import CONTROLLER_CLIENT_BURST, CONTROLLER_CLIENT_QPS
from tests.engine_support import costs_with, run


def test_work_queue_hands_out_each_key_once() -> None:
    queue = WorkQueue(simpy.Environment())
    for key in ("a", "b", "a"):
        queue.add(key)
    assert len(queue) == 2
    assert (queue.take(), queue.take(), queue.take()) == ("a", "b", None)


def test_a_key_added_while_processing_comes_back_after_done() -> None:
    queue = WorkQueue(simpy.Environment())
    queue.add("a")
    assert queue.take() == "a"
    queue.add("a")
    queue.add("a")
    assert queue.take() is None  # not handed to a second worker while the first holds it
    queue.done("a")
    assert queue.take() == "a" and queue.take() is None


def test_an_idle_worker_gets_the_next_key() -> None:
    env = simpy.Environment()
    queue = WorkQueue(env)
    waiting = queue.wait()
    queue.add("k")
    assert waiting.triggered and waiting.value == "k" and len(queue) == 0


@pytest.mark.parametrize(
    "settings",
    [
        pytest.param(dict(qps=0.0), id="invalid: qps 0"),
        pytest.param(dict(burst=0), id="invalid: burst 0"),
        pytest.param(dict(informer_delay=-1.0), id="invalid: negative informer delay"),
        pytest.param(dict(workers=(("csrapproving", 0),)), id="invalid: no workers"),
    ],
)
def test_controller_settings_are_validated(settings: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        ControllerSettings(**settings)  # type: ignore[arg-type]


def approvals(result: SimResult) -> list[float]:
    return sorted(t for t, source, event, _ in result.events if source == "apiserver" and event == "csr-approved")


def test_a_storm_is_approved_no_faster_than_the_approvers_token_bucket_allows() -> None:
    result = run(200)
    assert result.counts["joined"] == 200
    assert result.counts["api-calls/csrapproving"] == 2 * 200  # a SubjectAccessReview and an approval each
    times = approvals(result)
    assert len(times) == 200
    qps, burst = CONTROLLER_CLIENT_QPS, CONTROLLER_CLIENT_BURST
    # The k-th approval spends the client's 2k-th token; the bucket holds burst + qps * t tokens by time t.
    for k, t in enumerate(times, 1):
        assert 2 * k <= burst + qps * t + 1e-9
    after_burst = times[burst // 2:]
    for i, start in enumerate(after_burst):
        in_window = sum(1 for t in after_burst[i:] if t < start + 1.0)
        assert in_window <= qps / 2 + 1
    rate = (len(after_burst) - 1) / (after_burst[-1] - after_burst[0])
    assert rate == pytest.approx(qps / 2, rel=0.05)  # the bucket, not anything else, sets the pace


def test_a_faster_client_approves_the_same_storm_sooner() -> None:
    slow = approvals(run(60))
    fast = approvals(run(60, controllers=ControllerSettings(qps=1000.0, burst=1000)))
    assert fast[-1] < slow[-1] / 4


def test_events_reach_the_controllers_after_the_informer_delay() -> None:
    result = run(5, controllers=ControllerSettings(informer_delay=0.5))
    for node in result.nodes:
        created, issued = node.milestone("csr-created"), node.milestone("csr-issued")
        assert created is not None and issued is not None
        assert issued - created >= 2 * 0.5  # creation seen by the approver, approval seen by the signer


def signing_span(cores: int) -> float:
    """Return the time from the first approval to the last issuance when each signature costs 1 s of CPU."""
    result = run(4, apiserver=ApiServerSettings(cores=cores), costs=costs_with(crypto={"sign_ecdsa_ca": 1e6}))
    issued = sorted(t for t, source, event, _ in result.events if source == "apiserver" and event == "csr-issued")
    assert len(issued) == 4
    return issued[-1] - approvals(result)[0]


def test_signing_takes_control_plane_cpu() -> None:
    one, two = signing_span(1), signing_span(2)
    # The signer sees the approval an informer delay later, then signs four times for 1 s each.
    assert one == pytest.approx(INFORMER_DELAY + 4.0, abs=0.01)  # one after the other on the only core
    assert two == pytest.approx(INFORMER_DELAY + 2.0, abs=0.01)  # two at a time
