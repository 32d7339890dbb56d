"""Describe a watch the API server accepted, so a driver can stream the store's events to the client.

How this works: ``ApiServer.prepare_watch`` authenticates and authorizes a
``?watch=true`` list request and returns a ``WatchSpec``. A watch without a
resourceVersion (or with ``0``) first reports every current matching object
as ``ADDED`` (``initial_events``) and then every change after the store's
revision at that moment; a watch with a resourceVersion reports only the
changes after it. The driver feeds ``Store.events_since`` through
``matches`` and sends ``event_json`` for each, one JSON object per line.
Selectors are applied to each event's object; upstream also turns an update
that makes an object stop matching into ``DELETED``, which is not modelled.
Upstream: staging/src/k8s.io/apiserver/pkg/endpoints/handlers/watch.go,
staging/src/k8s.io/apiserver/pkg/storage/cacher/cacher.go.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sim.control.selectors import Requirement, matches_fields, matches_labels
from sim.control.store import WatchEvent, clone

__all__ = ["WatchSpec", "event_dict"]


def event_dict(event_type: str, obj: dict[str, Any]) -> dict[str, Any]:
    """Return one watch event on the wire: ``{"type": ..., "object": ...}``."""
    return {"type": event_type, "object": clone(obj)}


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchSpec:
    """Say which events a watch delivers: resource, namespace ("" for all), name and selectors."""

    resource: str
    namespace: str
    name: str | None
    resource_version: int
    """Deliver events with a resourceVersion strictly greater than this."""
    type_selector: str | None = None
    """A Secret ``type=`` field selector, if any (kubeadm lists bootstrap tokens this way)."""
    field_selector: tuple[Requirement, ...] = ()
    label_selector: tuple[Requirement, ...] = ()
    initial_events: tuple[dict[str, Any], ...] = ()
    """Synthetic ``ADDED`` events to send first (watch without a resourceVersion)."""

    def matches(self, event: WatchEvent) -> bool:
        """Tell whether this watch delivers an event."""
        if event.resource != self.resource or event.resource_version <= self.resource_version:
            return False
        return self.matches_object(event.object)

    def matches_object(self, obj: dict[str, Any]) -> bool:
        """Tell whether an object falls under this watch's namespace, name and selectors."""
        meta = obj.get("metadata") or {}
        if self.namespace and meta.get("namespace", "") != self.namespace:
            return False
        if self.name is not None and meta.get("name") != self.name:
            return False
        if self.type_selector is not None and obj.get("type") != self.type_selector:
            return False
        return matches_fields(obj, self.field_selector) and matches_labels(obj, self.label_selector)

    def event_json(self, event: WatchEvent) -> dict[str, Any]:
        """Return the event as sent to the client."""
        return event_dict(event.type, event.object)
