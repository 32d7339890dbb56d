"""Build the minimal OpenAPI v3 documents kubectl reads before writing objects.

How this works: ``kubectl create -f`` (and apply, edit) validates strictly by
default. It first asks ``/openapi/v3`` which group-versions have a document,
fetches the document of the object's group-version, and looks for a PATCH
operation tagged with the object's ``x-kubernetes-group-version-kind`` that
takes the ``fieldValidation`` query parameter; if there is one it leaves the
validation to the server (``?fieldValidation=Strict``) instead of downloading
the whole protobuf OpenAPI v2 schema. These documents therefore hold just
that: one path per served resource, with its GVK and the query parameters
kube-apiserver documents, and no schemas. The root lists every served
group-version with a content hash in its ``serverRelativeURL``, as upstream does.
Drivers serve them for ``/openapi/v3`` paths that the API server itself answers
with 404 after authorization (so anonymous users still get 403).
Upstream: staging/src/k8s.io/kube-openapi/pkg/handler3/handler.go,
staging/src/k8s.io/cli-runtime/pkg/resource/query_param_verifier_v3.go.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sim.control.discovery_docs import REVIEWS, served
from sim.control.profile import Profile
from sim.control.resources import RESOURCES, ResourceInfo

__all__ = ["document", "is_openapi_path"]

_PREFIX = "/openapi/v3"
_QUERY_PARAMS = ("dryRun", "fieldManager", "fieldValidation", "pretty")


def is_openapi_path(path: str) -> bool:
    """Tell whether a path is under ``/openapi/v3``."""
    return path == _PREFIX or path.startswith(_PREFIX + "/")


def _infos(profile: Profile) -> list[ResourceInfo]:
    candidates = list(RESOURCES.values()) + [r.info for r in REVIEWS.values()]
    return [i for i in candidates if served(i.group, i.version, i.plural, profile) is not None]


def _gv_path(info: ResourceInfo) -> str:
    return f"apis/{info.group}/{info.version}" if info.group else f"api/{info.version}"


def _operation(info: ResourceInfo, action: str) -> dict[str, Any]:
    params = [{"name": n, "in": "query", "schema": {"type": "string", "uniqueItems": True}} for n in _QUERY_PARAMS]
    return {
        "description": f"{action} the specified {info.kind}", "operationId": f"{action}{info.kind}",
        "parameters": params,
        "responses": {"200": {"description": "OK"}},
        "x-kubernetes-action": action, "x-kubernetes-group-version-kind": {
            "group": info.group, "version": info.version, "kind": info.kind},
    }


def _gv_document(gv: str, infos: list[ResourceInfo], profile: Profile) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for info in infos:
        base = f"/{gv}/namespaces/{{namespace}}/{info.plural}" if info.namespaced else f"/{gv}/{info.plural}"
        if info.plural in REVIEWS:
            paths[base] = {"post": _operation(info, "post")}
            continue
        paths[base] = {"post": _operation(info, "post")}
        paths[base + "/{name}"] = {"put": _operation(info, "put"), "patch": _operation(info, "patch")}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": profile.kubernetes_version},
            "paths": paths, "components": {"schemas": {}}}


def _documents(profile: Profile) -> dict[str, dict[str, Any]]:
    by_gv: dict[str, list[ResourceInfo]] = {}
    for info in _infos(profile):
        by_gv.setdefault(_gv_path(info), []).append(info)
    return {gv: _gv_document(gv, sorted(infos, key=lambda i: i.plural), profile) for gv, infos in sorted(by_gv.items())}


def _hash(doc: dict[str, Any]) -> str:
    return hashlib.sha512(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:128].upper()


def document(path: str, profile: Profile) -> dict[str, Any] | None:
    """Return the document served at an ``/openapi/v3`` path (the root or one group-version), or None."""
    docs = _documents(profile)
    rest = path[len(_PREFIX):].strip("/")
    if not rest:
        return {"paths": {gv: {"serverRelativeURL": f"{_PREFIX}/{gv}?hash={_hash(doc)}"} for gv, doc in docs.items()}}
    return docs.get(rest)
