"""Define what a kube-controller-manager controller looks like to the drivers.

How this works: a controller reads from an informer cache (here: the store,
read-only) and writes only through API requests, as the real ones do. It maps
watch events to work-queue keys; ``reconcile(key, now)`` is a generator that
yields ``Request``s (each one API call, made as the controller-manager's
identity), receives their ``Response``s, and returns an optional ``Requeue``.
Drivers own the queues, the worker counts, the client rate limiter and time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generator, Protocol

from sim.control.store import Store, WatchEvent
from sim.protocol.http import ClientSubject, Request, Response

CONTROLLER_MANAGER = ClientSubject(common_name="system:kube-controller-manager")
"""The identity controllers use for their API calls (a model: upstream uses per-controller service accounts)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Requeue:
    """Ask for the key to be processed again after ``after`` seconds (client-go's ``AddAfter``)."""

    after: float


Reconcile = Generator[Request, Response, "Requeue | None"]


class Controller(Protocol):
    """A reconcile loop with a name, a worker count and an optional periodic resync."""

    name: str
    workers: int
    resync_period: float | None

    def keys_for(self, event: WatchEvent) -> list[str]:
        """Return the work-queue keys a change enqueues (often none)."""
        ...

    def initial_keys(self) -> list[str]:
        """Return the keys to process at start-up and at every resync."""
        ...

    def reconcile(self, key: str, now: datetime) -> Reconcile:
        """Bring the world in line for one key, one API request per ``yield``."""
        ...


def controller_request(method: str, target: str, body: object = None) -> Request:
    """Build an API request made with the controller-manager's identity."""
    return Request.build(method, target, body=body, client=CONTROLLER_MANAGER)


__all__ = ["CONTROLLER_MANAGER", "Controller", "Reconcile", "Requeue", "Store", "controller_request"]
