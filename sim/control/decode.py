"""Decode request bodies the way kube-apiserver's handlers do, failing with their 400/413/415 Statuses.

How this works: the body size is capped (413), the media type must be one the
verb accepts (415), then the JSON (or YAML) is parsed. A body that does not
parse says ``the object provided is unrecognized (must be of type <Kind>):
couldn't get version/kind; json parse error: <Go's error> (<first bytes>)``;
a body that parses but has a field of the wrong JSON type says ``<Kind> in
version "<v>" cannot be handled as a <Kind>: json: cannot unmarshal ...``.
Go's JSON error texts are mapped from Python's for the common cases only.
Upstream: staging/src/k8s.io/apiserver/pkg/endpoints/handlers/create.go
(transformDecodeError, summarizeData), rest.go (limitedReadBody),
patch.go (patchTypes), runtime/serializer/json/meta.go.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Mapping

import yaml

from sim.control import status
from sim.control.resources import ResourceInfo
from sim.protocol.constants import APPLY_PATCH_TYPE, MAX_REQUEST_BODY_BYTES, PATCH_MEDIA_TYPES
from sim.protocol.errors import ApiStatusError
from sim.protocol.http import Request

__all__ = [
    "decode_json", "decode_object", "json_too_deep", "media_type",
    "patch_type", "read_body", "too_deep", "unmarshal_error", "b64_error",
]

_SERVED_BODY_TYPES = ("", "application/json", "application/yaml")


def media_type(request: Request) -> str:
    """Return the request's Content-Type without parameters, lower-cased ("" when absent)."""
    return (request.header("Content-Type") or "").split(";", 1)[0].strip().lower()


def read_body(request: Request) -> bytes:
    """Return the body, or raise 413 past kube-apiserver's 3 MiB limit."""
    if len(request.body) > MAX_REQUEST_BODY_BYTES:
        raise status.too_large()
    return request.body


def patch_type(request: Request) -> str:
    """Return the patch media type, or raise 415 listing the ones a PATCH accepts (apply is not served)."""
    kind = media_type(request)
    if kind not in PATCH_MEDIA_TYPES or kind == APPLY_PATCH_TYPE:
        raise status.unsupported_media_type("PATCH")
    return kind


def _go_char(ch: str) -> str:
    """Quote a character as encoding/json's quoteChar does."""
    if ch == "'":
        return "'\\''"
    if ch == '"':
        return "'\"'"
    return "'" + json.dumps(ch)[1:-1] + "'"


def _go_json_error(doc: str, err: json.JSONDecodeError) -> str:
    """Map a Python JSON error to encoding/json's text for the common cases."""
    pos = err.pos
    rest = doc[pos:].lstrip()
    if not rest or err.msg.startswith("Unterminated") or err.msg.startswith("Invalid control"):
        return "unexpected end of JSON input"
    ch = _go_char(rest[0])
    if err.msg.startswith("Expecting property name"):
        return f"invalid character {ch} looking for beginning of object key string"
    if err.msg.startswith("Expecting ':'"):
        return f"invalid character {ch} after object key"
    if err.msg.startswith("Expecting ','"):
        inside_array = doc[:pos].rstrip().rfind("[") > doc[:pos].rstrip().rfind("{")
        return f"invalid character {ch} after {'array element' if inside_array else 'object key:value pair'}"
    if err.msg.startswith("Extra data"):
        return f"invalid character {ch} after top-level value"
    return f"invalid character {ch} looking for beginning of value"


def _summary(body: bytes) -> str:
    """Return summarizeData(body, 30): the text if it looks like JSON, else hex, cut at 30 bytes."""
    if not body:
        return "<empty>"
    head = body[:30]
    text = head.decode("utf-8", "replace") if body[:1] == b"{" else head.hex()
    return text + " ..." if len(body) > 30 else text


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


MAX_DEPTH = 256
"""Nesting limit of decoded bodies (no Kubernetes object comes close; deeper input is refused, not recursed)."""


def too_deep(value: Any) -> bool:
    """Tell whether a decoded value nests deeper than MAX_DEPTH (checked without recursion)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        if isinstance(node, dict):
            stack.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node)
    return False


def json_too_deep(text: str, value: Any) -> bool:
    """Tell whether ``value``, decoded from the JSON ``text``, nests deeper than MAX_DEPTH.

    Each level of nesting opens with a ``[`` or ``{``, so text with fewer than
    MAX_DEPTH of them (those inside strings count too) needs no walk.
    """
    return text.count("[") + text.count("{") >= MAX_DEPTH and too_deep(value)


def decode_json(body: bytes, kind: str) -> Any:
    """Parse a JSON body; failure is the 400 ``the object provided is unrecognized`` Status."""
    text = body.decode("utf-8", "replace")
    unrecognized = f"the object provided is unrecognized (must be of type {kind}): couldn't get version/kind; "
    try:
        value = json.loads(text) if text.strip() else _raise_empty()
    except json.JSONDecodeError as err:
        raise status.bad_request(
            f"{unrecognized}json parse error: {_go_json_error(text, err)} ({_summary(body)})") from None
    except RecursionError:
        value = None
    if value is None and text.strip() != "null" or json_too_deep(text, value):
        raise status.bad_request(f"{unrecognized}json parse error: exceeded max depth ({_summary(body)})")
    return value


def _raise_empty() -> Any:
    raise json.JSONDecodeError("Expecting value", "", 0)


def unmarshal_error(info: ResourceInfo, json_value: Any, go_field: str, go_type: str) -> ApiStatusError:
    """Return the 400 for a field of the wrong JSON type (``json: cannot unmarshal ...``)."""
    cause = f"json: cannot unmarshal {_json_type(json_value)} into Go struct field {go_field} of type {go_type}"
    return status.bad_request(f'{info.kind} in version "{info.version}" cannot be handled as a {info.kind}: {cause}')


def b64_error(info: ResourceInfo, value: str) -> ApiStatusError | None:
    """Return the 400 for a ``[]byte`` field that is not standard base64, else None."""
    try:
        base64.b64decode(value.encode(), validate=True)
        return None
    except (binascii.Error, ValueError):
        pass
    alphabet = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
    bad = next((i for i, ch in enumerate(value) if ch not in alphabet and ch != "="), None)
    if bad is None:
        bad = len(value) - len(value) % 4 if len(value) % 4 else max(len(value.rstrip("=")) - 1, 0)
    cause = f"illegal base64 data at input byte {bad}"
    return status.bad_request(f'{info.kind} in version "{info.version}" cannot be handled as a {info.kind}: {cause}')


def decode_object(request: Request, info: ResourceInfo) -> dict[str, Any]:
    """Decode a create/update body into an object of the endpoint's kind (415, 400 or the object).

    JSON and YAML are decoded; protobuf is refused with 415. A missing
    ``apiVersion``/``kind`` defaults to the endpoint's; a different group or
    version is upstream's ``the API version in the data ... does not match``.
    """
    kind = media_type(request)
    if kind not in _SERVED_BODY_TYPES:
        raise status.unsupported_media_type(request.method)
    body = read_body(request)
    if kind == "application/yaml":
        try:
            value = yaml.safe_load(body.decode("utf-8", "replace")) if body.strip() else None
            if too_deep(value):
                raise yaml.YAMLError("exceeded max depth")
        except (yaml.YAMLError, RecursionError) as err:
            raise status.bad_request(f"the object provided is unrecognized (must be of type {info.kind}): "
                                     f"couldn't get version/kind; yaml parse error: {err}") from None
        if value is None:
            value = decode_json(b"", info.kind)
    else:
        value = decode_json(body, info.kind)
    if value is None:  # JSON null decodes into an empty object, as Go's Unmarshal leaves the struct alone
        value = {}
    if not isinstance(value, dict):
        go_type = ('struct { APIVersion string "json:\\"apiVersion,omitempty\\""; '
                   'Kind string "json:\\"kind,omitempty\\"" }')
        cause = f"json: cannot unmarshal {_json_type(value)} into Go value of type {go_type}"
        raise status.bad_request(f"the object provided is unrecognized (must be of type {info.kind}): "
                                 f"couldn't get version/kind; json parse error: {cause} ({_summary(body)})")
    return check_type_meta(value, info)


def check_type_meta(obj: dict[str, Any], info: ResourceInfo) -> dict[str, Any]:
    """Fill a missing apiVersion/kind and reject another group/version or kind (create.go)."""
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if api_version not in (None, "") and api_version != info.api_version:
        raise status.bad_request(f"the API version in the data ({api_version}) does not match the expected "
                                 f"API version ({info.api_version})")
    if kind not in (None, "") and kind != info.kind:
        # Approximation: upstream decodes into the named kind and fails later with a scheme error.
        raise status.bad_request(f'{kind} in version "{info.version}" cannot be handled as a {info.kind}: '
                                 f"the kind in the data ({kind}) does not match the expected kind ({info.kind})")
    obj["apiVersion"], obj["kind"] = info.api_version, info.kind
    meta = obj.get("metadata")
    if meta is None:
        obj["metadata"] = {}
    elif not isinstance(meta, dict):
        raise unmarshal_error(info, meta, f"{info.kind}.metadata", "v1.ObjectMeta")
    else:
        for key in ("name", "namespace", "generateName", "resourceVersion", "uid"):
            if key in meta and meta[key] is not None and not isinstance(meta[key], str):
                raise unmarshal_error(info, meta[key], f"ObjectMeta.metadata.{key}", "string")
        for key in ("labels", "annotations"):
            _check_string_map(info, meta.get(key), f"ObjectMeta.metadata.{key}")
    return obj


def _check_string_map(info: ResourceInfo, value: Any, go_field: str) -> None:
    """Reject a map whose values are not strings (``map[string]string`` fields)."""
    if value is None:
        return
    if not isinstance(value, Mapping):
        raise unmarshal_error(info, value, go_field, "map[string]string")
    for item in value.values():
        if item is not None and not isinstance(item, str):
            raise unmarshal_error(info, item, go_field, "string")


def check_string_map(info: ResourceInfo, obj: Mapping[str, Any], key: str) -> None:
    """Reject a top-level ``map[string]string`` field (ConfigMap ``data``, Secret ``stringData``) of the wrong shape."""
    _check_string_map(info, obj.get(key), f"{info.kind}.{key}")


def decode_options(request: Request) -> dict[str, Any] | None:
    """Decode an optional DeleteOptions body (None when empty)."""
    body = read_body(request)
    if not body.strip():
        return None
    kind = media_type(request)
    if kind not in _SERVED_BODY_TYPES:
        raise status.unsupported_media_type(request.method)
    value = decode_json(body, "DeleteOptions")
    if not isinstance(value, dict):
        raise status.bad_request(f"the object provided is unrecognized (must be of type DeleteOptions): "
                                 f"couldn't get version/kind; json parse error: json: cannot unmarshal "
                                 f"{_json_type(value)} into Go value of type DeleteOptions ({_summary(body)})")
    return value
