"""Run kube-controller-manager's controllers in simulated time: work queues, workers, informers, rate limits.

How this works (the controller-manager model): each controller has a
client-go work queue that de-duplicates keys (a key added while it waits is
not queued twice; a key added while a worker holds it is queued again when
the worker is done) and ``workers`` processes taking keys from it, as many
as upstream starts (csrapproving 5, each csrsigning controller 5,
bootstrapsigner, tokencleaner and csrcleaner 1). Watch events reach the
controllers through their informers after ``informer_delay`` (a model:
0.1 s from the store's commit to the event handler); the handler maps the
event to keys (``keys_for``). The informer cache is the store itself, read
at reconcile time. Initial keys are queued at start, periodic controllers
(csrcleaner) re-list every ``resync_period``, and a ``Requeue`` comes back
after its delay (``AddAfter``).

Each API request a reconcile yields first takes a token from its
controller's client bucket (``--kube-api-qps`` 20, ``--kube-api-burst`` 30;
every controller has a client of its own), then goes through the API server
as ``system:kube-controller-manager`` (on the control-plane host: no network
delay), with client-go's 429 retries. So a csrapproving storm, two calls per
CSR (SubjectAccessReview and approval), approves at most QPS / 2 = 10 CSRs a
second once the burst is spent. The csrsigning controllers' signing (CSR
signature check and CA signature) charges control-plane CPU from the cost
table, by the CA's key type. Reconcile logic itself costs no CPU here, and
the work queue's overall 10 qps retry limiter is not modelled.
Upstream: staging/src/k8s.io/client-go/util/workqueue/queue.go,
cmd/kube-controller-manager/app/certificates.go, bootstrap.go,
cmd/kube-controller-manager/app/options (KubeAPIQPS, KubeAPIBurst).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any, Final, Generator, Iterable, Sequence

import simpy
from cryptography.hazmat.primitives.asymmetric import rsa

from sim.control.controllers.base import Controller, Requeue
from sim.control.controllers.csrsigning import CsrSigner
from sim.control.store import WatchEvent
from sim.engine.apiserver import SimApiServer
from sim.engine.clientgo import MAX_RETRIES, retry_after
from sim.engine.costs import CostTable
from sim.engine.metrics import Counter, Gauge, Sampler
from sim.engine.tokenbucket import TokenBucket
from sim.engine.world import World
from sim.protocol.constants import CONTROLLER_CLIENT_BURST, CONTROLLER_CLIENT_QPS
from sim.protocol.http import Request, Response

__all__ = ["INFORMER_DELAY", "ControllerManagerModel", "ControllerRunner", "ControllerSettings", "WorkQueue"]

INFORMER_DELAY: Final = 0.1
"""Model: seconds from a store commit until a controller's informer hands the event to its handler."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ControllerSettings:
    """Set the controller manager's client limits, informer delay and worker counts (kube defaults)."""

    qps: float = CONTROLLER_CLIENT_QPS
    burst: int = CONTROLLER_CLIENT_BURST
    informer_delay: float = INFORMER_DELAY
    workers: tuple[tuple[str, int], ...] = ()
    """Per-controller worker counts that replace upstream's (``("csrapproving", 10)``...)."""

    def __post_init__(self) -> None:
        if not self.qps > 0 or self.burst < 1 or self.informer_delay < 0:
            raise ValueError("controller settings want qps > 0, burst >= 1 and a non-negative informer delay")
        if any(count < 1 for _, count in self.workers):
            raise ValueError("every controller needs at least one worker")

    def workers_for(self, controller: Controller) -> int:
        """Return the controller's worker count: the override, else upstream's."""
        return dict(self.workers).get(controller.name, controller.workers)


class WorkQueue:
    """Hand out keys as client-go's work queue does: de-duplicated, one worker per key at a time."""

    __slots__ = ("env", "_queue", "_dirty", "_processing", "_idle")

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env
        self._queue: deque[str] = deque()
        self._dirty: set[str] = set()
        self._processing: set[str] = set()
        self._idle: deque[simpy.Event] = deque()

    def __len__(self) -> int:
        return len(self._queue)

    def add(self, key: str) -> None:
        """Queue a key unless it already waits; a key being processed is queued again when done."""
        if key in self._dirty:
            return
        self._dirty.add(key)
        if key not in self._processing:
            self._push(key)

    def take(self) -> str | None:
        """Return the next key for a worker, or None when the queue is empty (then ``wait``)."""
        if not self._queue:
            return None
        key = self._queue.popleft()
        self._start(key)
        return key

    def wait(self) -> simpy.Event:
        """Return an event whose value is the next key added (for an idle worker)."""
        event = self.env.event()
        self._idle.append(event)
        return event

    def done(self, key: str) -> None:
        """Finish a key; if it was added meanwhile, queue it again."""
        self._processing.discard(key)
        if key in self._dirty:
            self._push(key)

    def _start(self, key: str) -> None:
        self._dirty.discard(key)
        self._processing.add(key)

    def _push(self, key: str) -> None:
        if self._idle:
            self._start(key)
            self._idle.popleft().succeed(key)
        else:
            self._queue.append(key)


class ControllerRunner:
    """Run one controller: its queue, its workers, its rate-limited API client."""

    def __init__(self, world: World, controller: Controller, server: SimApiServer, settings: ControllerSettings,
                 sampler: Sampler, sign_seconds: float) -> None:
        self.world = world
        self.env = world.env
        self.controller = controller
        self.name = controller.name
        self.server = server
        self.queue = WorkQueue(self.env)
        self.workers = settings.workers_for(controller)
        self.bucket = TokenBucket(settings.qps, settings.burst, now=float(self.env.now))
        self._sign_seconds = sign_seconds if isinstance(controller, CsrSigner) else 0.0
        self.syncs: Counter = sampler.counter(f"controller/{self.name}/syncs")
        self.api_calls: Counter = sampler.counter(f"controller/{self.name}/api-calls")
        self._depth: Gauge = sampler.gauge(f"controller/{self.name}/queue")

    def start(self) -> None:
        """Queue the initial keys and start the workers (and the periodic resync, if any)."""
        self.add_all(self.controller.initial_keys())
        for _ in range(self.workers):
            self.env.process(self._worker())
        period = self.controller.resync_period
        if period:
            self.env.process(self._resync(period))

    def add_all(self, keys: Iterable[str]) -> None:
        """Queue keys (from an event, a resync or a requeue)."""
        for key in keys:
            self.queue.add(key)
        self._depth.set(len(self.queue))

    def _worker(self) -> Generator[simpy.Event, Any, None]:
        while True:
            key = self.queue.take()
            if key is None:
                key = yield self.queue.wait()
            self._depth.set(len(self.queue))
            yield from self._sync(key)
            self.queue.done(key)

    def _resync(self, period: float) -> Generator[simpy.Event, Any, None]:
        while True:
            yield self.env.timeout(period)
            self.add_all(self.controller.initial_keys())

    def _sync(self, key: str) -> Generator[simpy.Event, Any, None]:
        """Reconcile one key, sending each request it yields through the rate-limited client."""
        self.syncs.inc()
        steps = self.controller.reconcile(key, self.world.now())
        try:
            request = next(steps)
            while True:
                response = yield from self._call(request)
                request = steps.send(response)
        except StopIteration as done:
            if isinstance(done.value, Requeue):
                self.env.timeout(done.value.after).callbacks.append(lambda _event: self.add_all((key,)))

    def _call(self, request: Request) -> Generator[simpy.Event, Any, Response]:
        """Send one request as client-go does: throttle, send, retry 429s after Retry-After."""
        if self._sign_seconds and _issues_certificate(request):
            yield from self.server.cpu(self._sign_seconds)
        attempt = 0
        while True:
            wait = self.bucket.reserve(float(self.env.now))
            if wait > 0:
                yield self.env.timeout(wait)
            self.api_calls.inc()
            response = yield from self.server.serve(request, self.name)
            delay = retry_after(response)
            if delay is None or attempt >= MAX_RETRIES:
                return response
            attempt += 1
            yield self.env.timeout(delay)


def _issues_certificate(request: Request) -> bool:
    """Tell whether a signer's request writes a certificate (the status update after signing)."""
    return request.method == "PUT" and request.path.endswith("/status") and b'"certificate"' in request.body


class ControllerManagerModel:
    """Run every controller of a control plane and feed them the API server's watch events."""

    def __init__(self, world: World, controllers: Sequence[Controller], server: SimApiServer,
                 settings: ControllerSettings, costs: CostTable, sampler: Sampler) -> None:
        self.world = world
        self.settings = settings
        ca_key = server.plane.ca.key
        sign = costs.seconds("csr-verify") + costs.seconds(
            "sign-csr:rsa" if isinstance(ca_key, rsa.RSAPrivateKey) else "sign-csr:ecdsa")
        self.runners = [ControllerRunner(world, c, server, settings, sampler, sign) for c in controllers]
        server.subscribe(self._informer)

    def start(self) -> None:
        """Start every controller."""
        for runner in self.runners:
            runner.start()

    def runner(self, name: str) -> ControllerRunner:
        """Return the runner of a controller by name."""
        for runner in self.runners:
            if runner.name == name:
                return runner
        raise KeyError(f"no controller {name!r} (known: {', '.join(r.name for r in self.runners)})")

    def _informer(self, event: WatchEvent) -> None:
        """Deliver an event to every controller's handler after the informer delay."""
        self.world.env.timeout(self.settings.informer_delay).callbacks.append(lambda _e: self._deliver(event))

    def _deliver(self, event: WatchEvent) -> None:
        for runner in self.runners:
            keys = runner.controller.keys_for(event)
            if keys:
                runner.add_all(keys)
