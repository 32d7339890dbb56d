"""Poll a condition the way apimachinery's ``wait.PollUntilContextTimeout`` does.

How this works: the condition runs at once (``immediate=true``, as kubeadm
uses it), then on every tick of an ``interval`` ticker until the deadline.
Go's ticker keeps at most one pending tick, so an attempt that outlasts the
interval is followed by the next attempt straight away, not by a burst.
Durations are measured on the caller's clock (``ReadClock``), whose skew
cancels out in a difference.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Generator

from sim.protocol.commands import Command, ReadClock, Sleep

# A condition is a sub-workflow returning True when the wait is over.
Condition = Callable[[], Generator[Command, Any, bool]]


def poll_until_timeout(interval: float, timeout: float, condition: Condition) -> Generator[Command, Any, bool]:
    """Run ``condition`` now and on every tick; return True once it holds, False at the deadline."""
    start: datetime = yield ReadClock()
    ticks = 0
    while True:
        if (yield from condition()):
            return True
        now: datetime = yield ReadClock()
        elapsed = (now - start).total_seconds()
        if elapsed >= timeout:
            return False
        ticks = max(ticks + 1, int(elapsed // interval)) if interval > 0 else ticks + 1
        next_tick = ticks * interval
        if next_tick >= timeout:
            yield Sleep(seconds=max(0.0, timeout - elapsed))
            return False
        if next_tick > elapsed:
            yield Sleep(seconds=next_tick - elapsed)


def go_duration(seconds: float) -> str:
    """Format a duration as Go's ``time.Duration.String`` does (``5m0s``, ``4m0s``, ``10s``, ``1.5s``)."""
    if seconds == 0:
        return "0s"
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    if seconds < 1:
        nanos = round(seconds * 1e9)
        if nanos < 1000:
            return f"{sign}{nanos}ns"
        if nanos < 1_000_000:
            return f"{sign}{_trim(nanos / 1e3)}\u00b5s"
        return f"{sign}{_trim(nanos / 1e6)}ms"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    out = sign
    if hours:
        out += f"{int(hours)}h"
    if hours or minutes:
        out += f"{int(minutes)}m"
    return out + f"{_trim(secs)}s"


def _trim(value: float) -> str:
    text = f"{value:.9f}".rstrip("0").rstrip(".")
    return text or "0"
