"""Keep the control plane's objects, as etcd and the API server's registry do.

Objects are JSON-shaped dicts keyed by (resource, namespace, name). The store
assigns ``uid``, ``resourceVersion`` (one global counter, as etcd's revision)
and ``creationTimestamp``, enforces optimistic concurrency and delete
preconditions, and records every change as a watch event. Objects handed in
or out are copies, so callers can never alter stored state by accident.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Iterator

from sim.control import status
from sim.control.resources import RESOURCES, ResourceInfo
from sim.protocol.objects import Obj, format_time
from sim.protocol.rng import Rng

_TAIL = 8
"""``events_since`` looks this many changes back from the newest before it bisects the history."""
# staging/src/k8s.io/apiserver/pkg/storage/names/generate.go: 5 characters from this alphabet
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_GENERATED_SUFFIX = 5


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchEvent:
    """Record one change: ``ADDED``, ``MODIFIED`` or ``DELETED``, with the object after it."""

    type: str
    resource: str
    object: Obj
    resource_version: int


_LEAVES = frozenset({str, int, float, bool, type(None)})
"""Types ``clone`` returns as they are: a value of one of these is kept without a call."""


def clone(value: Any) -> Any:
    """Copy a JSON-shaped value (faster than ``copy.deepcopy`` for dicts and lists)."""
    if isinstance(value, dict):
        return {k: v if type(v) in _LEAVES else clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [v if type(v) in _LEAVES else clone(v) for v in value]
    return value


def clone_obj(obj: Obj) -> Obj:
    """Copy one object (``clone`` with its type kept)."""
    return {k: v if type(v) in _LEAVES else clone(v) for k, v in obj.items()}


class Store:
    """Hold objects and their history; the single source of truth of a control plane."""

    def __init__(self, rng: Rng) -> None:
        self._rng = rng
        self._objects: dict[tuple[str, str, str], Obj] = {}
        self._revision = 0
        self._events: builtins.list[WatchEvent] = []

    @classmethod
    def restore(cls, rng: Rng, objects: Iterable[tuple[str, Obj]], revision: int) -> Store:
        """Rebuild a store from persisted ``(resource, object)`` pairs and its resourceVersion counter.

        Drivers that persist state (``joinsim serve``) use it after a restart;
        the objects keep their uid, resourceVersion and timestamps, the counter
        continues from ``revision``, and the event history starts empty.
        """
        store = cls(rng)
        for resource, obj in objects:
            md = obj.get("metadata") or {}
            namespace = md.get("namespace", "") if RESOURCES[resource].namespaced else ""
            store._objects[(resource, namespace, md.get("name", ""))] = clone_obj(obj)
        store._revision = revision
        return store

    @property
    def revision(self) -> int:
        """Return the newest resourceVersion handed out."""
        return self._revision

    def info(self, resource: str) -> ResourceInfo:
        """Return the static description of a resource (group, kind, scope)."""
        return RESOURCES[resource]

    def get(self, resource: str, namespace: str, name: str) -> Obj | None:
        """Return a copy of one object, or None."""
        obj = self._objects.get((resource, namespace, name))
        return clone_obj(obj) if obj is not None else None

    def peek(self, resource: str, namespace: str, name: str) -> Obj | None:
        """Return the stored object itself, for hot read-only paths; never mutate it."""
        return self._objects.get((resource, namespace, name))

    def list(self, resource: str, namespace: str | None = None) -> builtins.list[Obj]:
        """Return copies of a resource's objects, sorted by namespace and name."""
        return [clone(o) for o in self.iter(resource, namespace)]

    def iter(self, resource: str, namespace: str | None = None) -> Iterator[Obj]:
        """Iterate over stored objects (not copies) in a stable order; never mutate them."""
        keys = sorted(k for k in self._objects if k[0] == resource and (namespace is None or k[1] == namespace))
        for key in keys:
            yield self._objects[key]

    def create(self, resource: str, obj: Obj, now: datetime, *, copy: bool = True) -> Obj:
        """Store a new object and return it as stored; 409 if the name is taken.

        ``copy=False`` hands ``obj`` over: the store keeps (and stamps) it, and the caller must not touch it again.
        """
        info = RESOURCES[resource]
        new = clone(obj) if copy else obj
        md = new.setdefault("metadata", {})
        namespace = md.get("namespace", "") if info.namespaced else ""
        if not info.namespaced:
            md.pop("namespace", None)
        if not md.get("name") and md.get("generateName"):
            md["name"] = self.generate_name(resource, namespace, md["generateName"])
        name = md.get("name", "")
        if (resource, namespace, name) in self._objects:
            raise status.already_exists(resource, info.group, name)
        md["uid"] = self._uid()
        md["creationTimestamp"] = format_time(now)
        new.setdefault("apiVersion", info.api_version)
        new.setdefault("kind", info.kind)
        self._commit("ADDED", resource, (resource, namespace, name), new)
        return clone_obj(new)

    def update(self, resource: str, obj: Obj, *, copy: bool = True) -> Obj:
        """Replace an object; a set, stale ``resourceVersion`` or a UID mismatch gives 409.

        ``copy=False`` hands ``obj`` over, as for ``create``.
        """
        info = RESOURCES[resource]
        md = obj.get("metadata") or {}
        namespace = md.get("namespace", "") if info.namespaced else ""
        name = md.get("name", "")
        key = (resource, namespace, name)
        current = self._objects.get(key)
        if current is None:
            raise status.not_found(resource, info.group, name)
        cur_md = current["metadata"]
        if md.get("resourceVersion") and md["resourceVersion"] != cur_md["resourceVersion"]:
            raise status.conflict(resource, info.group, name, status.stale_object())
        if md.get("uid") and md["uid"] != cur_md["uid"]:
            raise status.conflict(resource, info.group, name, "Precondition failed: UID in precondition: "
                                  f"{md['uid']}, UID in object meta: {cur_md['uid']}")
        new = clone(obj) if copy else obj
        new_md = new.setdefault("metadata", {})
        for field in ("uid", "creationTimestamp", "generateName"):
            if field in cur_md:
                new_md[field] = cur_md[field]
        if not info.namespaced:
            new_md.pop("namespace", None)
        new.setdefault("apiVersion", info.api_version)
        new.setdefault("kind", info.kind)
        self._commit("MODIFIED", resource, key, new)
        return clone_obj(new)

    def delete(self, resource: str, namespace: str, name: str, uid: str | None = None) -> Obj:
        """Remove an object, optionally only if its UID matches; return it as it was."""
        info = RESOURCES[resource]
        key = (resource, namespace if info.namespaced else "", name)
        current = self._objects.get(key)
        if current is None:
            raise status.not_found(resource, info.group, name)
        if uid is not None and uid != current["metadata"]["uid"]:
            raise status.conflict(resource, info.group, name, "Precondition failed: UID in precondition: "
                                  f"{uid}, UID in object meta: {current['metadata']['uid']}")
        del self._objects[key]
        self._revision += 1
        gone = clone(current)
        self._events.append(WatchEvent(type="DELETED", resource=resource, object=gone, resource_version=self._revision))
        return clone_obj(gone)

    def events_since(self, resource_version: int, resource: str | None = None) -> builtins.list[WatchEvent]:
        """Return the changes after a resourceVersion, oldest first."""
        events = self._events
        lo, hi = 0, len(events)
        for back in range(1, min(hi, _TAIL) + 1):  # readers mostly ask for the last few changes
            if events[hi - back].resource_version <= resource_version:
                lo = hi = hi - back + 1
                break
        while lo < hi:
            mid = (lo + hi) // 2
            if self._events[mid].resource_version <= resource_version:
                lo = mid + 1
            else:
                hi = mid
        return [e for e in self._events[lo:] if resource is None or e.resource == resource]

    def _commit(self, kind: str, resource: str, key: tuple[str, str, str], obj: Obj) -> None:
        self._revision += 1
        obj["metadata"]["resourceVersion"] = str(self._revision)
        self._objects[key] = obj
        # The stored object is private and never changed in place (updates replace it), so the event shares it.
        self._events.append(WatchEvent(type=kind, resource=resource, object=obj, resource_version=self._revision))

    def generate_name(self, resource: str, namespace: str, prefix: str) -> str:
        """Return ``prefix`` plus 5 random characters, unused in that namespace (``names.SimpleNameGenerator``)."""
        while True:
            suffix = "".join(_NAME_ALPHABET[self._rng.randrange(len(_NAME_ALPHABET))] for _ in range(_GENERATED_SUFFIX))
            name = prefix + suffix
            if (resource, namespace, name) not in self._objects:
                return name

    def _uid(self) -> str:
        bits = self._rng.getrandbits(128)
        bits &= ~(0xF000 << 64)
        bits |= 0x4000 << 64  # version 4
        bits &= ~(0xC000 << 48)
        bits |= 0x8000 << 48  # RFC 4122 variant
        h = f"{bits:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
