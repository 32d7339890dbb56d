"""Drive controller reconciles by hand and build the Secrets and CSRs the controller tests feed them.

A reconcile is a generator of API requests; ``drive`` plays the API server,
answering each request with a responder (``put_to``, ``delete_in`` or a
lambda), so each test sees exactly which requests a controller made.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Sequence

from sim.control.controllers.base import Reconcile
from sim.control.store import Store, WatchEvent
from sim.protocol import constants as C
from sim.protocol import csr, keys, objects, pki
from sim.protocol.errors import ApiStatusError
from sim.protocol.http import Request, Response

Responder = Callable[[Request], Response]

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
CA = pki.create_ca(now=NOW - timedelta(days=1), rng=random.Random(1), key_type="ecdsa")
NODE_KEY = keys.generate_private_key("ecdsa", random.Random(7))
KUBELET = C.KUBE_APISERVER_CLIENT_KUBELET_SIGNER


def new_store() -> Store:
    """Return an empty store with a fixed UID seed, so objects and their UIDs repeat run to run."""
    return Store(random.Random(0))


def drive(gen: Reconcile, respond: Responder) -> tuple[list[Request], Any]:
    """Run a reconcile to completion, answering each request; return the requests and the result."""
    requests: list[Request] = []
    try:
        request = next(gen)
        while True:
            requests.append(request)
            request = gen.send(respond(request))
    except StopIteration as stop:
        return requests, stop.value


def put_to(store: Store, resource: str, suffix: str = "") -> Responder:
    """Answer a PUT (to a path ending in ``suffix``) by updating the store, as the API server would."""
    def respond(request: Request) -> Response:
        assert request.method == "PUT" and request.path.endswith(suffix)
        return Response(status=200, body=store.update(resource, json.loads(request.body)))
    return respond


def delete_in(store: Store, resource: str = "secrets") -> Responder:
    """Answer a namespaced DELETE from the store, honouring the UID precondition."""
    def respond(request: Request) -> Response:
        assert request.method == "DELETE"
        *_, namespace, _, name = request.path.split("/")
        uid = json.loads(request.body)["preconditions"]["uid"] if request.body else None
        try:
            return Response(status=200, body=store.delete(resource, namespace, name, uid=uid))
        except ApiStatusError as err:
            return Response(status=err.code, body=err.status)
    return respond


def stamp(delta: float) -> str:
    """Return the RFC 3339 time ``delta`` seconds after NOW."""
    return objects.format_time(NOW + timedelta(seconds=delta))


def event(type_: str, resource: str, obj: dict[str, Any]) -> WatchEvent:
    """Return a watch event as the store would emit it."""
    return WatchEvent(type=type_, resource=resource, object=obj, resource_version=1)


def token_secret(token_id: str = "abcdef", *, name: str | None = None, namespace: str = "kube-system",
                 type_: str = "bootstrap.kubernetes.io/token", **data: str | None) -> dict[str, Any]:
    """Return a bootstrap-token Secret valid for both usages; ``data`` overrides keys (``_`` for ``-``, None drops)."""
    fields: dict[str, str | None] = {"token-id": token_id, "token-secret": "0123456789abcdef",
                                     "usage-bootstrap-signing": "true", "usage-bootstrap-authentication": "true"}
    fields.update({k.replace("_", "-"): v for k, v in data.items()})
    present = {k: v for k, v in fields.items() if v is not None}
    return objects.secret(name or f"bootstrap-token-{token_id}", namespace, present, type_)


def node_csr(*, name: str = "csr-abcde", signer: str = KUBELET, usages: Sequence[str] = C.KUBELET_CLIENT_USAGES_ECDSA,
             cn: str = "system:node:node-1", orgs: tuple[str, ...] = ("system:nodes",), dns: tuple[str, ...] = (),
             ips: tuple[str, ...] = (), expiration_seconds: int | None = None, request_pem: bytes | None = None,
             status: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return a CSR object for NODE_KEY as a node posts it, named, with ``status`` if given."""
    pem = request_pem if request_pem is not None else pki.build_csr(
        NODE_KEY, common_name=cn, organizations=orgs, dns_names=dns, ip_addresses=ips)
    obj = csr.csr_object(request_pem=pem, signer_name=signer, usages=usages, expiration_seconds=expiration_seconds)
    obj["metadata"] = {"name": name}
    if status is not None:
        obj["status"] = status
    return obj
