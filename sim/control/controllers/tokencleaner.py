"""Model kube-controller-manager's tokencleaner: delete bootstrap-token Secrets right at expiry.

How this works: Add and Update events of bootstrap-token Secrets in
``kube-system`` enqueue ``kube-system/<name>``. The single worker reads the
Secret from the cache: an expired one (``expiration <= now``, or an
unparseable expiration) is deleted with a UID precondition; one that expires
later is re-queued with ``AddAfter(remaining)``, so deletion lands exactly at
expiry; one without an expiration is left alone. Usages do not matter.
Upstream: pkg/controller/bootstrap/tokencleaner.go,
staging/src/k8s.io/cluster-bootstrap/util/secrets/secrets.go (GetExpiration).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from sim.control.controllers.base import Reconcile, Requeue, controller_request
from sim.control.controllers.common import is_token_secret, status_message
from sim.control.store import Store, WatchEvent
from sim.protocol import tokens
from sim.protocol.constants import KUBE_SYSTEM_NAMESPACE, TOKEN_CLEANER_WORKERS
from sim.protocol.objects import name_of, namespace_of, secret_data

__all__ = ["TokenCleaner", "delete_options"]


def delete_options(uid: str | None) -> dict[str, Any] | None:
    """Return the DeleteOptions body with a UID precondition, or None when no UID is known."""
    if not uid:
        return None
    return {"apiVersion": "v1", "kind": "DeleteOptions", "preconditions": {"uid": uid}}


class TokenCleaner:
    """Delete expired bootstrap-token Secrets (one worker, disabled unless kubeadm enables it)."""

    name: str = "tokencleaner"
    workers: int = TOKEN_CLEANER_WORKERS
    resync_period: float | None = None

    def __init__(self, store: Store) -> None:
        self._store = store
        self.last_error: str | None = None
        """The last delete error upstream would log at V(3) (NotFound and Conflict are ignored)."""

    def keys_for(self, event: WatchEvent) -> list[str]:
        """Enqueue ``kube-system/<name>`` on Add and Update of a bootstrap-token Secret."""
        if event.resource != "secrets" or event.type not in ("ADDED", "MODIFIED"):
            return []
        if not is_token_secret(event.object):
            return []
        return [_key(event.object)]

    def initial_keys(self) -> list[str]:
        """Return every cached token Secret: the informer's initial list fires Add events."""
        return [_key(s) for s in self._store.iter("secrets", KUBE_SYSTEM_NAMESPACE) if is_token_secret(s)]

    def reconcile(self, key: str, now: datetime) -> Reconcile:
        """Delete the Secret if expired at ``now``; otherwise requeue it for the exact expiry."""
        namespace, _, name = key.partition("/")
        secret = self._store.peek("secrets", namespace, name)
        if secret is None or not is_token_secret(secret):
            return None  # upstream: V(3) "Secret has been deleted"
        expired, remaining = tokens.get_expiration(secret_data(secret), now)
        if expired:
            uid = (secret.get("metadata") or {}).get("uid")
            path = f"/api/v1/namespaces/{namespace}/secrets/{name}"
            response = yield controller_request("DELETE", path, delete_options(uid))
            if not response.ok and response.status not in (404, 409):
                self.last_error = f"Error deleting secret: {status_message(response.body)}"
            return None
        if remaining is not None and remaining > 0:
            return Requeue(after=remaining)
        return None


def _key(obj: Mapping[str, Any]) -> str:
    """Return the ``namespace/name`` key of an object."""
    return f"{namespace_of(obj)}/{name_of(obj)}"
