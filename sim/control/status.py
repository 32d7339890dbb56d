"""Build kube-apiserver's ``Status`` failures with its exact codes, reasons, messages and details.

Shapes follow ``staging/src/k8s.io/apimachinery/pkg/api/errors/errors.go`` and the
bodies recorded from a real kube-apiserver (docs/PROTOCOL.md section 14). Keys come
in the Go structs' field order. ``details`` is left out only where upstream
sets no ``StatusDetails`` at all; where it sets one with every field empty
(``NewForbidden`` of a non-resource URL, go-restful's 404 and 405) the body
carries ``"details":{}``.
Upstream: staging/src/k8s.io/apimachinery/pkg/api/errors/errors.go,
staging/src/k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/errors.go (Forbidden, forbiddenMessage),
staging/src/k8s.io/apiserver/pkg/endpoints/handlers/negotiation/errors.go (errUnsupportedMediaType).
"""

from __future__ import annotations

from typing import Any, Protocol, Sequence

from sim.protocol.constants import BODY_MEDIA_TYPES, MAX_REQUEST_BODY_BYTES, PATCH_MEDIA_TYPES
from sim.protocol.errors import ApiStatusError

__all__ = [
    "FieldCause", "already_exists", "bad_request", "conflict", "forbidden", "forbidden_path", "internal_error",
    "invalid", "method_not_allowed", "new_forbidden", "not_found", "path_not_found", "qualified", "stale_object",
    "status", "too_large", "unauthorized", "unsupported_media_type",
]


class FieldCause(Protocol):
    """Describe one field validation error as ``errors.NewInvalid`` reads it (``validation.FieldError`` is one)."""

    @property
    def type(self) -> str:
        """Return the cause type, e.g. ``FieldValueRequired``."""
        ...

    @property
    def field(self) -> str:
        """Return the field path, e.g. ``spec.signerName``."""
        ...

    def body(self) -> str:
        """Return the text after ``<field>: `` (Go's ``ErrorBody``)."""
        ...


def status(code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return a failure ``Status``; ``details`` None leaves the key out, ``{}`` sends ``"details":{}``."""
    out: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
    }
    if details is not None:
        out["details"] = details
    out["code"] = code
    return out


def qualified(resource: str, group: str) -> str:
    """Return ``resource.group`` as upstream names grouped resources (``configmaps`` for core)."""
    return f"{resource}.{group}" if group else resource


def _details(kind: str, group: str, name: str) -> dict[str, Any]:
    """Return StatusDetails with its empty fields omitted (``omitempty``), in Go's field order."""
    out: dict[str, Any] = {}
    if name:
        out["name"] = name
    if group:
        out["group"] = group
    if kind:
        out["kind"] = kind
    return out


def _sanitize(text: str) -> str:
    """Escape HTML as the forbidden writer's sanitizer does, so an error never looks like markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unauthorized() -> ApiStatusError:
    """Return the 401 every bad bearer token gets, with no details."""
    return ApiStatusError(status(401, "Unauthorized", "Unauthorized"))


def new_forbidden(resource: str, group: str, name: str, cause: str) -> ApiStatusError:
    """Return the 403 ``errors.NewForbidden`` builds (``forbidden: <cause>`` when there is no resource)."""
    if not resource and not group:
        message = f"forbidden: {cause}"
    elif name:
        message = f'{qualified(resource, group)} "{name}" is forbidden: {cause}'
    else:
        message = f"{qualified(resource, group)} is forbidden: {cause}"
    return ApiStatusError(status(403, "Forbidden", message, _details(resource, group, name)))


def _with_reason(message: str, reason: str) -> str:
    """Sanitize forbiddenMessage and append the authorizer's reason unsanitized, as responsewriters.Forbidden does."""
    return _sanitize(message) + (f": {reason}" if reason else "")


def forbidden(
    user: str, verb: str, resource: str, group: str, namespace: str, name: str = "", subresource: str = "",
    reason: str = "",
) -> ApiStatusError:
    """Return the 403 the authorization filter gives for a resource request (``: <reason>`` when there is one)."""
    res = f"{resource}/{subresource}" if subresource else resource
    scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    message = f'User "{user}" cannot {verb} resource "{res}" in API group "{group}" {scope}'
    return new_forbidden(resource, group, name, _with_reason(message, reason))


def forbidden_path(user: str, verb: str, path: str, reason: str = "") -> ApiStatusError:
    """Return the 403 for a non-resource URL such as ``/api`` (``"details":{}``, as upstream sends)."""
    return new_forbidden("", "", "", _with_reason(f'User "{user}" cannot {verb} path "{path}"', reason))


def not_found(resource: str, group: str, name: str) -> ApiStatusError:
    """Return the 404 for a missing object."""
    message = f'{qualified(resource, group)} "{name}" not found'
    return ApiStatusError(status(404, "NotFound", message, _details(resource, group, name)))


def path_not_found() -> ApiStatusError:
    """Return the 404 for a URL no handler serves (go-restful's, with empty details)."""
    return ApiStatusError(status(404, "NotFound", "the server could not find the requested resource", {}))


def already_exists(resource: str, group: str, name: str) -> ApiStatusError:
    """Return the 409 for a create of an existing name."""
    message = f'{qualified(resource, group)} "{name}" already exists'
    return ApiStatusError(status(409, "AlreadyExists", message, _details(resource, group, name)))


def conflict(resource: str, group: str, name: str, why: str) -> ApiStatusError:
    """Return the 409 for a stale resourceVersion or a failed precondition."""
    message = f'Operation cannot be fulfilled on {qualified(resource, group)} "{name}": {why}'
    return ApiStatusError(status(409, "Conflict", message, _details(resource, group, name)))


def stale_object() -> str:
    """Return the reason text for an update against an old resourceVersion."""
    return "the object has been modified; please apply your changes to the latest version and try again"


def invalid(kind: str, group: str, name: str, causes: Sequence[FieldCause]) -> ApiStatusError:
    """Return the 422 ``errors.NewInvalid`` builds: de-duplicated messages joined, one cause per error."""
    messages: list[str] = []
    for cause in causes:
        text = f"{cause.field}: {cause.body()}"
        if text not in messages:
            messages.append(text)
    message = f'{qualified(kind, group)} "{name}" is invalid'
    if messages:
        message += ": " + (messages[0] if len(messages) == 1 else "[" + ", ".join(messages) + "]")
    details = _details(kind, group, name)
    details["causes"] = [{"reason": c.type, "message": c.body(), "field": c.field} for c in causes]
    return ApiStatusError(status(422, "Invalid", message, details))


def bad_request(message: str) -> ApiStatusError:
    """Return a 400 for a request the server cannot decode."""
    return ApiStatusError(status(400, "BadRequest", message))


def method_not_allowed() -> ApiStatusError:
    """Return the 405 for an unsupported verb on a served path (go-restful's, with empty details)."""
    message = "the server does not allow this method on the requested resource"
    return ApiStatusError(status(405, "MethodNotAllowed", message, {}))


def unsupported_media_type(method: str) -> ApiStatusError:
    """Return the 415 for a body type the verb does not decode, listing the patch types for a PATCH."""
    accepted = PATCH_MEDIA_TYPES if method == "PATCH" else BODY_MEDIA_TYPES
    message = "the body of the request was in an unknown format - accepted media types include: " + ", ".join(accepted)
    return ApiStatusError(status(415, "UnsupportedMediaType", message))


def too_large() -> ApiStatusError:
    """Return the 413 for a body over kube-apiserver's 3 MiB limit."""
    message = f"Request entity too large: limit is {MAX_REQUEST_BODY_BYTES}"
    return ApiStatusError(status(413, "RequestEntityTooLarge", message))


def internal_error(text: str) -> ApiStatusError:
    """Return the 500 ``errors.NewInternalError`` builds, the error text repeated as the one cause."""
    return ApiStatusError(status(500, "InternalError", f"Internal error occurred: {text}",
                                 {"causes": [{"message": text}]}))
