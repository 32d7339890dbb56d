"""Parse a request's method and path into Kubernetes request attributes, as the apiserver's filter does.

How this works: paths under ``/api/<version>/...`` and ``/apis/<group>/<version>/...``
with at least one segment after the version are resource requests; everything
else (``/version``, ``/healthz``, ``/api``, ``/api/v1``, ``/apis/<group>/<version>``)
is a non-resource URL whose verb is the lower-cased method. For resources the
method maps to a verb (POST create, GET get, PUT update, PATCH patch, DELETE
delete); a GET without a name is ``list``, or ``watch`` with ``?watch=true``;
a list whose field selector pins ``metadata.name`` carries that name, so RBAC
``resourceNames`` can match a kubelet watching its own CSR.
Upstream: staging/src/k8s.io/apiserver/pkg/endpoints/request/requestinfo.go.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Mapping

from sim.control.selectors import exact_match, parse_field_selector
from sim.protocol.errors import ApiStatusError

__all__ = ["RequestInfo", "is_watch", "parse_request_info"]

_NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})
_VERBS = {"POST": "create", "GET": "get", "HEAD": "get", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """Carry what the path says: resource request or not, group/version, namespace, resource, name, verb."""

    is_resource_request: bool
    path: str
    verb: str
    api_prefix: str = ""
    api_group: str = ""
    api_version: str = ""
    namespace: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    parts: tuple[str, ...] = ()


def is_watch(query: Mapping[str, str]) -> bool:
    """Tell whether ``?watch=`` asks for a watch (anything but false/0/empty)."""
    value = query.get("watch")
    return value is not None and value.lower() not in ("", "false", "0", "f")


def parse_request_info(method: str, path: str, query: Mapping[str, str]) -> RequestInfo:
    """Return the request attributes for a method, path and query (RequestInfoFactory.NewRequestInfo).

    The answer depends on nothing else, and the same requests recur, so it is remembered.
    """
    return _parse(method, path, tuple(query.items()))


@functools.lru_cache(maxsize=4096)
def _parse(method: str, path: str, items: tuple[tuple[str, str], ...]) -> RequestInfo:
    query = dict(items)
    non_resource = RequestInfo(is_resource_request=False, path=path, verb=method.lower())
    parts = [p for p in path.strip("/").split("/")] if path.strip("/") else []
    if len(parts) < 3 or parts[0] not in ("api", "apis"):
        return non_resource
    prefix, rest = parts[0], parts[1:]
    group = ""
    if prefix == "apis":
        if len(rest) < 3:
            return non_resource
        group, rest = rest[0], rest[1:]
    version, rest = rest[0], rest[1:]
    verb = _VERBS.get(method.upper(), "")
    watch_prefix = False
    if rest and rest[0] == "watch":  # deprecated /api/v1/watch/... form
        watch_prefix, rest = True, rest[1:]
    namespace = ""
    if rest and rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    resource = rest[0] if rest else ""
    name = rest[1] if len(rest) >= 2 else ""
    subresource = rest[2] if len(rest) >= 3 else ""
    if watch_prefix:
        verb = "watch" if verb == "get" else verb
    if not name and verb in ("get", "watch"):
        verb = "watch" if watch_prefix or is_watch(query) else "list"
        name = _selected_name(query)
    if not name and verb == "delete":
        verb = "deletecollection"
    return RequestInfo(is_resource_request=True, path=path, verb=verb, api_prefix=prefix, api_group=group,
                       api_version=version, namespace=namespace, resource=resource, subresource=subresource,
                       name=name, parts=tuple(rest))


def _selected_name(query: Mapping[str, str]) -> str:
    """Return the name a ``metadata.name=<n>`` field selector pins, if it is a valid path segment."""
    raw = query.get("fieldSelector")
    if not raw:
        return ""
    try:
        name = exact_match(parse_field_selector(raw), "metadata.name")
    except ApiStatusError:
        return ""
    if name is None or name in (".", "..") or "/" in name or "%" in name:
        return ""
    return name
