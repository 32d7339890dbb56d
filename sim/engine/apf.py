"""Account kube-apiserver's seats and queues as API Priority and Fairness does (pure, no SimPy).

How this works: the server's concurrency limit, ``--max-requests-inflight`` +
``--max-mutating-requests-inflight`` (400 + 200 = 600 seats), is split across
the priority levels in proportion to their nominal concurrency shares,
NominalCL = ceil(600 * shares / 245) with upstream's defaults (system 74,
node-high 98, leader-election 25, workload-high 98, workload-low 245,
global-default 49, catch-all 13; exempt is never limited). A request is
classified by the first FlowSchema (lowest matching precedence) that matches
it; its flow is the schema plus a distinguisher (the user name or namespace).
Shuffle sharding deals each flow a hand of ``hand_size`` of the level's
queues from a hash of the flow, and a request joins the shortest queue of
its hand. It runs at once if a seat is free; otherwise it waits, and if its
queue already holds ``queue_length_limit`` requests it is rejected with HTTP
429. A level with no queues (catch-all) rejects when its seats are full.

Consequence for joins: bootstrap-token and anonymous requests land in
global-default with a by-user distinguisher, so every node sharing a token is
one flow: it can hold 49 seats and at most 6 x 50 = 300 queued requests
(of the level's 128 x 50) before the 429s start.

Modelled, not reproduced: every request occupies one seat (upstream's work
estimator gives LISTs more seats and mutations extra time); waiting requests
are dispatched round-robin across non-empty queues, FIFO within a queue
(fair queuing's virtual-time order for equal-cost requests); seat borrowing
between levels (lendablePercent) is off, each level keeps its nominal limit;
the driver times out waiting requests with ``cancel``.

Upstream: staging/src/k8s.io/apiserver/pkg/apis/flowcontrol/bootstrap/default.go,
.../pkg/util/flowcontrol/apf_controller.go (hashFlowID, NominalCL),
.../pkg/util/flowcontrol/fairqueuing/queueset/queueset.go,
.../pkg/util/shufflesharding/shufflesharding.go,
.../pkg/server/filters/maxinflight.go (tooManyRequests).
"""

from __future__ import annotations

import hashlib
import math
from collections import deque
from dataclasses import dataclass
from typing import Callable, Final, Iterable, Union

from sim.protocol.constants import (
    MASTERS_GROUP, MAX_MUTATING_REQUESTS_INFLIGHT, MAX_REQUESTS_INFLIGHT, NODES_GROUP,
)
from sim.protocol.http import Response

__all__ = [
    "DEFAULT_FLOW_SCHEMAS", "DEFAULT_PRIORITY_LEVELS", "DEFAULT_SERVER_CONCURRENCY", "TOO_MANY_REQUESTS_TEXT",
    "Admitted", "Apf", "Flow", "FlowSchema", "PriorityLevel", "Queued", "Rejected", "RequestDigest", "deal",
    "hash_flow_id", "nominal_limits", "too_many_requests",
]

DEFAULT_SERVER_CONCURRENCY: Final = MAX_REQUESTS_INFLIGHT + MAX_MUTATING_REQUESTS_INFLIGHT
# staging/src/k8s.io/apiserver/pkg/server/filters/maxinflight.go tooManyRequests, written by Go's http.Error.
_FLOWS_KEPT: Final = 4096
"""Classifications remembered (per request digest; the oldest goes first)."""
TOO_MANY_REQUESTS_TEXT: Final = "Too many requests, please try again later.\n"
# staging/src/k8s.io/apiserver/pkg/authentication/user/user.go, serviceaccount/util.go
KUBE_CONTROLLER_MANAGER_USER: Final = "system:kube-controller-manager"
KUBE_SCHEDULER_USER: Final = "system:kube-scheduler"
SERVICE_ACCOUNTS_GROUP: Final = "system:serviceaccounts"
KUBE_SYSTEM_SA_PREFIX: Final = "system:serviceaccount:kube-system:"


@dataclass(frozen=True, slots=True, kw_only=True)
class PriorityLevel:
    """Describe a PriorityLevelConfiguration: shares of the server's seats and its queues (0 queues: reject)."""

    name: str
    shares: int
    queues: int = 0
    hand_size: int = 0
    queue_length_limit: int = 0
    exempt: bool = False

    def __post_init__(self) -> None:
        if self.shares < 0 or self.queues < 0 or (self.queues and not (
                0 < self.hand_size <= min(self.queues, 15) and self.queue_length_limit > 0)):
            raise ValueError(f"priority level {self.name!r}: want shares >= 0 and, with queues, "
                             "0 < handSize <= min(queues, 15) and queueLengthLimit > 0")

    @property
    def queue_capacity(self) -> int:
        """Return how many requests the level's queues hold in all (queues x queueLengthLimit)."""
        return self.queues * self.queue_length_limit


# default.go: NominalConcurrencyShares, Queues, HandSize, QueueLengthLimit of each default level.
DEFAULT_PRIORITY_LEVELS: Final = (
    PriorityLevel(name="exempt", shares=0, exempt=True),
    PriorityLevel(name="system", shares=30, queues=64, hand_size=6, queue_length_limit=50),
    PriorityLevel(name="node-high", shares=40, queues=64, hand_size=6, queue_length_limit=50),
    PriorityLevel(name="leader-election", shares=10, queues=16, hand_size=4, queue_length_limit=50),
    PriorityLevel(name="workload-high", shares=40, queues=128, hand_size=6, queue_length_limit=50),
    PriorityLevel(name="workload-low", shares=100, queues=128, hand_size=6, queue_length_limit=50),
    PriorityLevel(name="global-default", shares=20, queues=128, hand_size=6, queue_length_limit=50),
    PriorityLevel(name="catch-all", shares=5),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestDigest:
    """Carry what classification looks at: the user, groups and request attributes (``resource`` "" = non-resource)."""

    user: str
    groups: tuple[str, ...] = ()
    verb: str = "get"
    api_group: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    path: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class FlowSchema:
    """Map matching requests to a priority level; ``distinguisher`` is ByUser, ByNamespace or "" (one flow)."""

    name: str
    precedence: int
    level: str
    distinguisher: str
    matches: Callable[[RequestDigest], bool]


def _resource(d: RequestDigest) -> str:
    return f"{d.resource}/{d.subresource}" if d.subresource else d.resource


def _leader_election(d: RequestDigest, kube_system_only: bool) -> bool:
    if d.verb not in ("get", "create", "update") or not d.namespace:
        return False
    if d.api_group == "" and _resource(d) in ("endpoints", "configmaps"):
        return d.namespace == "kube-system" or not kube_system_only
    return d.api_group == "coordination.k8s.io" and _resource(d) == "leases"


def _kube_system_sa(d: RequestDigest) -> bool:
    return d.user.startswith(KUBE_SYSTEM_SA_PREFIX)


def _node_high(d: RequestDigest) -> bool:
    if NODES_GROUP not in d.groups:
        return False
    if d.api_group == "" and _resource(d) in ("nodes", "nodes/status"):
        return True
    return d.api_group == "coordination.k8s.io" and _resource(d) == "leases" and bool(d.namespace)


# default.go's flow schemas (the rule shapes reduced to what they test), in order of precedence.
DEFAULT_FLOW_SCHEMAS: Final = (
    FlowSchema(name="exempt", precedence=1, level="exempt", distinguisher="",
               matches=lambda d: MASTERS_GROUP in d.groups),
    FlowSchema(name="probes", precedence=2, level="exempt", distinguisher="",
               matches=lambda d: not d.resource and d.verb == "get" and d.path in ("/healthz", "/readyz", "/livez")),
    FlowSchema(name="system-leader-election", precedence=100, level="leader-election", distinguisher="ByUser",
               matches=lambda d: (d.user in (KUBE_CONTROLLER_MANAGER_USER, KUBE_SCHEDULER_USER) or _kube_system_sa(d))
               and _leader_election(d, kube_system_only=True)),
    FlowSchema(name="workload-leader-election", precedence=200, level="leader-election", distinguisher="ByUser",
               matches=lambda d: _kube_system_sa(d) and _leader_election(d, kube_system_only=False)),
    FlowSchema(name="system-node-high", precedence=400, level="node-high", distinguisher="ByUser", matches=_node_high),
    FlowSchema(name="system-nodes", precedence=500, level="system", distinguisher="ByUser",
               matches=lambda d: NODES_GROUP in d.groups),
    FlowSchema(name="kube-controller-manager", precedence=800, level="workload-high", distinguisher="ByNamespace",
               matches=lambda d: d.user == KUBE_CONTROLLER_MANAGER_USER),
    FlowSchema(name="kube-scheduler", precedence=800, level="workload-high", distinguisher="ByNamespace",
               matches=lambda d: d.user == KUBE_SCHEDULER_USER),
    FlowSchema(name="kube-system-service-accounts", precedence=900, level="workload-high",
               distinguisher="ByNamespace", matches=_kube_system_sa),
    FlowSchema(name="service-accounts", precedence=9000, level="workload-low", distinguisher="ByUser",
               matches=lambda d: SERVICE_ACCOUNTS_GROUP in d.groups),
    # Every request carries system:authenticated or system:unauthenticated, so these match all.
    FlowSchema(name="global-default", precedence=9900, level="global-default", distinguisher="ByUser",
               matches=lambda d: True),
    FlowSchema(name="catch-all", precedence=10000, level="catch-all", distinguisher="ByUser", matches=lambda d: True),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Flow:
    """Name a flow: the schema that matched, its distinguisher value and the level it feeds."""

    schema: str
    distinguisher: str
    level: str

    def hash(self) -> int:
        """Return the flow's 64-bit hash (hashFlowID)."""
        return hash_flow_id(self.schema, self.distinguisher)


@dataclass(frozen=True, slots=True, kw_only=True)
class Admitted:
    """Say the request holds a seat now."""

    ticket: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Queued:
    """Say the request waits in ``queue``; a later ``release`` returns its ticket when it gets a seat."""

    ticket: int
    queue: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Rejected:
    """Say the request gets a 429: ``queue-full`` or ``concurrency-limit`` (a level without queues)."""

    reason: str


Outcome = Union[Admitted, Queued, Rejected]


def hash_flow_id(schema: str, distinguisher: str) -> int:
    """Hash a flow as apf_controller.go's hashFlowID: the first 8 bytes of SHA-256, little-endian."""
    digest = hashlib.sha256(schema.encode() + b"\x00" + distinguisher.encode()).digest()
    return int.from_bytes(digest[:8], "little")


def deal(hash_value: int, deck_size: int, hand_size: int) -> list[int]:
    """Deal a hand of distinct queue indices from a hash (shufflesharding.Dealer.Deal)."""
    remainders = []
    for i in range(hand_size):
        hash_value, remainder = divmod(hash_value, deck_size - i)
        remainders.append(remainder)
    hand = []
    for i, card in enumerate(remainders):
        for j in range(i, 0, -1):
            if card >= remainders[j - 1]:
                card += 1
        hand.append(card)
    return hand


def nominal_limits(server_concurrency: int, levels: Iterable[PriorityLevel]) -> dict[str, int]:
    """Split the server's seats by shares: NominalCL = ceil(ServerCL * shares / sum of shares)."""
    levels = tuple(levels)
    total = sum(level.shares for level in levels)
    if total <= 0:
        raise ValueError("the priority levels' shares must add up to a positive number")
    return {level.name: math.ceil(server_concurrency * level.shares / total) for level in levels}


def too_many_requests() -> Response:
    """Return kube-apiserver's 429 (tooManyRequests via Go's http.Error), as recorded in docs/PROTOCOL.md §14."""
    return Response(status=429, text=TOO_MANY_REQUESTS_TEXT, headers={
        "Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff", "Retry-After": "1"})


class _Level:
    __slots__ = ("config", "limit", "in_use", "queues", "where", "waiting", "enqueues", "robin", "rejected")

    def __init__(self, config: PriorityLevel, limit: int) -> None:
        self.config, self.limit = config, limit
        self.in_use = self.waiting = self.enqueues = self.rejected = 0
        self.robin = -1
        self.queues: list[deque[int]] = [deque() for _ in range(config.queues)]
        self.where: dict[int, int] = {}  # queued ticket -> queue index


class Apf:
    """Hold each priority level's seats in use and queued requests; admit, queue, reject and release."""

    def __init__(self, server_concurrency: int = DEFAULT_SERVER_CONCURRENCY,
                 levels: Iterable[PriorityLevel] = DEFAULT_PRIORITY_LEVELS,
                 schemas: Iterable[FlowSchema] = DEFAULT_FLOW_SCHEMAS) -> None:
        levels = tuple(levels)
        limits = nominal_limits(server_concurrency, levels)
        self._levels = {level.name: _Level(level, limits[level.name]) for level in levels}
        self.schemas = tuple(sorted(schemas, key=lambda s: (s.precedence, s.name)))
        for schema in self.schemas:
            self._level(schema.level)
        self._next_ticket = 0
        self._flows: dict[RequestDigest, Flow] = {}

    def _level(self, name: str) -> _Level:
        try:
            return self._levels[name]
        except KeyError:
            raise ValueError(f"unknown priority level {name!r} (known: {', '.join(self._levels)})") from None

    def classify(self, request: RequestDigest) -> Flow:
        """Return the flow of the first schema, by precedence, that matches the request (remembered per digest)."""
        flow = self._flows.get(request)
        if flow is None:
            if len(self._flows) >= _FLOWS_KEPT:
                del self._flows[next(iter(self._flows))]
            flow = self._flows[request] = self._classify(request)
        return flow

    def _classify(self, request: RequestDigest) -> Flow:
        for schema in self.schemas:
            if schema.matches(request):
                value = {"ByUser": request.user, "ByNamespace": request.namespace}.get(schema.distinguisher, "")
                return Flow(schema=schema.name, distinguisher=value, level=schema.level)
        raise ValueError(f"no flow schema matches {request!r}")

    def limit(self, level: str) -> int:
        """Return the level's seat limit (its nominal concurrency limit)."""
        return self._level(level).limit

    def seats_in_use(self, level: str) -> int:
        """Return how many seats the level's running requests hold."""
        return self._level(level).in_use

    def waiting(self, level: str) -> int:
        """Return how many requests wait in the level's queues."""
        return self._level(level).waiting

    def rejected(self, level: str) -> int:
        """Return how many requests the level has rejected so far."""
        return self._level(level).rejected

    def admit(self, flow: Flow | str) -> Outcome:
        """Seat, queue or reject one request of a flow (a bare level name is a single anonymous flow)."""
        if isinstance(flow, str):
            flow = Flow(schema=flow, distinguisher="", level=flow)
        state = self._level(flow.level)
        self._next_ticket += 1
        ticket = self._next_ticket
        if state.config.exempt or (not state.queues and state.in_use < state.limit):
            state.in_use += 1
            return Admitted(ticket=ticket)
        if not state.queues:
            state.rejected += 1
            return Rejected(reason="concurrency-limit")
        # Upstream enqueues every request, then dispatches as much as it can; the hand's rotation
        # (``enqueues``) advances for each one, seated at once or not.
        offset = state.enqueues % state.config.hand_size
        state.enqueues += 1
        if state.in_use < state.limit and not state.waiting:
            state.in_use += 1
            return Admitted(ticket=ticket)
        hand = deal(flow.hash(), len(state.queues), state.config.hand_size)
        best = min((hand[(offset + i) % len(hand)] for i in range(len(hand))), key=lambda q: len(state.queues[q]))
        if len(state.queues[best]) >= state.config.queue_length_limit:
            state.rejected += 1
            return Rejected(reason="queue-full")
        state.queues[best].append(ticket)
        state.where[ticket] = best
        state.waiting += 1
        return Queued(ticket=ticket, queue=best)

    def release(self, level: str) -> int | None:
        """Free one seat; return the ticket of the queued request that takes it, if any."""
        state = self._level(level)
        if state.in_use <= 0:
            raise ValueError(f"priority level {level!r} has no seat in use to release")
        state.in_use -= 1
        if not state.waiting or state.in_use >= state.limit:
            return None
        count = len(state.queues)
        for step in range(1, count + 1):
            index = (state.robin + step) % count
            if state.queues[index]:
                state.robin = index
                state.waiting -= 1
                state.in_use += 1
                ticket = state.queues[index].popleft()
                del state.where[ticket]
                return ticket
        raise AssertionError("waiting count out of step with the queues")

    def cancel(self, level: str, ticket: int) -> bool:
        """Withdraw a queued request (it timed out waiting); tell whether it was still queued."""
        state = self._level(level)
        index = state.where.pop(ticket, None)
        if index is None:
            return False
        state.queues[index].remove(ticket)
        state.waiting -= 1
        state.rejected += 1
        return True
