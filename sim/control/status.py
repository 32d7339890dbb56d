"""Build kube-apiserver's ``Status`` failures with its exact codes, reasons and messages.

Shapes follow ``staging/src/k8s.io/apimachinery/pkg/api/errors/errors.go`` and the
bodies recorded from a real kube-apiserver (PROTOCOL.md section 14).
"""

from __future__ import annotations

from typing import Any

from sim.protocol.errors import ApiStatusError


def status(code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return a failure ``Status`` object (details omitted when empty, as upstream)."""
    out: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
    }
    if details:
        out["details"] = details
    out["code"] = code
    return out


def qualified(resource: str, group: str) -> str:
    """Return ``resource.group`` as upstream names grouped resources (``configmaps`` for core)."""
    return f"{resource}.{group}" if group else resource


def _details(resource: str, group: str, name: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if name:
        out["name"] = name
    if group:
        out["group"] = group
    out["kind"] = resource
    return out


def unauthorized() -> ApiStatusError:
    """Return the 401 every bad bearer token gets, with no details."""
    return ApiStatusError(status(401, "Unauthorized", "Unauthorized"))


def forbidden(
    user: str, verb: str, resource: str, group: str, namespace: str, name: str = "", subresource: str = ""
) -> ApiStatusError:
    """Return the 403 RBAC gives, worded as kube-apiserver's authorization filter does."""
    res = f"{resource}/{subresource}" if subresource else resource
    subject = qualified(resource, group) + (f' "{name}"' if name else "")
    scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    message = (
        f'{subject} is forbidden: User "{user}" cannot {verb} resource "{res}" '
        f'in API group "{group}" {scope}'
    )
    return ApiStatusError(status(403, "Forbidden", message, _details(resource, group, name)))


def forbidden_path(user: str, verb: str, path: str) -> ApiStatusError:
    """Return the 403 for a non-resource URL such as ``/api``."""
    message = f'forbidden: User "{user}" cannot {verb} path "{path}"'
    return ApiStatusError(status(403, "Forbidden", message))


def not_found(resource: str, group: str, name: str) -> ApiStatusError:
    """Return the 404 for a missing object."""
    message = f'{qualified(resource, group)} "{name}" not found'
    return ApiStatusError(status(404, "NotFound", message, _details(resource, group, name)))


def path_not_found() -> ApiStatusError:
    """Return the 404 for a URL no handler serves."""
    return ApiStatusError(status(404, "NotFound", "the server could not find the requested resource"))


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


def invalid(kind: str, group: str, name: str, causes: list[tuple[str, str]]) -> ApiStatusError:
    """Return the 422 for a failed validation; ``causes`` are (field, message) pairs."""
    text = "; ".join(f"{field}: {msg}" for field, msg in causes)
    if len(causes) > 1:
        text = "[" + ", ".join(f"{field}: {msg}" for field, msg in causes) + "]"
    message = f'{qualified(kind, group)} "{name}" is invalid: {text}'
    details: dict[str, Any] = {"name": name, "group": group, "kind": kind} if group else {"name": name, "kind": kind}
    details["causes"] = [
        {"reason": "FieldValueInvalid", "message": msg, "field": field} for field, msg in causes
    ]
    return ApiStatusError(status(422, "Invalid", message, details))


def bad_request(message: str) -> ApiStatusError:
    """Return a 400 for a request the server cannot decode."""
    return ApiStatusError(status(400, "BadRequest", message))


def method_not_allowed(method: str) -> ApiStatusError:
    """Return the 405 for an unsupported verb on a served path."""
    message = "the server does not allow this method on the requested resource"
    return ApiStatusError(status(405, "MethodNotAllowed", message, {}))


def unsupported_media_type(content_type: str) -> ApiStatusError:
    """Return the 415 for a body type the server does not decode."""
    return ApiStatusError(status(415, "UnsupportedMediaType", "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf"))


def too_large() -> ApiStatusError:
    """Return the 413 for a body over kube-apiserver's 3 MiB limit."""
    return ApiStatusError(status(413, "RequestEntityTooLarge", "Request entity too large: limit is 3145728"))
