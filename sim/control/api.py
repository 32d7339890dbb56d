"""Serve the fake control plane's HTTP API: ``ApiServer.handle(request, now) -> Response``.

How this works, in kube-apiserver's filter order: parse the path into
request attributes; authenticate (401); authorize the verb on the resource
or path (403, worded as upstream's authorization filter); only then route:
non-resource URLs (``/version``, ``/healthz``..., discovery) or a resource
handler (rest.py, reviews.py), which may answer 400/404/405/409/413/415/422.
So an anonymous GET of a missing ConfigMap in kube-public is 403, and a
bootstrap token's GET of a missing Node is 404. Every failure is a ``Status``
body; nothing raises out of ``handle``.
Watches: drivers call ``prepare_watch`` and stream ``Store`` events through
the returned ``WatchSpec``. ``handle`` answers a watch request with the
events that already exist (the initial ADDED events, then the changes after
the resourceVersion) as a JSON list, for drivers that cannot stream.
Upstream: staging/src/k8s.io/apiserver/pkg/server/config.go (DefaultBuildHandlerChain),
staging/src/k8s.io/apiserver/pkg/endpoints/filters/{authentication,authorization}.go,
staging/src/k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/errors.go.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sim.control import discovery_docs as docs, status
from sim.control.authn import Authenticator, UserInfo
from sim.control.authz import Attributes, Authorizer
from sim.control.profile import CURRENT, Profile
from sim.control.requestinfo import RequestInfo, is_watch, parse_request_info
from sim.control.resources import ResourceInfo
from sim.control.rest import Call, Registry
from sim.control.reviews import review
from sim.control.selectors import exact_match
from sim.control.store import Store
from sim.control.watch import WatchSpec, event_dict
from sim.protocol.constants import TOKEN_SUCCESS_CACHE_TTL
from sim.protocol.errors import ApiStatusError
from sim.protocol.http import Request, Response

__all__ = ["ApiServer", "error_response", "forbidden_for", "internal_error", "is_watch_request"]

_JSON = {"Content-Type": "application/json"}
_TEXT = {"Content-Type": "text/plain; charset=utf-8"}
_HEALTH_PATHS = ("/healthz", "/livez", "/readyz")


def error_response(err: ApiStatusError) -> Response:
    """Turn a Status error into its HTTP response."""
    return Response(status=err.code, body=err.status, headers=dict(_JSON))


def forbidden_for(attrs: Attributes, reason: str) -> ApiStatusError:
    """Return the 403 of the authorization filter for these attributes, ``: <reason>`` when there is one."""
    user = attrs.user.name
    if not attrs.is_resource_request:
        return status.forbidden_path(user, attrs.verb, attrs.path, reason)
    return status.forbidden(user, attrs.verb, attrs.resource, attrs.api_group, attrs.namespace, attrs.name,
                            attrs.subresource, reason)


def internal_error(exc: BaseException) -> ApiStatusError:
    """Return the 500 ``InternalError`` Status for an unexpected exception (errors.NewInternalError)."""
    return status.internal_error(f"{type(exc).__name__}: {exc}")


class ApiServer:
    """Answer Kubernetes REST requests against a store: authentication, authorization, admission, storage."""

    def __init__(self, store: Store, *, profile: Profile = CURRENT, anonymous_auth: bool = True,
                 token_cache_ttl: float = TOKEN_SUCCESS_CACHE_TTL) -> None:
        self.store = store
        self.profile = profile
        self.authenticator = Authenticator(store, anonymous_auth=anonymous_auth, token_cache_ttl=token_cache_ttl)
        self.authorizer = Authorizer(store)
        self.registry = Registry(store, profile, self.authorizer.authorize)

    def handle(self, request: Request, now: datetime) -> Response:
        """Answer one request; every failure becomes a Status response, never an exception."""
        try:
            return self._handle(request, now)
        except ApiStatusError as err:
            return error_response(err)
        except Exception as exc:  # noqa: BLE001 - the server answers 500 instead of crashing
            return error_response(internal_error(exc))

    def prepare_watch(self, request: Request, now: datetime) -> Response | WatchSpec:
        """Authenticate and authorize a watch, then describe it; a failure is the error Response."""
        try:
            info, user = self._admit(request, now)
            resource = self._resource(info)
            if info.verb != "watch":
                raise status.bad_request("not a watch request: use ?watch=true on a list")
            return self._watch_spec(Call(request, info, resource, user, now))
        except ApiStatusError as err:
            return error_response(err)
        except Exception as exc:  # noqa: BLE001
            return error_response(internal_error(exc))

    # --- pipeline ---

    def _admit(self, request: Request, now: datetime) -> tuple[RequestInfo, UserInfo]:
        """Run authentication and authorization; return the parsed request and its user."""
        info = parse_request_info(request.method, request.path, request.query)
        user = self.authenticator.authenticate(request, now)
        if info.is_resource_request:
            attrs = Attributes(user=user, verb=info.verb, api_group=info.api_group, resource=info.resource,
                               subresource=info.subresource, namespace=info.namespace, name=info.name)
        else:
            attrs = Attributes(user=user, verb=info.verb, path=info.path)
        allowed, reason = self.authorizer.authorize(attrs)
        if not allowed:
            raise forbidden_for(attrs, reason)
        return info, user

    def _handle(self, request: Request, now: datetime) -> Response:
        info, user = self._admit(request, now)
        if not info.is_resource_request:
            return self._non_resource(request, info)
        resource = self._resource(info)
        call = Call(request, info, resource, user, now)
        code, body = self._dispatch(call)
        return Response(status=code, body=body, headers=dict(_JSON))

    def _resource(self, info: RequestInfo) -> ResourceInfo:
        """Find the served resource for a resource request, or raise the 404 for an unknown path."""
        resource = docs.served(info.api_group, info.api_version, info.resource, self.profile)
        if resource is None:
            raise status.path_not_found()
        is_namespace = resource.plural == "namespaces"
        if info.subresource and info.subresource not in resource.subresources:
            raise status.path_not_found()
        if len(info.parts) > 3 or (resource.namespaced and info.name and not info.namespace):
            raise status.path_not_found()
        if not resource.namespaced and info.namespace and not is_namespace:
            raise status.path_not_found()
        return resource

    def _dispatch(self, call: Call) -> tuple[int, Any]:
        """Route a resource request to the handler of its verb; 405 when the path does not take it."""
        info, registry = call.info, self.registry
        if call.res.plural in docs.REVIEWS:
            if info.verb != "create" or info.name:
                raise status.method_not_allowed()
            return 201, review(call.res.plural, call.request, call.user, call.now, self.authorizer.authorize)
        if info.verb == "get":
            return registry.get(call)
        if info.verb == "list":
            return registry.list(call)
        if info.verb == "watch":
            return 200, self._watch_events(call)
        if info.verb == "create" and not info.name and (info.namespace or not call.res.namespaced):
            return registry.create(call)
        if info.verb == "update" and info.name:
            return registry.update(call)
        if info.verb == "patch" and info.name:
            return registry.patch(call)
        if info.verb == "delete" and info.name and not info.subresource:
            return registry.delete(call)
        raise status.method_not_allowed()

    def _non_resource(self, request: Request, info: RequestInfo) -> Response:
        """Serve version, health and discovery documents."""
        path = info.path.rstrip("/") or "/"
        if request.method not in ("GET", "HEAD"):
            raise status.method_not_allowed()
        if path in _HEALTH_PATHS:
            return Response(status=200, text="ok", headers=dict(_TEXT))
        body: dict[str, Any] | None = None
        parts = path.strip("/").split("/")
        if path == "/version":
            body = docs.version_info(self.profile)
        elif path == "/api":
            body = docs.api_versions(request.header("Host") or "127.0.0.1:6443")
        elif path == "/api/v1":
            body = docs.api_resource_list("", "v1", self.profile)
        elif path == "/apis":
            body = docs.api_group_list(self.profile)
        elif parts[0] == "apis" and len(parts) == 2:
            body = docs.api_group(parts[1], self.profile)
        elif parts[0] == "apis" and len(parts) == 3:
            body = docs.api_resource_list(parts[1], parts[2], self.profile)
        if body is None:
            raise status.path_not_found()
        return Response(status=200, body=body, headers=dict(_JSON))

    # --- watch ---

    def _watch_spec(self, call: Call) -> WatchSpec:
        """Describe the watch a list request asks for, with its initial events."""
        items, fields, labels = self.registry.list_items(call)
        raw_rv = call.request.query.get("resourceVersion", "")
        if raw_rv in ("", "0"):
            start = self.store.revision
            initial = tuple(event_dict("ADDED", o) for o in items)
        else:
            try:
                start = int(raw_rv)
            except ValueError:
                raise status.bad_request(f"invalid resource version: {raw_rv!r}") from None
            initial = ()
        return WatchSpec(
            resource=call.res.plural, namespace=call.namespace, name=exact_match(fields, "metadata.name"),
            resource_version=start, type_selector=exact_match(fields, "type"), field_selector=tuple(fields),
            label_selector=tuple(labels), initial_events=initial)

    def _watch_events(self, call: Call) -> list[dict[str, Any]]:
        """Return the events a watch would deliver right now (initial events, then stored changes)."""
        spec = self._watch_spec(call)
        events = list(spec.initial_events)
        events += [spec.event_json(e) for e in self.store.events_since(spec.resource_version, spec.resource)
                   if spec.matches(e)]
        return events


def is_watch_request(request: Request) -> bool:
    """Tell whether a request is a watch (drivers route those to ``prepare_watch``)."""
    info = parse_request_info(request.method, request.path, request.query)
    return info.verb == "watch" or (info.is_resource_request and is_watch(request.query) and not info.name)
