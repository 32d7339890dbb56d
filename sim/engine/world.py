"""Own what every engine process shares: the simulated clock, the run's randomness and its event log.

How this works: the clock is a ``simpy.Environment`` counting seconds from
0; the wall clock every component reads is the scenario's ``start`` plus
``env.now`` (a node adds its own skew). All randomness comes from one
``random.Random(seed)`` (DESIGN rule 6). Parts that draw often and
independently (each node's keys and jitter, the network's latencies) get a
generator of their own from ``stream(name)``: it is seeded from a value the
root generator draws once and from the name, so it does not depend on the
order in which streams are made, and adding a node group leaves every other
node's keys alone.

The event log is a list of plain tuples ``(time, source, event, attrs)``
with ``attrs`` a sorted tuple of string pairs. ``lines()`` serializes it as
JSON lines with a fixed layout, so the same scenario and seed give a
byte-identical log (SimPy orders simultaneous events by scheduling order,
which is itself deterministic).
"""

from __future__ import annotations

import hashlib
import json
import random
from datetime import datetime, timedelta
from typing import Iterator

import simpy

__all__ = ["Event", "EventLog", "World"]

Event = tuple[float, str, str, tuple[tuple[str, str], ...]]
"""One logged event: simulated seconds, source (a node, ``apiserver``, a controller), event name, attributes."""


class EventLog:
    """Record events as plain tuples and serialize them the same way every time."""

    __slots__ = ("events",)

    def __init__(self) -> None:
        self.events: list[Event] = []

    def record(self, t: float, source: str, event: str, attrs: dict[str, str] | None = None) -> None:
        """Append one event; attribute values are turned into strings."""
        items = tuple(sorted((k, str(v)) for k, v in attrs.items())) if attrs else ()
        self.events.append((t, source, event, items))

    def __len__(self) -> int:
        return len(self.events)

    def __iter__(self) -> Iterator[Event]:
        return iter(self.events)

    def lines(self) -> Iterator[str]:
        """Yield one JSON line per event: ``[time, source, event, {attrs}]`` with sorted keys."""
        for t, source, event, attrs in self.events:
            yield json.dumps([t, source, event, dict(attrs)], separators=(",", ":"), sort_keys=True)

    def dumps(self) -> str:
        """Return the whole log as JSON lines, each ending in a newline."""
        return "".join(line + "\n" for line in self.lines())

    def digest(self) -> str:
        """Return the SHA-256 of ``dumps()``: equal digests mean byte-identical logs."""
        sha = hashlib.sha256()
        for line in self.lines():
            sha.update(line.encode())
            sha.update(b"\n")
        return sha.hexdigest()


class World:
    """Hold the SimPy environment, the seeded generator, the start time and the event log."""

    def __init__(self, seed: int, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("the start time must be timezone-aware (UTC), as the cluster's clocks are")
        self.env = simpy.Environment()
        self.seed = seed
        self.rng = random.Random(seed)
        self._stream_base = self.rng.getrandbits(64)
        self.start = start
        self.log = EventLog()
        self._clock: tuple[float, datetime] = (0.0, start)

    @property
    def t(self) -> float:
        """Return the simulated seconds since the start."""
        return float(self.env.now)

    def now(self) -> datetime:
        """Return the simulated wall clock: the start plus the elapsed simulated time (kept for the instant)."""
        t = self.env.now
        if t != self._clock[0]:
            self._clock = (t, self.start + timedelta(seconds=t))
        return self._clock[1]

    def stream(self, name: str) -> random.Random:
        """Return a generator of its own for ``name``, derived from the root generator (module docstring)."""
        return random.Random(f"{self._stream_base}/{name}")

    def record(self, source: str, event: str, attrs: dict[str, str] | None = None) -> None:
        """Log an event at the current simulated time."""
        self.log.record(float(self.env.now), source, event, attrs)
