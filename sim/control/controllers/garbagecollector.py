"""Model, minimally, kube-controller-manager's garbage collector for Secrets owned by Secrets.

How this works: kubeadm gives the ``kube-system/kubeadm-certs`` Secret an
ownerReference to the short-lived bootstrap-token Secret it creates with
``upload-certs``. When the tokencleaner deletes that token at expiry, the
garbage collector sees its owner is gone and deletes kubeadm-certs
(background propagation), so the encrypted control-plane keys live at most
as long as the token. This model covers only that relation: dependents and
owners are Secrets in the same namespace, an owner is "gone" when no Secret
of that name with that UID exists, and a dependent is deleted only when all
its Secret owners are gone (upstream would instead patch away dangling
references while another owner remains; the model leaves such a Secret alone).
Upstream: pkg/controller/garbagecollector/garbagecollector.go (attemptToDeleteItem).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from sim.control.controllers.base import Reconcile, controller_request
from sim.control.controllers.common import status_message
from sim.control.store import Store, WatchEvent
from sim.protocol.objects import name_of, namespace_of

__all__ = ["GarbageCollector", "secret_owner_refs"]


def secret_owner_refs(obj: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Return the ownerReferences that point to a core/v1 Secret."""
    refs = (obj.get("metadata") or {}).get("ownerReferences") or []
    return [r for r in refs if r.get("kind") == "Secret" and r.get("apiVersion") == "v1"]


def _uid(obj: Mapping[str, Any]) -> str:
    """Return ``metadata.uid`` (empty if unset)."""
    return str((obj.get("metadata") or {}).get("uid", ""))


class GarbageCollector:
    """Delete Secrets whose Secret owners no longer exist (a minimal garbage-collector model)."""

    name: str = "garbagecollector"
    workers: int = 1
    resync_period: float | None = None

    def __init__(self, store: Store) -> None:
        self._store = store
        self.last_error: str | None = None
        """The last delete error (NotFound and Conflict are not errors here)."""

    def keys_for(self, event: WatchEvent) -> list[str]:
        """Enqueue dependents of a deleted Secret, and a newly added Secret that has Secret owners."""
        if event.resource != "secrets":
            return []
        obj = event.object
        if event.type == "DELETED":
            gone_uid, namespace = _uid(obj), namespace_of(obj)
            return [f"{namespace}/{name_of(s)}" for s in self._store.iter("secrets", namespace)
                    if any(r.get("uid") == gone_uid for r in secret_owner_refs(s))]
        if event.type == "ADDED" and secret_owner_refs(obj):
            return [f"{namespace_of(obj)}/{name_of(obj)}"]
        return []

    def initial_keys(self) -> list[str]:
        """Return every Secret with a Secret owner (the graph builder's initial sync)."""
        return [f"{namespace_of(s)}/{name_of(s)}" for s in self._store.iter("secrets") if secret_owner_refs(s)]

    def reconcile(self, key: str, now: datetime) -> Reconcile:
        """Delete the Secret, UID-preconditioned and in the background, once all its owners are gone."""
        namespace, _, name = key.partition("/")
        obj = self._store.peek("secrets", namespace, name)
        if obj is None:
            return None
        refs = secret_owner_refs(obj)
        if not refs or any(self._owner_exists(namespace, ref) for ref in refs):
            return None
        body = {
            "apiVersion": "v1", "kind": "DeleteOptions",
            "preconditions": {"uid": _uid(obj)}, "propagationPolicy": "Background",
        }
        response = yield controller_request("DELETE", f"/api/v1/namespaces/{namespace}/secrets/{name}", body)
        if not response.ok and response.status not in (404, 409):
            self.last_error = status_message(response.body)
        return None

    def _owner_exists(self, namespace: str, ref: Mapping[str, Any]) -> bool:
        """Tell whether the referenced owner exists with the referenced UID."""
        owner = self._store.peek("secrets", namespace, str(ref.get("name", "")))
        return owner is not None and _uid(owner) == ref.get("uid")
