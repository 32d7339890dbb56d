"""Run one workflow generator to completion on a virtual clock, for unit tests.

How this works: ``run_workflow`` is the smallest driver there is. It answers
the commands a protocol workflow yields (``ReadClock``, ``Sleep``,
``HttpRequest``, ``ReadFile``, ``Log``, ``Mark``, ``ChargeCpu``) from a script
the test supplies, and records what the workflow did and when. Time only
moves on ``Sleep`` and, if the test asks, while a request is in flight. Any
other command is a test failure: a unit under test that needs more belongs in
the harness (``sim/harness.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Generator, Mapping

from sim.protocol.commands import ChargeCpu, Command, HttpRequest, Log, Mark, ReadClock, ReadFile, Sleep, TransportFailure
from sim.protocol.http import Response

START = datetime(2026, 1, 1, tzinfo=timezone.utc)

# Answer a request sent at virtual time t (seconds since the start).
HttpScript = Callable[[float, HttpRequest], Response | TransportFailure]


@dataclass
class Run:
    """Record how a workflow ran: its outcome and every observable step with its virtual time."""

    result: Any = None
    error: BaseException | None = None
    now: float = 0.0
    """Virtual seconds elapsed when the workflow finished."""
    requests: list[tuple[float, HttpRequest]] = field(default_factory=list)
    logs: list[tuple[float, Log]] = field(default_factory=list)
    marks: list[tuple[float, Mark]] = field(default_factory=list)
    reads: list[tuple[float, str]] = field(default_factory=list)
    cpu: list[tuple[float, str]] = field(default_factory=list)
    sleeps: list[tuple[float, float]] = field(default_factory=list)

    @property
    def error_text(self) -> str:
        """Return the text of the raised error, failing the test if the workflow succeeded."""
        assert self.error is not None, f"expected an error, got result {self.result!r}"
        return str(self.error)

    @property
    def request_times(self) -> list[float]:
        """Return when each request was sent."""
        return [t for t, _ in self.requests]

    @property
    def log_texts(self) -> list[str]:
        """Return the printed lines, in order."""
        return [log.text for _, log in self.logs]

    @property
    def milestones(self) -> list[str]:
        """Return the names of the marks, in order."""
        return [mark.milestone for _, mark in self.marks]


def _no_http(t: float, request: HttpRequest) -> Response | TransportFailure:
    raise AssertionError(f"unexpected request at t={t}: {request}")


def run_workflow(
    workflow: Generator[Command, Any, Any],
    *,
    http: HttpScript = _no_http,
    files: Mapping[str, bytes] | None = None,
    latency: float | Callable[[float, HttpRequest], float] = 0.0,
    start: datetime = START,
    max_steps: int = 100_000,
) -> Run:
    """Drive ``workflow`` to its end; return a ``Run`` holding its result or the exception it raised.

    ``latency`` is how long each request takes (a constant or a function of the
    send time and the request); the answer is computed at the send time.
    """
    run = Run()
    files = dict(files or {})
    value: Any = None
    for _ in range(max_steps):
        try:
            command = workflow.send(value)
        except StopIteration as stop:
            run.result = stop.value
            return run
        except Exception as err:  # the workflow failed: that is an outcome, not a test error
            run.error = err
            return run
        value = None
        if isinstance(command, ReadClock):
            value = start + timedelta(seconds=run.now)
        elif isinstance(command, Sleep):
            assert command.seconds >= 0, f"negative sleep at t={run.now}: {command.seconds}"
            run.sleeps.append((run.now, command.seconds))
            run.now += command.seconds
        elif isinstance(command, HttpRequest):
            run.requests.append((run.now, command))
            value = http(run.now, command)
            run.now += latency(run.now, command) if callable(latency) else latency
        elif isinstance(command, ReadFile):
            run.reads.append((run.now, command.path))
            value = files.get(command.path)
        elif isinstance(command, Log):
            run.logs.append((run.now, command))
        elif isinstance(command, Mark):
            run.marks.append((run.now, command))
        elif isinstance(command, ChargeCpu):
            run.cpu.append((run.now, command.operation))
        else:
            raise AssertionError(f"unexpected command at t={run.now}: {command!r}")
    raise AssertionError(f"workflow still running after {max_steps} steps (t={run.now})")
