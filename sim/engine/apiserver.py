"""Serve API requests in simulated time: APF seats and queues, control-plane CPU, atomic state changes.

How this works (the API server model): a request that has crossed the
network enters ``serve``. API Priority and Fairness (``sim.engine.apf``)
classifies it by its user, read from the request's credentials, and seats,
queues or rejects it; a rejection is kube-apiserver's 429 with
``Retry-After: 1``. A queued request waits at most a quarter of its deadline
(the ``?timeout=`` it carries, else ``--request-timeout`` 60 s), capped at a
minute (``getRequestWaitContext``), then gets the 429 too. While it holds a
seat the request needs one of the control plane's CPU cores (a
``simpy.Resource``, 2 by default, shared with the controller manager's
crypto) for its modelled cost (``CostTable.request_seconds``, plus the CSR
signature check on a CSR create). ``ControlPlane.handle`` runs at the end of
service, so each state change is atomic at one simulated instant; then the
seat is freed and passed to the next queued request.

After every state change the server publishes the store's new watch events:
to watchers of that object (a node waiting on its CSR; indexed by object, no
polling) and to subscribers (the controller manager's informers).

Modelled, not reproduced: APF classifies by the identity the credentials
claim (``system:bootstrap:<id>`` for a bootstrap token, CN / O for a client
certificate, else ``system:anonymous``) before authentication, so a request
with a bad token still takes a seat for its (short) service; watches cost no
seat after their first GET. Upstream: staging/src/k8s.io/apiserver/pkg/server/
filters/priority-and-fairness.go, .../pkg/util/flowcontrol/apf_filter.go.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Final, Generator

import simpy

from sim.control import status
from sim.control.plane import ControlPlane
from sim.control.requestinfo import RequestInfo, parse_request_info
from sim.control.store import WatchEvent
from sim.engine.apf import DEFAULT_PRIORITY_LEVELS, DEFAULT_SERVER_CONCURRENCY, Apf, PriorityLevel, Queued, Rejected
from sim.engine.apf import RequestDigest, too_many_requests
from sim.engine.costs import CostTable
from sim.engine.metrics import Sampler
from sim.engine.units import parse_duration
from sim.engine.world import World
from sim.protocol import constants as C
from sim.protocol.http import Request, Response
from sim.protocol.objects import name_of, namespace_of

__all__ = ["ApiServerSettings", "ObjectKey", "SimApiServer", "claimed_user", "object_key", "queue_wait_limit",
           "request_digest"]

# kube-apiserver --request-timeout default (pkg/server/options/server_run_options.go)
REQUEST_TIMEOUT: Final = 60.0
# apf_filter.go getRequestWaitContext: "the wait limit for any request must not exceed the hard limit of 1m"
MAX_QUEUE_WAIT: Final = 60.0

ObjectKey = tuple[str, str, str]
"""(resource, namespace, name) of one object, as the store keys it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiServerSettings:
    """Size the API server: CPU cores, APF seats and levels, and the request timeout."""

    cores: int = C.CONTROL_PLANE_NUM_CPU
    """Model: the control plane's CPU cores (kubeadm's preflight minimum is 2)."""
    server_concurrency: int = DEFAULT_SERVER_CONCURRENCY
    levels: tuple[PriorityLevel, ...] = DEFAULT_PRIORITY_LEVELS
    request_timeout: float = REQUEST_TIMEOUT

    def __post_init__(self) -> None:
        if self.cores < 1 or self.server_concurrency < 1 or not self.request_timeout > 0:
            raise ValueError("the API server needs at least one core, one seat and a positive request timeout")


def claimed_user(request: Request) -> tuple[str, tuple[str, ...]]:
    """Return the user and groups the request's credentials claim (APF's view; see the module docstring)."""
    if request.client is not None and request.client.common_name:
        return request.client.common_name, (*request.client.organizations, C.AUTHENTICATED_GROUP)
    header = request.header("Authorization") or ""
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() == "bearer" and token:
        token_id = token.split(".", 1)[0]
        return C.BOOTSTRAP_USER_PREFIX + token_id, (C.BOOTSTRAP_DEFAULT_GROUP, C.AUTHENTICATED_GROUP)
    return C.ANONYMOUS_USER, (C.UNAUTHENTICATED_GROUP,)


def request_digest(request: Request, info: RequestInfo | None = None) -> RequestDigest:
    """Return what APF classifies a request by: the claimed user and the request's attributes."""
    if info is None:
        info = parse_request_info(request.method, request.path, request.query)
    user, groups = claimed_user(request)
    return RequestDigest(user=user, groups=groups, verb=info.verb, api_group=info.api_group, resource=info.resource,
                         subresource=info.subresource, namespace=info.namespace, path=info.path)


def queue_wait_limit(request: Request, request_timeout: float = REQUEST_TIMEOUT) -> float:
    """Return how long APF lets the request wait in a queue: a quarter of its deadline, at most a minute."""
    deadline = request_timeout
    raw = request.query.get("timeout")
    if raw:
        try:
            asked = parse_duration(raw)
        except ValueError:
            asked = 0.0
        if asked > 0:
            deadline = min(asked, request_timeout)
    return min(deadline / 4, MAX_QUEUE_WAIT)


def object_key(info: RequestInfo) -> ObjectKey:
    """Return the store key a request for one object addresses."""
    return info.resource, info.namespace, info.name


class SimApiServer:
    """Run kube-apiserver's request path on simulated time (module docstring)."""

    def __init__(self, world: World, plane: ControlPlane, costs: CostTable, settings: ApiServerSettings,
                 sampler: Sampler, *, host: str, log_requests: bool = False) -> None:
        self.world = world
        self.env = world.env
        self.plane = plane
        self.name = plane.name
        self.host = host
        self.costs = costs
        self.settings = settings
        self.log_requests = log_requests
        self.cores = simpy.Resource(self.env, capacity=settings.cores)
        self.apf = Apf(settings.server_concurrency, settings.levels)
        self._levels = tuple(level.name for level in settings.levels)
        self._queued: dict[int, simpy.Event] = {}
        self._watchers: dict[ObjectKey, list[simpy.Event]] = {}
        self._subscribers: list[Callable[[WatchEvent], None]] = []
        self._seen = plane.store.revision
        self._csr_state: dict[str, str] = {}
        self._seats = {name: sampler.gauge(f"seats/{name}") for name in self._levels}
        self._waiting = {name: sampler.gauge(f"queued/{name}") for name in self._levels}
        self._busy = sampler.gauge("cpu/busy-cores")
        self.requests = sampler.counter("requests")
        self.rejected = sampler.counter("rejected-429")
        self._csr_pending = sampler.gauge("csrs/pending")
        self._csr_approved = sampler.counter("csrs/approved")
        self._csr_issued = sampler.counter("csrs/issued")

    # --- the request path --------------------------------------------------

    def serve(self, request: Request, source: str) -> Generator[simpy.Event, Any, Response]:
        """Admit, queue or reject a request; serve it on a core; return the response (a SimPy process body)."""
        info = parse_request_info(request.method, request.path, request.query)
        flow = self.apf.classify(request_digest(request, info))
        level = flow.level
        outcome = self.apf.admit(flow)
        if isinstance(outcome, Rejected):
            return self._reject(request, source, level, outcome.reason)
        if isinstance(outcome, Queued):
            seated = self.env.event()
            self._queued[outcome.ticket] = seated
            self._waiting[level].set(self.apf.waiting(level))
            yield seated | self.env.timeout(queue_wait_limit(request, self.settings.request_timeout))
            if not seated.triggered:
                self._queued.pop(outcome.ticket, None)
                self.apf.cancel(level, outcome.ticket)
                self._waiting[level].set(self.apf.waiting(level))
                return self._reject(request, source, level, "time-out")
        self._seats[level].set(self.apf.seats_in_use(level))
        cost = self.costs.request_seconds(info.verb, info.resource, info.subresource)
        if info.verb == "create" and info.resource == C.CSR_RESOURCE:
            cost += self.costs.seconds("csr-verify")  # validation checks the CSR's signature
        yield from self.cpu(cost)
        response = self.plane.handle(request, self.world.now())
        self.requests.inc()
        self.publish()
        self._release(level)
        if self.log_requests:
            self.world.record("apiserver", "request", {
                "from": source, "method": request.method, "path": request.path, "status": str(response.status)})
        return response.served_by(self.name)

    def cpu(self, seconds: float) -> Generator[simpy.Event, Any, None]:
        """Hold one control-plane core for ``seconds`` of work (queueing for it first)."""
        if seconds <= 0:
            return
        with self.cores.request() as claim:
            yield claim
            self._busy.set(self.cores.count)
            yield self.env.timeout(seconds)
        self._busy.set(self.cores.count)

    def handshake(self) -> Generator[simpy.Event, Any, None]:
        """Charge the server's side of a new TLS connection."""
        yield from self.cpu(self.costs.requests.get("tls-handshake", 0.0) / 1e6)

    def _reject(self, request: Request, source: str, level: str, reason: str) -> Response:
        self.rejected.inc()
        if self.log_requests:
            self.world.record("apiserver", "rejected", {"from": source, "path": request.path, "level": level,
                                                        "reason": reason})
        return too_many_requests().served_by(self.name)

    def _release(self, level: str) -> None:
        ticket = self.apf.release(level)
        if ticket is not None:
            self._queued.pop(ticket).succeed()
            self._waiting[level].set(self.apf.waiting(level))
        self._seats[level].set(self.apf.seats_in_use(level))

    # --- watches and informers ---------------------------------------------

    def watch(self, key: ObjectKey) -> simpy.Event:
        """Return an event that fires at the next change of one object."""
        event = self.env.event()
        self._watchers.setdefault(key, []).append(event)
        return event

    def unwatch(self, key: ObjectKey, event: simpy.Event) -> None:
        """Forget a watcher that stopped waiting (it timed out or its kubelet stopped)."""
        waiting = self._watchers.get(key)
        if waiting is not None and event in waiting:
            waiting.remove(event)
            if not waiting:
                del self._watchers[key]

    def current(self, key: ObjectKey) -> Response:
        """Return the object as a watch event carries it (no new authentication), or its 404.

        The event carries the stored object itself, as the store's own watch
        events do: stored objects are replaced, never changed in place, and a
        watcher only reads what it is sent.
        """
        resource, namespace, name = key
        obj = self.plane.store.peek(resource, namespace, name)
        if obj is None:
            err = status.not_found(resource, self.plane.store.info(resource).group, name)
            return Response(status=404, body=err.status, server=self.name)
        return Response(status=200, body=obj, server=self.name)

    def subscribe(self, listener: Callable[[WatchEvent], None]) -> None:
        """Call ``listener`` with every new watch event (the controller manager's informers)."""
        self._subscribers.append(listener)

    def publish(self) -> None:
        """Hand the store's new events to the object's watchers and to the subscribers."""
        store = self.plane.store
        if store.revision == self._seen:
            return
        events = store.events_since(self._seen)
        self._seen = store.revision
        for event in events:
            key = (event.resource, namespace_of(event.object), name_of(event.object))
            for waiter in self._watchers.pop(key, ()):
                waiter.succeed()
            if event.resource == C.CSR_RESOURCE:
                self._count_csr(event)
            for listener in self._subscribers:
                listener(event)

    def _count_csr(self, event: WatchEvent) -> None:
        """Track CSRs pending, approved and issued, and log each transition."""
        name = name_of(event.object)
        before = self._csr_state.get(name, "")
        if event.type == "DELETED":
            self._csr_state.pop(name, None)
            if before == "pending":
                self._csr_pending.add(-1)
            return
        obj_status = event.object.get("status") or {}
        types = {c.get("type") for c in obj_status.get("conditions") or ()}
        after = "issued" if obj_status.get("certificate") else "approved" if "Approved" in types else \
            "closed" if types & {"Denied", "Failed"} else "pending"
        if after == before:
            return
        self._csr_state[name] = after
        if before == "pending":
            self._csr_pending.add(-1)
        if after == "pending":
            self._csr_pending.add(1)
        if after in ("approved", "issued") and before not in ("approved", "issued"):
            self._csr_approved.inc()
            self.world.record("apiserver", "csr-approved", {"name": name})
        if after == "issued":
            self._csr_issued.inc()
            self.world.record("apiserver", "csr-issued", {"name": name})
        if after == "pending":
            self.world.record("apiserver", "csr-created", {"name": name})
