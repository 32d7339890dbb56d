"""Check poll_until_timeout against wait.PollUntilContextTimeout and go_duration against time.Duration.String."""

from __future__ import annotations

from typing import Any, Generator, Sequence

import pytest

from sim.protocol.commands import Command, ReadClock, Sleep
from sim.protocol.poll import go_duration, poll_until_timeout
from tests.workflow_support import START, run_workflow


def scripted(durations: Sequence[float] = (), succeed_on: int | None = None) -> tuple[Any, list[float]]:
    """Build a condition whose n-th attempt takes durations[n] seconds and succeeds on attempt ``succeed_on``."""
    starts: list[float] = []

    def condition() -> Generator[Command, Any, bool]:
        now = yield ReadClock()
        starts.append((now - START).total_seconds())
        n = len(starts)
        if n <= len(durations) and durations[n - 1]:
            yield Sleep(seconds=durations[n - 1])
        return n == succeed_on

    return condition, starts


# (interval, timeout, attempt durations, succeed on attempt n, expected attempt starts, result, end time)
POLL_CASES = [
    pytest.param(5, 20, (), 1, [0], True, 0, id="valid: the first attempt runs at once and can end the wait"),
    pytest.param(5, 60, (), 3, [0, 5, 10], True, 10, id="valid: attempts follow the ticker until one succeeds"),
    pytest.param(5, 20, (), None, [0, 5, 10, 15], False, 20,
                 id="invalid: never true, gives up at the deadline with no attempt at the deadline itself"),
    pytest.param(5, 300, (), None, [5.0 * i for i in range(60)], False, 300,
                 id="invalid: kubeadm's discovery defaults try 60 times, at 0, 5, ... 295"),
    pytest.param(5, 30, (7,), None, [0, 7, 10, 15, 20, 25], False, 30,
                 id="invalid: a slow attempt is followed at once by the pending tick, then the grid resumes"),
    pytest.param(5, 30, (12,), None, [0, 12, 15, 20, 25], False, 30,
                 id="invalid: the ticker keeps one pending tick, so a very slow attempt does not cause a burst"),
    pytest.param(5, 30, (3, 3, 3, 3, 3, 3), None, [0, 5, 10, 15, 20, 25], False, 30,
                 id="invalid: attempts shorter than the interval keep to the grid (a ticker, not a sliding timer)"),
    pytest.param(5, 10, (0, 20), None, [0, 5], False, 25,
                 id="invalid: an attempt that outlasts the deadline is finished, then the wait ends"),
    pytest.param(5, 10, (0, 20), 2, [0, 5], True, 25,
                 id="valid: an attempt that succeeds after the deadline still counts"),
    pytest.param(0.5, 2, (), None, [0, 0.5, 1.0, 1.5], False, 2, id="invalid: sub-second intervals"),
    pytest.param(5, 2, (), None, [0], False, 2,
                 id="invalid: an interval longer than the timeout gives one attempt and ends at the timeout"),
    pytest.param(5, 0, (), None, [0], False, 0, id="invalid: a zero timeout still makes the immediate attempt"),
]


@pytest.mark.parametrize("interval, timeout, durations, succeed_on, starts, expected, end", POLL_CASES)
def test_poll_until_timeout(interval: float, timeout: float, durations: Sequence[float], succeed_on: int | None,
                            starts: list[float], expected: bool, end: float) -> None:
    condition, seen = scripted(durations, succeed_on)
    run = run_workflow(poll_until_timeout(interval, timeout, condition))
    assert run.error is None
    assert run.result is expected
    assert seen == pytest.approx(starts)
    assert run.now == pytest.approx(end)


def test_poll_until_timeout_measures_on_the_callers_clock() -> None:
    """The deadline is relative to the first ReadClock, so a skewed wall clock changes nothing."""
    seen: list[float] = []
    skewed = START.replace(year=2030)

    def relabel() -> Generator[Command, Any, bool]:
        now = yield ReadClock()
        seen.append((now - skewed).total_seconds())
        return False

    run = run_workflow(poll_until_timeout(5, 12, relabel), start=skewed)
    assert run.result is False
    assert seen == [0, 5, 10]
    assert run.now == 12


GO_DURATIONS = [
    pytest.param(0, "0s", id="valid: zero"),
    pytest.param(0.5, "500ms", id="valid: milliseconds below one second"),
    pytest.param(0.001, "1ms", id="valid: one millisecond"),
    pytest.param(0.0015, "1.5ms", id="valid: fractional milliseconds"),
    pytest.param(1, "1s", id="valid: one second"),
    pytest.param(1.5, "1.5s", id="valid: fractional seconds"),
    pytest.param(1.000000001, "1.000000001s", id="valid: nanosecond precision"),
    pytest.param(10, "10s", id="valid: the client timeout"),
    pytest.param(59.999, "59.999s", id="valid: just under a minute"),
    pytest.param(60, "1m0s", id="valid: one minute keeps 0s"),
    pytest.param(90.25, "1m30.25s", id="valid: minutes and fractional seconds"),
    pytest.param(240, "4m0s", id="valid: KubeletHealthCheckTimeout"),
    pytest.param(300, "5m0s", id="valid: DiscoveryTimeout"),
    pytest.param(3600, "1h0m0s", id="valid: one hour keeps 0m0s"),
    pytest.param(3661, "1h1m1s", id="valid: hours, minutes and seconds"),
    pytest.param(7200, "2h0m0s", id="valid: DefaultCertTokenDuration"),
    pytest.param(8760 * 3600, "8760h0m0s", id="valid: hours do not roll over into days"),
    pytest.param(-1.5, "-1.5s", id="valid: negative"),
    pytest.param(0.0005, "500µs", id="valid: microseconds use the micro sign"),
    pytest.param(1e-9, "1ns", id="valid: one nanosecond"),
]


@pytest.mark.parametrize("seconds, text", GO_DURATIONS)
def test_go_duration_matches_time_duration_string(seconds: float, text: str) -> None:
    assert go_duration(seconds) == text
