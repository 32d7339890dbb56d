"""Check the tokencleaner against upstream tokencleaner.go and secrets.go GetExpiration."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import pytest

from sim.control.controllers.base import Reconcile, Requeue
from sim.control.controllers.tokencleaner import TokenCleaner
from sim.control.store import Store, WatchEvent
from sim.protocol import objects
from sim.protocol.errors import ApiStatusError
from sim.protocol.http import Request, Response

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
KEY = "kube-system/bootstrap-token-abcdef"


def drive(gen: Reconcile, respond: Callable[[Request], Response]) -> tuple[list[Request], Any]:
    """Run a reconcile to completion, answering each request; return the requests and the result."""
    requests: list[Request] = []
    try:
        request = next(gen)
        while True:
            requests.append(request)
            request = gen.send(respond(request))
    except StopIteration as stop:
        return requests, stop.value


def delete_in(store: Store) -> Callable[[Request], Response]:
    """Answer a Secret DELETE from the store, honouring the UID precondition."""
    def respond(request: Request) -> Response:
        assert request.method == "DELETE"
        *_, namespace, _, name = request.path.split("/")
        uid = json.loads(request.body)["preconditions"]["uid"] if request.body else None
        try:
            return Response(status=200, body=store.delete("secrets", namespace, name, uid=uid))
        except ApiStatusError as err:
            return Response(status=err.code, body=err.status)
    return respond


def token(expiration: str | None = None, *, type_: str = "bootstrap.kubernetes.io/token",
          name: str = "bootstrap-token-abcdef") -> dict[str, Any]:
    data = {"token-id": "abcdef", "token-secret": "0123456789abcdef"}
    if expiration is not None:
        data["expiration"] = expiration
    return objects.secret(name, "kube-system", data, type_)


def stamp(delta: float) -> str:
    return objects.format_time(NOW + timedelta(seconds=delta))


@pytest.fixture
def store() -> Store:
    return Store(random.Random(0))


@pytest.mark.parametrize(
    ("expiration", "deleted", "result"),
    [
        pytest.param(stamp(-3600), True, None, id="valid: expired an hour ago"),
        pytest.param(stamp(0), True, None, id="valid: expiry exactly now counts as expired"),
        pytest.param("not-a-time", True, None, id="valid: unparseable expiration counts as expired"),
        pytest.param(stamp(1), False, Requeue(after=1.0), id="valid: requeued for the last second"),
        pytest.param(stamp(86400), False, Requeue(after=86400.0), id="valid: requeued with the exact remaining time"),
        pytest.param(None, False, None, id="valid: no expiration, nothing to do"),
    ],
)
def test_deletes_at_expiry_and_requeues_before(store: Store, expiration: str | None, deleted: bool,
                                               result: Requeue | None) -> None:
    store.create("secrets", token(expiration), NOW)
    requests, value = drive(TokenCleaner(store).reconcile(KEY, NOW), delete_in(store))
    assert value == result
    assert len(requests) == (1 if deleted else 0)
    assert (store.get("secrets", "kube-system", "bootstrap-token-abcdef") is None) is deleted


def test_delete_carries_a_uid_precondition(store: Store) -> None:
    uid = store.create("secrets", token(stamp(-1)), NOW)["metadata"]["uid"]
    (request,), _ = drive(TokenCleaner(store).reconcile(KEY, NOW), delete_in(store))
    assert (request.method, request.path) == ("DELETE", "/api/v1/namespaces/kube-system/secrets/bootstrap-token-abcdef")
    assert json.loads(request.body) == {"apiVersion": "v1", "kind": "DeleteOptions", "preconditions": {"uid": uid}}


def test_requeue_then_delete_at_exactly_the_deadline(store: Store) -> None:
    store.create("secrets", token(stamp(90)), NOW)
    cleaner = TokenCleaner(store)
    _, first = drive(cleaner.reconcile(KEY, NOW), delete_in(store))
    assert first == Requeue(after=90.0)
    requests, _ = drive(cleaner.reconcile(KEY, NOW + timedelta(seconds=first.after)), delete_in(store))
    assert len(requests) == 1 and store.get("secrets", "kube-system", "bootstrap-token-abcdef") is None


@pytest.mark.parametrize(
    ("status", "error"),
    [
        pytest.param(404, None, id="valid: already gone"),
        pytest.param(409, None, id="valid: uid precondition failed"),
        pytest.param(500, "Error deleting secret: boom", id="invalid: other errors recorded"),
    ],
)
def test_delete_errors(store: Store, status: int, error: str | None) -> None:
    store.create("secrets", token(stamp(-1)), NOW)
    cleaner = TokenCleaner(store)
    drive(cleaner.reconcile(KEY, NOW), lambda r: Response(status=status, body={"message": "boom"}))
    assert cleaner.last_error == error


@pytest.mark.parametrize(
    "setup",
    [
        pytest.param(lambda s: None, id="valid: Secret already deleted"),
        pytest.param(lambda s: s.create("secrets", token(stamp(-1), type_="Opaque"), NOW), id="valid: not a token"),
    ],
)
def test_ignores_missing_and_foreign_secrets(store: Store, setup: Callable[[Store], None]) -> None:
    setup(store)
    requests, value = drive(TokenCleaner(store).reconcile(KEY, NOW), delete_in(store))
    assert (requests, value) == ([], None)


@pytest.mark.parametrize(
    ("type_", "obj", "keys"),
    [
        pytest.param("ADDED", token(), [KEY], id="valid: added"),
        pytest.param("MODIFIED", token(), [KEY], id="valid: updated"),
        pytest.param("DELETED", token(), [], id="invalid: deleted"),
        pytest.param("ADDED", token(type_="Opaque"), [], id="invalid: opaque"),
    ],
)
def test_keys_for(store: Store, type_: str, obj: dict[str, Any], keys: list[str]) -> None:
    ev = WatchEvent(type=type_, resource="secrets", object=obj, resource_version=1)
    assert TokenCleaner(store).keys_for(ev) == keys


def test_initial_keys_and_constants(store: Store) -> None:
    store.create("secrets", token(), NOW)
    store.create("secrets", token(type_="Opaque", name="other"), NOW)
    cleaner = TokenCleaner(store)
    assert (cleaner.name, cleaner.workers, cleaner.resync_period, cleaner.initial_keys()) == (
        "tokencleaner", 1, None, [KEY])
