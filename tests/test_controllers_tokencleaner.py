"""Check the tokencleaner against upstream tokencleaner.go and secrets.go GetExpiration."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, Callable

import pytest

from sim.control.controllers.base import Requeue
from sim.control.controllers.tokencleaner import TokenCleaner
from sim.control.store import Store
from sim.protocol.http import Response
from tests.controller_support import NOW, delete_in, drive, event, stamp, token_secret

KEY = "kube-system/bootstrap-token-abcdef"


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
    store.create("secrets", token_secret(expiration=expiration), NOW)
    requests, value = drive(TokenCleaner(store).reconcile(KEY, NOW), delete_in(store))
    assert value == result
    assert len(requests) == (1 if deleted else 0)
    assert (store.get("secrets", "kube-system", "bootstrap-token-abcdef") is None) is deleted


def test_delete_carries_a_uid_precondition(store: Store) -> None:
    uid = store.create("secrets", token_secret(expiration=stamp(-1)), NOW)["metadata"]["uid"]
    (request,), _ = drive(TokenCleaner(store).reconcile(KEY, NOW), delete_in(store))
    assert (request.method, request.path) == ("DELETE", "/api/v1/namespaces/kube-system/secrets/bootstrap-token-abcdef")
    assert json.loads(request.body) == {"apiVersion": "v1", "kind": "DeleteOptions", "preconditions": {"uid": uid}}


def test_requeue_then_delete_at_exactly_the_deadline(store: Store) -> None:
    store.create("secrets", token_secret(expiration=stamp(90)), NOW)
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
    store.create("secrets", token_secret(expiration=stamp(-1)), NOW)
    cleaner = TokenCleaner(store)
    drive(cleaner.reconcile(KEY, NOW), lambda r: Response(status=status, body={"message": "boom"}))
    assert cleaner.last_error == error


@pytest.mark.parametrize(
    "setup",
    [
        pytest.param(lambda s: None, id="valid: Secret already deleted"),
        pytest.param(lambda s: s.create("secrets", token_secret(expiration=stamp(-1), type_="Opaque"), NOW),
                     id="valid: not a token"),
    ],
)
def test_ignores_missing_and_foreign_secrets(store: Store, setup: Callable[[Store], None]) -> None:
    setup(store)
    requests, value = drive(TokenCleaner(store).reconcile(KEY, NOW), delete_in(store))
    assert (requests, value) == ([], None)


@pytest.mark.parametrize(
    ("type_", "obj", "keys"),
    [
        pytest.param("ADDED", token_secret(), [KEY], id="valid: added"),
        pytest.param("MODIFIED", token_secret(), [KEY], id="valid: updated"),
        pytest.param("DELETED", token_secret(), [], id="invalid: deleted"),
        pytest.param("ADDED", token_secret(type_="Opaque"), [], id="invalid: opaque"),
    ],
)
def test_keys_for(store: Store, type_: str, obj: dict[str, Any], keys: list[str]) -> None:
    assert TokenCleaner(store).keys_for(event(type_, "secrets", obj)) == keys


def test_initial_keys_and_constants(store: Store) -> None:
    store.create("secrets", token_secret(), NOW)
    store.create("secrets", token_secret(type_="Opaque", name="other"), NOW)
    cleaner = TokenCleaner(store)
    assert (cleaner.name, cleaner.workers, cleaner.resync_period, cleaner.initial_keys()) == (
        "tokencleaner", 1, None, [KEY])
