"""Transcode Kubernetes protobuf request bodies to JSON, for the few kinds kubectl sends that way.

How this works: kubectl's typed clients post ``application/vnd.kubernetes.protobuf``
(``kubectl auth whoami`` a SelfSubjectReview, ``auth can-i`` a
SelfSubjectAccessReview, ``certificate approve|deny`` a
CertificateSigningRequest, ``create secret|configmap`` those objects).
A body is the 4-byte magic ``k8s\\0`` and a ``runtime.Unknown`` holding the
TypeMeta and the object's own protobuf encoding. ``to_json`` decodes the
protobuf wire format against a small table of field numbers copied from the
upstream ``generated.proto`` files and returns the JSON object the control
plane decodes anyway, so every kind keeps one decoding path. Anything else
(an unknown kind, a malformed body) is left alone and the control plane
answers its 415 or 400 as before. Responses stay JSON, which these clients
also accept. Unknown fields are skipped, as protobuf decoders do.
Upstream: staging/src/k8s.io/apimachinery/pkg/runtime/serializer/protobuf/protobuf.go,
staging/src/k8s.io/apimachinery/pkg/runtime/generated.proto,
staging/src/k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto,
staging/src/k8s.io/api/{authentication,authorization,certificates,core}/v1/generated.proto.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone
from typing import Any, Iterator

__all__ = ["MEDIA_TYPE", "to_json"]

MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
_MAGIC = b"k8s\x00"

# A schema maps a field number to (JSON name, kind, nested schema for messages).
Schema = dict[int, tuple[str, str, Any]]

_TIME: Schema = {1: ("seconds", "int", None), 2: ("nanos", "int", None)}
_OWNER: Schema = {1: ("kind", "string", None), 2: ("name", "string", None), 3: ("uid", "string", None),
                  4: ("controller", "bool", None), 5: ("apiVersion", "string", None),
                  6: ("blockOwnerDeletion", "bool", None)}
_OBJECT_META: Schema = {
    1: ("name", "string", None), 2: ("generateName", "string", None), 3: ("namespace", "string", None),
    4: ("selfLink", "string", None), 5: ("uid", "string", None), 6: ("resourceVersion", "string", None),
    7: ("generation", "int", None), 8: ("creationTimestamp", "time", None), 9: ("deletionTimestamp", "time", None),
    10: ("deletionGracePeriodSeconds", "int", None), 11: ("labels", "map", "string"),
    12: ("annotations", "map", "string"), 13: ("ownerReferences", "repeated", _OWNER),
    14: ("finalizers", "strings", None),
}
_EXTRA: Schema = {1: ("items", "strings", None)}
_USER_INFO: Schema = {1: ("username", "string", None), 2: ("uid", "string", None), 3: ("groups", "strings", None),
                      4: ("extra", "map", _EXTRA)}
_CSR_CONDITION: Schema = {1: ("type", "string", None), 6: ("status", "string", None), 2: ("reason", "string", None),
                          3: ("message", "string", None), 4: ("lastUpdateTime", "time", None),
                          5: ("lastTransitionTime", "time", None)}
_RESOURCE_ATTRIBUTES: Schema = {1: ("namespace", "string", None), 2: ("verb", "string", None),
                                3: ("group", "string", None), 4: ("version", "string", None),
                                5: ("resource", "string", None), 6: ("subresource", "string", None),
                                7: ("name", "string", None)}
_NON_RESOURCE_ATTRIBUTES: Schema = {1: ("path", "string", None), 2: ("verb", "string", None)}

KINDS: dict[str, Schema] = {
    "SelfSubjectReview": {1: ("metadata", "message", _OBJECT_META),
                          2: ("status", "message", {1: ("userInfo", "message", _USER_INFO)})},
    "SelfSubjectAccessReview": {1: ("metadata", "message", _OBJECT_META), 2: ("spec", "message", {
        1: ("resourceAttributes", "message", _RESOURCE_ATTRIBUTES),
        2: ("nonResourceAttributes", "message", _NON_RESOURCE_ATTRIBUTES)})},
    "CertificateSigningRequest": {
        1: ("metadata", "message", _OBJECT_META),
        2: ("spec", "message", {1: ("request", "bytes", None), 7: ("signerName", "string", None),
                                8: ("expirationSeconds", "int", None), 5: ("usages", "strings", None),
                                2: ("username", "string", None), 3: ("uid", "string", None),
                                4: ("groups", "strings", None), 6: ("extra", "map", _EXTRA)}),
        3: ("status", "message", {1: ("conditions", "repeated", _CSR_CONDITION), 2: ("certificate", "bytes", None)}),
    },
    "Secret": {1: ("metadata", "message", _OBJECT_META), 5: ("immutable", "bool", None), 2: ("data", "map", "bytes"),
               4: ("stringData", "map", "string"), 3: ("type", "string", None)},
    "ConfigMap": {1: ("metadata", "message", _OBJECT_META), 4: ("immutable", "bool", None),
                  2: ("data", "map", "string"), 3: ("binaryData", "map", "bytes")},
}
_TYPE_META: Schema = {1: ("apiVersion", "string", None), 2: ("kind", "string", None)}
_UNKNOWN: Schema = {1: ("typeMeta", "message", _TYPE_META), 2: ("raw", "bytes", None),
                    3: ("contentEncoding", "string", None), 4: ("contentType", "string", None)}


class ProtobufError(ValueError):
    """Reject bytes that are not valid protobuf for the expected message."""


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ProtobufError("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def _fields(data: bytes) -> Iterator[tuple[int, int, Any]]:
    """Yield (field number, wire type, value): an int for varints and fixed, bytes for length-delimited."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        value: Any
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise ProtobufError("truncated field")
            value, pos = data[pos:pos + length], pos + length
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            if pos + size > len(data):
                raise ProtobufError("truncated fixed field")
            value, pos = int.from_bytes(data[pos:pos + size], "little"), pos + size
        else:
            raise ProtobufError(f"unsupported wire type {wire}")
        yield number, wire, value


def _text(value: Any) -> str:
    if not isinstance(value, bytes):
        raise ProtobufError("expected a length-delimited string")
    return value.decode("utf-8")


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _time(value: bytes) -> str:
    seconds = int(decode(value, _TIME).get("seconds", 0))
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _map_entry(value: bytes, kind: Any) -> tuple[str, Any]:
    key = ""
    item: Any = None
    for number, _, raw in _fields(value):
        if number == 1:
            key = _text(raw)
        elif number == 2:
            if kind == "string":
                item = _text(raw)
            elif kind == "bytes":
                item = base64.b64encode(raw).decode()
            else:
                item = decode(raw, kind)
    if item is None:
        item = "" if kind in ("string", "bytes") else {}
    return key, item


def decode(data: bytes, schema: Schema) -> dict[str, Any]:
    """Decode one message into its JSON form (bytes as base64, times as RFC 3339).

    Empty scalars and zero times are left out, as Go's ``omitempty`` JSON encoding would.
    """
    out: dict[str, Any] = {}
    for number, _, value in _fields(data):
        if number not in schema:
            continue
        name, kind, sub = schema[number]
        if kind in ("string", "bytes", "time") and value == b"" or kind in ("int", "bool") and not value:
            continue
        if kind == "string":
            out[name] = _text(value)
        elif kind == "bytes":
            out[name] = base64.b64encode(value).decode() if isinstance(value, bytes) else ""
        elif kind == "int":
            out[name] = _signed(value) if isinstance(value, int) else 0
        elif kind == "bool":
            out[name] = bool(value)
        elif kind == "time":
            out[name] = _time(value)
        elif kind == "message":
            out[name] = decode(value, sub)
        elif kind == "repeated":
            out.setdefault(name, []).append(decode(value, sub))
        elif kind == "strings":
            out.setdefault(name, []).append(_text(value))
        elif kind == "map":
            key, item = _map_entry(value, sub)
            out.setdefault(name, {})[key] = item
    return out


def to_json(body: bytes) -> bytes | None:
    """Return the JSON encoding of a protobuf-encoded object of a known kind, or None to leave the body alone."""
    if not body.startswith(_MAGIC):
        return None
    try:
        unknown = decode(body[len(_MAGIC):], _UNKNOWN)
        type_meta = unknown.get("typeMeta") or {}
        schema = KINDS.get(type_meta.get("kind", ""))
        if schema is None or unknown.get("contentEncoding"):
            return None
        obj = decode(base64.b64decode(unknown.get("raw", "")), schema)
    except (ProtobufError, UnicodeDecodeError, ValueError):
        return None
    return json.dumps({"kind": type_meta["kind"], "apiVersion": type_meta.get("apiVersion", ""), **obj},
                      separators=(",", ":")).encode()
