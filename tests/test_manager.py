"""Check the controller manager: de-duplicating queues fed by store events, requeues, resyncs, API calls."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import pytest

from sim.control.controllers.base import Reconcile, Requeue
from sim.control.manager import ControllerManager, Timer
from sim.control.store import Store, WatchEvent
from sim.protocol import objects
from sim.protocol.http import Request, Response

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


@dataclass
class Recorder:
    """A controller that records what it is asked to do and makes ``calls`` API requests per key."""

    name: str
    resource: str = "configmaps"
    initial: list[str] = field(default_factory=list)
    resync_period: float | None = None
    calls: int = 0
    requeue: dict[str, float] = field(default_factory=dict)
    write: dict[str, str] = field(default_factory=dict)
    """key -> name of a ConfigMap to create while reconciling it (through the API handler)."""
    workers: int = 1
    events: list[WatchEvent] = field(default_factory=list)
    reconciled: list[tuple[str, datetime]] = field(default_factory=list)
    responses: list[int] = field(default_factory=list)

    def keys_for(self, event: WatchEvent) -> list[str]:
        self.events.append(event)
        if event.resource != self.resource:
            return []
        return [objects.name_of(event.object)]

    def initial_keys(self) -> list[str]:
        return list(self.initial)

    def reconcile(self, key: str, now: datetime) -> Reconcile:
        self.reconciled.append((key, now))
        for i in range(self.calls):
            response = yield Request.build("GET", f"/api/v1/namespaces/default/configmaps/{key}-{i}")
            self.responses.append(response.status)
        if key in self.write:
            response = yield Request.build("POST", "/api/v1/namespaces/default/configmaps",
                                           body=objects.configmap(self.write[key], "default", {}))
            self.responses.append(response.status)
        if key in self.requeue:
            return Requeue(after=self.requeue[key])
        return None

    def keys(self) -> list[str]:
        return [k for k, _ in self.reconciled]


@dataclass
class Api:
    """An API handler over the store: GETs answer 404, POSTs create ConfigMaps."""

    store: Store
    seen: list[tuple[str, str, datetime]] = field(default_factory=list)

    def __call__(self, request: Request, now: datetime) -> Response:
        self.seen.append((request.method, request.path, now))
        if request.method == "POST":
            return Response(status=201, body=self.store.create("configmaps", json.loads(request.body), now))
        return Response(status=404, body={"kind": "Status", "code": 404})


def make(*controllers: Recorder) -> tuple[Store, Api, ControllerManager]:
    store = Store(random.Random(1))
    api = Api(store)
    return store, api, ControllerManager(store, list(controllers), api)


def put(store: Store, name: str, namespace: str = "default") -> None:
    store.create("configmaps", objects.configmap(name, namespace, {}), NOW)


# --- queues ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "initial, expected",
    [
        pytest.param([], [], id="valid: nothing to do"),
        pytest.param(["a"], ["a"], id="valid: one key"),
        pytest.param(["a", "a", "b", "a"], ["a", "b"], id="valid: duplicates collapse, first position kept"),
        pytest.param(["c", "b", "a"], ["c", "b", "a"], id="valid: FIFO order"),
    ],
)
def test_initial_keys_are_queued_once_each(initial: list[str], expected: list[str]) -> None:
    ctl = Recorder("one", initial=initial)
    _, _, manager = make(ctl)
    assert manager.pump(NOW) == []
    assert ctl.keys() == expected


def test_many_events_for_one_object_before_a_pump_give_one_reconcile() -> None:
    ctl = Recorder("one")
    store, _, manager = make(ctl)
    put(store, "x")
    obj = store.get("configmaps", "default", "x")
    assert obj is not None
    for i in range(3):
        obj["data"] = {"n": str(i)}
        obj = store.update("configmaps", obj)
    put(store, "y")
    manager.pump(NOW)
    assert ctl.keys() == ["x", "y"]
    assert [e.type for e in ctl.events] == ["ADDED", "MODIFIED", "MODIFIED", "MODIFIED", "ADDED"]


def test_enqueue_the_same_key_twice_reconciles_once() -> None:
    ctl = Recorder("one")
    _, _, manager = make(ctl)
    assert manager.enqueue("one", "k") == [] and manager.enqueue("one", "k") == []
    manager.pump(NOW)
    assert ctl.keys() == ["k"]
    manager.pump(NOW)
    assert ctl.keys() == ["k"]


def test_enqueue_for_an_unknown_controller_is_an_error() -> None:
    _, _, manager = make(Recorder("one"))
    with pytest.raises(KeyError):
        manager.enqueue("nope", "k")


# --- store events -----------------------------------------------------------------------------

def test_store_events_reach_every_controllers_keys_for() -> None:
    cms, secrets = Recorder("cms"), Recorder("secrets", resource="secrets")
    store, _, manager = make(cms, secrets)
    put(store, "x")
    store.create("secrets", objects.secret("s", "default", {}), NOW)
    store.delete("configmaps", "default", "x")
    manager.pump(NOW)
    assert [(e.type, e.resource) for e in cms.events] == [("ADDED", "configmaps"), ("ADDED", "secrets"),
                                                         ("DELETED", "configmaps")]
    assert [(e.type, e.resource) for e in secrets.events] == [(e.type, e.resource) for e in cms.events]
    assert cms.keys() == ["x"] and secrets.keys() == ["s"]


def test_events_before_the_manager_started_are_not_replayed() -> None:
    store = Store(random.Random(1))
    put(store, "old")
    ctl = Recorder("one")
    manager = ControllerManager(store, [ctl], Api(store))
    manager.pump(NOW)
    assert ctl.events == [] and ctl.keys() == []
    put(store, "new")
    manager.pump(NOW)
    assert ctl.keys() == ["new"]


def test_events_are_absorbed_once() -> None:
    ctl = Recorder("one")
    store, _, manager = make(ctl)
    put(store, "x")
    manager.pump(NOW)
    manager.pump(NOW)
    assert len(ctl.events) == 1 and ctl.keys() == ["x"]


def test_writes_made_while_reconciling_feed_other_controllers_in_the_same_pump() -> None:
    writer = Recorder("writer", resource="secrets", initial=["go"], write={"go": "made-by-writer"})
    watcher = Recorder("watcher")
    _, api, manager = make(writer, watcher)
    manager.pump(NOW)
    assert writer.keys() == ["go"] and writer.responses == [201]
    assert watcher.keys() == ["made-by-writer"]
    assert api.seen == [("POST", "/api/v1/namespaces/default/configmaps", NOW)]


# --- API calls ------------------------------------------------------------------------------

@pytest.mark.parametrize("calls, keys", [(0, 1), (1, 1), (3, 2), (2, 5)],
                         ids=lambda v: f"valid: {v}")
def test_api_calls_count_every_request_a_reconcile_yields(calls: int, keys: int) -> None:
    ctl = Recorder("one", initial=[f"k{i}" for i in range(keys)], calls=calls)
    _, api, manager = make(ctl)
    assert manager.api_calls == 0
    manager.pump(NOW)
    assert manager.api_calls == calls * keys == len(api.seen)
    assert ctl.responses == [404] * (calls * keys)
    assert all(when == NOW for _, _, when in api.seen)


def test_reconcile_and_handler_see_the_pump_time() -> None:
    later = NOW + timedelta(minutes=5)
    ctl = Recorder("one", initial=["a"], calls=1)
    _, api, manager = make(ctl)
    manager.pump(later)
    assert ctl.reconciled == [("a", later)] and api.seen[0][2] == later


# --- requeues and resyncs -----------------------------------------------------------------------

def test_requeue_becomes_a_timer_and_the_key_runs_again_when_it_fires() -> None:
    ctl = Recorder("one", initial=["a", "b"], requeue={"a": 7.5})
    _, _, manager = make(ctl)
    timers = manager.pump(NOW)
    assert timers == [Timer(delay=7.5, controller="one", key="a")]
    assert ctl.keys() == ["a", "b"]
    assert manager.enqueue(timers[0].controller, timers[0].key) == []
    again = manager.pump(NOW + timedelta(seconds=7.5))
    assert ctl.keys() == ["a", "b", "a"] and again == [Timer(delay=7.5, controller="one", key="a")]


@pytest.mark.parametrize(
    "period, timers",
    [
        pytest.param(None, [], id="valid: no resync"),
        pytest.param(0.0, [], id="valid: zero period means none"),
        pytest.param(30.0, [Timer(delay=30.0, controller="one", key="")], id="valid: periodic resync"),
    ],
)
def test_start_timers_list_the_first_resync(period: float | None, timers: list[Timer]) -> None:
    _, _, manager = make(Recorder("one", resync_period=period))
    assert manager.start_timers() == timers


def test_resync_requeues_initial_keys_and_rearms_itself() -> None:
    ctl = Recorder("one", initial=["a", "b"], resync_period=60.0)
    plain = Recorder("plain", initial=["z"])
    _, _, manager = make(ctl, plain)
    manager.pump(NOW)
    assert ctl.keys() == ["a", "b"] and plain.keys() == ["z"]
    assert manager.enqueue("one", "") == [Timer(delay=60.0, controller="one", key="")]
    assert manager.enqueue("plain", "") == []
    manager.pump(NOW)
    assert ctl.keys() == ["a", "b", "a", "b"] and plain.keys() == ["z", "z"]


def test_controllers_property_keeps_start_order() -> None:
    a, b, c = Recorder("a"), Recorder("b"), Recorder("c")
    _, _, manager = make(a, b, c)
    assert [x.name for x in manager.controllers] == ["a", "b", "c"]
