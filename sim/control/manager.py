"""Run the controllers' work queues to a fixed point, for drivers that do not model their cost.

How this works: like kube-controller-manager, each controller has a
de-duplicating work queue fed by watch events. ``pump(now)`` turns new store
events into keys, then reconciles keys until every queue is empty, passing
each request a reconcile yields to ``handle`` (the API server) and sending the
response back. Delayed re-queues (``Requeue``) and periodic resyncs are
returned as timers for the driver to fire later with ``enqueue``. The
simulation engine keeps its own queues instead, to charge time and rate limits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Sequence

from sim.control.controllers.base import Controller, Requeue
from sim.control.store import Store
from sim.protocol.http import Request, Response

Handler = Callable[[Request, datetime], Response]


@dataclass(frozen=True, slots=True, kw_only=True)
class Timer:
    """Ask the driver to enqueue ``key`` for ``controller`` after ``delay`` seconds."""

    delay: float
    controller: str
    key: str


class ControllerManager:
    """Own the controllers' queues and run them against an API handler."""

    def __init__(self, store: Store, controllers: Sequence[Controller], handle: Handler) -> None:
        self._store = store
        self._controllers = {c.name: c for c in controllers}
        self._queues: dict[str, dict[str, None]] = {c.name: {} for c in controllers}
        self._handle = handle
        self._seen = store.revision
        self.api_calls = 0
        for controller in controllers:
            for key in controller.initial_keys():
                self._queues[controller.name][key] = None

    @property
    def controllers(self) -> list[Controller]:
        """Return the managed controllers in start order."""
        return list(self._controllers.values())

    def start_timers(self) -> list[Timer]:
        """Return the first periodic resync of each controller that has one."""
        return [Timer(delay=c.resync_period, controller=c.name, key="")
                for c in self._controllers.values() if c.resync_period]

    def enqueue(self, controller: str, key: str) -> list[Timer]:
        """Add a key (``""`` means a full resync) and return the next resync timer if periodic."""
        target = self._controllers[controller]
        if key:
            self._queues[controller][key] = None
            return []
        for initial in target.initial_keys():
            self._queues[controller][initial] = None
        return [Timer(delay=target.resync_period, controller=controller, key="")] if target.resync_period else []

    def pump(self, now: datetime) -> list[Timer]:
        """Process events and queues until nothing is left; return the delayed re-queues."""
        timers: list[Timer] = []
        while True:
            self._absorb_events()
            name, key = self._next()
            if not name:
                return timers
            requeue = self._reconcile(self._controllers[name], key, now)
            if requeue is not None:
                timers.append(Timer(delay=requeue.after, controller=name, key=key))

    def _absorb_events(self) -> None:
        for event in self._store.events_since(self._seen):
            for name, controller in self._controllers.items():
                for key in controller.keys_for(event):
                    self._queues[name][key] = None
        self._seen = self._store.revision

    def _next(self) -> tuple[str, str]:
        for name, queue in self._queues.items():
            if queue:
                key = next(iter(queue))
                del queue[key]
                return name, key
        return "", ""

    def _reconcile(self, controller: Controller, key: str, now: datetime) -> Requeue | None:
        steps = controller.reconcile(key, now)
        try:
            request = next(steps)
            while True:
                self.api_calls += 1
                request = steps.send(self._handle(request, now))
        except StopIteration as done:
            result = done.value
            return result if isinstance(result, Requeue) else None
