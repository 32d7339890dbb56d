"""Answer the review APIs: SubjectAccessReview, SelfSubjectAccessReview and SelfSubjectReview.

Reviews are created, never stored: the server evaluates the request and
returns the object with its ``status`` filled (201). A SubjectAccessReview
asks the authorizer about any user (the csrapproving controller uses it for
the CSR's requester); a SelfSubjectAccessReview about the caller; a
SelfSubjectReview returns the caller's own user info (``kubectl auth whoami``).
Upstream: pkg/registry/authorization/subjectaccessreview/rest.go,
pkg/registry/authorization/selfsubjectaccessreview/rest.go,
pkg/registry/authentication/selfsubjectreview/rest.go,
pkg/apis/authorization/validation/validation.go,
pkg/registry/authorization/util/helpers.go (AuthorizationAttributesFrom).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Mapping

from sim.control import decode, status, validation as v
from sim.control.authn import UserInfo
from sim.control.authz import Attributes
from sim.control.discovery_docs import REVIEWS
from sim.protocol.http import Request
from sim.protocol.objects import format_time

__all__ = ["review"]

Obj = dict[str, Any]
Authorize = Callable[[Attributes], tuple[bool, str]]


def _go_struct(name: str, fields: Mapping[str, Any], keys: tuple[tuple[str, str], ...]) -> str:
    """Render a struct as Go's ``%#v`` would (string fields only)."""
    inner = ", ".join(f"{go}:{v.go_quote(str(fields.get(js) or ''))}" for js, go in keys)
    return f"authorization.{name}{{{inner}}}"


def _attributes_errors(spec: Mapping[str, Any]) -> list[v.FieldError]:
    res, non = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    errors: list[v.FieldError] = []
    if res is not None and non is not None:
        shown = _go_struct("NonResourceAttributes", non, (("path", "Path"), ("verb", "Verb")))
        errors.append(v.invalid("spec.nonResourceAttributes", shown,
                                "cannot be specified in combination with resourceAttributes"))
    if res is None and non is None:
        errors.append(v.invalid("spec.resourceAttributes", v.go_quote("null"),
                                "exactly one of nonResourceAttributes or resourceAttributes must be specified"))
    return errors


def _attributes(user: UserInfo, spec: Mapping[str, Any]) -> Attributes:
    """Build authorizer attributes from a review spec (AuthorizationAttributesFrom)."""
    res = spec.get("resourceAttributes")
    if isinstance(res, Mapping):
        return Attributes(user=user, verb=str(res.get("verb") or ""), api_group=str(res.get("group") or ""),
                          resource=str(res.get("resource") or ""), subresource=str(res.get("subresource") or ""),
                          namespace=str(res.get("namespace") or ""), name=str(res.get("name") or ""))
    non = spec.get("nonResourceAttributes") or {}
    return Attributes(user=user, verb=str(non.get("verb") or ""), path=str(non.get("path") or "") or "/")


def _check_spec(info: Any, spec: Mapping[str, Any]) -> None:
    """Reject spec fields of the wrong JSON type, as the decoder would (400)."""
    struct = f"{info.kind}Spec.spec"
    for key, kind, go_type in (("resourceAttributes", dict, "v1.ResourceAttributes"),
                               ("nonResourceAttributes", dict, "v1.NonResourceAttributes"),
                               ("user", str, "string"), ("uid", str, "string"), ("groups", list, "[]string"),
                               ("extra", dict, "map[string]v1.ExtraValue")):
        value = spec.get(key)
        if value is not None and not isinstance(value, kind):
            raise decode.unmarshal_error(info, value, f"{struct}.{key}", go_type)
    for key in ("resourceAttributes", "nonResourceAttributes"):
        for field, value in (spec.get(key) or {}).items():
            if value is not None and not isinstance(value, str):
                raise decode.unmarshal_error(info, value, f"{struct}.{key}.{field}", "string")
    for group in spec.get("groups") or ():
        if not isinstance(group, str):
            raise decode.unmarshal_error(info, group, f"{struct}.groups", "string")
    for values in (spec.get("extra") or {}).values():
        if values is not None and (not isinstance(values, list) or not all(isinstance(x, str) for x in values)):
            raise decode.unmarshal_error(info, values, f"{struct}.extra", "v1.ExtraValue")


def _spec_user(spec: Mapping[str, Any]) -> UserInfo:
    extra = spec.get("extra") or {}
    return UserInfo(name=str(spec.get("user") or ""), uid=str(spec.get("uid") or ""),
                    groups=tuple(str(g) for g in spec.get("groups") or ()),
                    extra={str(k): tuple(str(x) for x in vals or ()) for k, vals in extra.items()})


def _status(allowed: bool, reason: str) -> Obj:
    out: Obj = {"allowed": allowed}
    if reason:
        out["reason"] = reason
    return out


def review(resource: str, request: Request, user: UserInfo, now: datetime, authorize: Authorize) -> Obj:
    """Evaluate a review POSTed to ``resource`` and return the answered object (or raise 400/422)."""
    info = REVIEWS[resource].info
    obj = decode.decode_object(request, info)
    if resource == "selfsubjectreviews":
        return {"kind": info.kind, "apiVersion": info.api_version,
                "metadata": {"creationTimestamp": format_time(now)}, "status": {"userInfo": user.to_json()}}
    spec = obj.get("spec")
    if spec is None:
        obj["spec"] = spec = {}
    if not isinstance(spec, dict):
        raise decode.unmarshal_error(info, spec, f"{info.kind}.spec", f"v1.{info.kind}Spec")
    _check_spec(info, spec)
    errors = _attributes_errors(spec)
    if resource == "subjectaccessreviews":
        if not spec.get("user") and not spec.get("groups"):
            errors.append(v.invalid("spec.user", v.go_quote(str(spec.get("user") or "")),
                                    "at least one of user or group must be specified"))
        subject = _spec_user(spec)
    else:
        subject = user
    if errors:
        raise status.invalid(info.kind, info.group, "", errors)
    allowed, reason = authorize(_attributes(subject, spec))
    meta = obj.get("metadata") or {}
    meta.setdefault("creationTimestamp", None)
    return {"kind": info.kind, "apiVersion": info.api_version, "metadata": meta, "spec": spec,
            "status": _status(allowed, reason)}
