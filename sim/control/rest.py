"""Serve get, list, create, update, patch and delete on stored resources, in kube-apiserver's order.

How this works (generic registry): a write is decoded (400/413/415), its
namespace reconciled with the URL (400), prepared by the resource's
strategy, validated (422), checked by admission (403) and only then stored
(404/409 from the store). Updates check the resourceVersion first (409). A
PATCH is applied to the stored object and then follows the update path.
Deletes answer the ``Success`` Status upstream returns for these resources
(a Namespace answers itself, now ``Terminating``). ``?dryRun=All`` runs
everything but the storage step.
Upstream: staging/src/k8s.io/apiserver/pkg/endpoints/handlers/{get,create,update,patch,delete}.go,
staging/src/k8s.io/apiserver/pkg/registry/generic/registry/store.go,
staging/src/k8s.io/apiserver/pkg/registry/rest/{create,update}.go.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sim.control import decode, patch as patches, selectors, status, validation as v
from sim.control.admission import Authorize, admit
from sim.control.authn import UserInfo
from sim.control.profile import Profile
from sim.control.requestinfo import RequestInfo
from sim.control.resources import ResourceInfo
from sim.control.store import Store, clone
from sim.control.strategies import Strategy, strategy_for
from sim.protocol.constants import JSON_PATCH_TYPE, MERGE_PATCH_TYPE
from sim.protocol.http import Request
from sim.protocol.objects import format_time

__all__ = ["Call", "Registry"]

Obj = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Call:
    """Bundle one resource request: the raw request, its parsed attributes, resource, user and time."""

    request: Request
    info: RequestInfo
    res: ResourceInfo
    user: UserInfo
    now: datetime

    @property
    def namespace(self) -> str:
        """Return the namespace the object lives in ("" for cluster-scoped resources)."""
        return self.info.namespace if self.res.namespaced else ""

    @property
    def dry_run(self) -> bool:
        """Tell whether ``?dryRun=All`` asks to skip storage."""
        return self.request.query.get("dryRun", "") == "All"


class Registry:
    """Apply the generic REST semantics to the store, with per-resource strategies and admission."""

    def __init__(self, store: Store, profile: Profile, authorize: Authorize) -> None:
        self._store = store
        self._authorize = authorize
        self._strategies: dict[str, Strategy] = {}
        self._profile = profile

    def strategy(self, resource: str) -> Strategy:
        """Return (and cache) a resource's strategy."""
        if resource not in self._strategies:
            self._strategies[resource] = strategy_for(resource, self._profile)
        return self._strategies[resource]

    def _existing(self, call: Call) -> Obj:
        obj = self._store.get(call.res.plural, call.namespace, call.info.name)
        if obj is None:
            raise status.not_found(call.res.plural, call.res.group, call.info.name)
        return obj

    def _stored(self, call: Call) -> Obj:
        """Return the stored object itself, for the update path, which only reads the old object."""
        obj = self._store.peek(call.res.plural, call.namespace, call.info.name)
        if obj is None:
            raise status.not_found(call.res.plural, call.res.group, call.info.name)
        return obj

    # --- reads ---

    def get(self, call: Call) -> tuple[int, Any]:
        """Return one object (a subresource GET returns the whole object too)."""
        return 200, self._existing(call)

    def list_items(self, call: Call) -> tuple[list[Obj], list[selectors.Requirement], list[selectors.Requirement]]:
        """Return the objects a list selects, with the parsed field and label selectors."""
        fields = selectors.parse_field_selector(call.request.query.get("fieldSelector", ""))
        selectors.check_field_labels(call.res.plural, fields)
        labels = selectors.parse_label_selector(call.request.query.get("labelSelector", ""))
        namespace = call.info.namespace if call.res.namespaced else None
        items = [o for o in self._store.iter(call.res.plural, namespace or None)
                 if selectors.matches_fields(o, fields) and selectors.matches_labels(o, labels)]
        return items, fields, labels

    def list(self, call: Call) -> tuple[int, Any]:
        """Return a ``<Kind>List``; items carry no apiVersion/kind, as upstream serializes typed lists."""
        items, _, _ = self.list_items(call)
        out = []
        for obj in items:
            item = clone(obj)
            item.pop("apiVersion", None)
            item.pop("kind", None)
            out.append(item)
        return 200, {"kind": f"{call.res.kind}List", "apiVersion": call.res.api_version,
                     "metadata": {"resourceVersion": str(self._store.revision)}, "items": out}

    # --- writes ---

    def _reconcile_namespace(self, call: Call, obj: Obj) -> None:
        """Apply EnsureObjectNamespaceMatchesRequestNamespace."""
        meta = obj["metadata"]
        expected = call.namespace
        current = meta.get("namespace") or ""
        if current == expected:
            return
        if not current or not expected:
            if expected:
                meta["namespace"] = expected
            else:
                meta.pop("namespace", None)
            return
        raise status.bad_request(
            "the namespace of the provided object does not match the namespace sent on the request")

    def create(self, call: Call) -> tuple[int, Any]:
        """Create an object: decode, prepare, name, validate, admit, store (201)."""
        strategy = self.strategy(call.res.plural)
        obj = decode.decode_object(call.request, call.res)
        strategy.check_body(obj)
        self._reconcile_namespace(call, obj)
        meta = obj["metadata"]
        for field in ("uid", "resourceVersion", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds"):
            meta.pop(field, None)
        strategy.prepare_for_create(obj, call.user, call.now)
        if not meta.get("name") and meta.get("generateName"):
            # rest.BeforeCreate generates the name before validation, so 422s already name the object.
            meta["name"] = self._store.generate_name(call.res.plural, call.namespace, meta["generateName"])
        name = meta.get("name") or ""
        errors = strategy.validate(obj)
        if errors:
            raise status.invalid(call.res.kind, call.res.group, name, errors)
        admit(operation="create", resource=call.res.plural, subresource="", name=name, user=call.user,
              obj=obj, old=None, authorize=self._authorize)
        if call.dry_run:
            meta["creationTimestamp"] = format_time(call.now)
            return 201, obj
        return 201, self._store.create(call.res.plural, obj, call.now, copy=False)

    def update(self, call: Call) -> tuple[int, Any]:
        """Replace an object or a subresource (PUT): name checks, then the update path."""
        strategy = self.strategy(call.res.plural)
        obj = decode.decode_object(call.request, call.res)
        strategy.check_body(obj)
        meta = obj["metadata"]
        if not meta.get("name"):
            meta["name"] = call.info.name
        if meta["name"] != call.info.name:
            raise status.bad_request(
                f"the name of the object ({meta['name']}) does not match the name on the URL ({call.info.name})")
        self._reconcile_namespace(call, obj)
        return 200, self._update(call, obj, self._stored(call))

    def patch(self, call: Call) -> tuple[int, Any]:
        """Apply a JSON, merge or strategic merge patch to the stored object, then update it."""
        kind = decode.patch_type(call.request)
        text = decode.read_body(call.request).decode("utf-8", "replace")
        try:
            document = json.loads(text)
        except (json.JSONDecodeError, RecursionError):
            raise status.bad_request("invalid JSON Document") from None
        if decode.json_too_deep(text, document):
            raise status.bad_request("invalid JSON Document")
        old = self._stored(call)
        try:
            if kind == JSON_PATCH_TYPE:
                patched = patches.json_patch(old, document)
            elif kind == MERGE_PATCH_TYPE:
                patched = patches.merge_patch(old, document)
            else:
                patched = patches.strategic_merge_patch(old, document)
        except patches.PatchError as err:
            raise patches.patch_failed(err) from None
        if not isinstance(patched, dict):
            raise status.bad_request("the patched object is not a JSON object")
        patched = decode.check_type_meta(patched, call.res)
        self.strategy(call.res.plural).check_body(patched)
        meta = patched["metadata"]
        errors = [v.invalid(f"metadata.{field}", v.go_quote(str(meta.get(field) or "")), "field is immutable")
                  for field in ("name", "namespace") if (meta.get(field) or "") != (old["metadata"].get(field) or "")]
        if errors:
            raise status.invalid(call.res.kind, call.res.group, call.info.name, errors)
        return 200, self._update(call, patched, old)

    def _update(self, call: Call, new: Obj, old: Obj) -> Obj:
        """Check the resourceVersion, prepare, validate, admit and store an update."""
        wanted = (new.get("metadata") or {}).get("resourceVersion")
        if wanted and wanted != old["metadata"].get("resourceVersion"):
            raise status.conflict(call.res.plural, call.res.group, call.info.name, status.stale_object())
        strategy = self.strategy(call.res.plural)
        candidate = strategy.prepare_for_update(new, old, call.info.subresource, call.now)
        candidate.setdefault("metadata", {})
        for field in ("uid", "creationTimestamp"):
            if field in old["metadata"]:
                candidate["metadata"].setdefault(field, old["metadata"][field])
        errors = strategy.validate_update(candidate, old, call.info.subresource)
        if errors:
            raise status.invalid(call.res.kind, call.res.group, call.info.name, errors)
        admit(operation="update", resource=call.res.plural, subresource=call.info.subresource, name=call.info.name,
              user=call.user, obj=candidate, old=old, authorize=self._authorize)
        if call.dry_run:
            return candidate
        return self._store.update(call.res.plural, candidate, copy=False)

    def delete(self, call: Call) -> tuple[int, Any]:
        """Delete an object, honouring DeleteOptions preconditions; answer the Success Status."""
        options = decode.decode_options(call.request) or {}
        preconditions = options.get("preconditions") or {}
        if not isinstance(preconditions, dict):
            raise decode.unmarshal_error(call.res, preconditions, "DeleteOptions.preconditions", "v1.Preconditions")
        old = self._existing(call)
        meta = old["metadata"]
        uid, rv = preconditions.get("uid"), preconditions.get("resourceVersion")
        if uid is not None and uid != meta.get("uid"):
            raise status.conflict(call.res.plural, call.res.group, call.info.name,
                                  f"Precondition failed: UID in precondition: {uid}, "
                                  f"UID in object meta: {meta.get('uid')}")
        if rv is not None and rv != meta.get("resourceVersion"):
            raise status.conflict(call.res.plural, call.res.group, call.info.name,
                                  f"Precondition failed: ResourceVersion in precondition: {rv}, "
                                  f"ResourceVersion in object meta: {meta.get('resourceVersion')}")
        admit(operation="delete", resource=call.res.plural, subresource="", name=call.info.name, user=call.user,
              obj=None, old=old, authorize=self._authorize)
        if not call.dry_run:
            self._store.delete(call.res.plural, call.namespace, call.info.name, uid=uid)
        if call.res.plural == "namespaces":
            meta["deletionTimestamp"] = format_time(call.now)
            old["status"] = {"phase": "Terminating"}
            return 200, old
        details: Obj = {"name": call.info.name}
        if call.res.group:
            details["group"] = call.res.group
        details["kind"] = call.res.plural
        details["uid"] = meta.get("uid", "")
        return 200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}
