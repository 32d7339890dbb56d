"""Parse and apply list/watch selectors: field selectors and (equality and set based) label selectors.

Field selectors name one of the fields a resource supports (every resource:
``metadata.name``, ``metadata.namespace``; Secrets also ``type``; CSRs
``spec.signerName``); any other label is a 400, as upstream's field-label
conversion functions answer.
Upstream: staging/src/k8s.io/apimachinery/pkg/fields/selector.go,
staging/src/k8s.io/apimachinery/pkg/labels/selector.go,
pkg/apis/core/v1/conversion.go (AddFieldLabelConversionFunc).
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Sequence

from sim.control import status

__all__ = [
    "FIELD_LABELS", "Requirement", "check_field_labels", "exact_match", "field_value", "matches_fields",
    "matches_labels", "parse_field_selector", "parse_label_selector",
]

Requirement = tuple[str, str, tuple[str, ...]]
"""(key, operator, values): operator is ``=``, ``!=``, ``in``, ``notin``, ``exists`` or ``!``."""

_COMMON = ("metadata.name", "metadata.namespace")
FIELD_LABELS: dict[str, tuple[str, ...]] = {
    "secrets": (*_COMMON, "type"),
    "certificatesigningrequests": (*_COMMON, "spec.signerName"),
    "nodes": (*_COMMON, "spec.unschedulable"),
    "namespaces": (*_COMMON, "status.phase"),
}


def _split_terms(raw: str) -> list[str]:
    """Split on commas that are not backslash-escaped (fields.splitTerms)."""
    terms, current, escaped = [], [], False
    for ch in raw:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\":
            current.append(ch)
            escaped = True
        elif ch == ",":
            terms.append("".join(current))
            current = []
        else:
            current.append(ch)
    terms.append("".join(current))
    return terms


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)


def parse_field_selector(raw: str) -> list[Requirement]:
    """Parse ``a=b,c!=d`` into requirements; a malformed term is a 400 (fields.ParseSelector)."""
    out: list[Requirement] = []
    if not raw.strip():
        return out
    for term in _split_terms(raw):
        if not term:
            continue
        for op, norm in (("!=", "!="), ("==", "="), ("=", "=")):
            idx = term.find(op)
            if idx > 0:
                out.append((term[:idx], norm, (_unescape(term[idx + len(op):]),)))
                break
        else:
            raise status.bad_request(f"invalid selector: '{raw}'; can't understand '{term}'")
    return out


_LABEL_TERM = re.compile(r"^\s*(!?)\s*([A-Za-z0-9./_-]+)\s*(?:(!=|==|=|\s+in\s+|\s+notin\s+)\s*(.*?))?\s*$")


def parse_label_selector(raw: str) -> list[Requirement]:
    """Parse a label selector (``a=b``, ``a!=b``, ``a``, ``!a``, ``a in (x,y)``, ``a notin (x)``)."""
    out: list[Requirement] = []
    for term in re.split(r",(?![^(]*\))", raw):
        if not term.strip():
            continue
        m = _LABEL_TERM.match(term)
        if m is None:
            raise status.bad_request(f"unable to parse requirement: invalid label selector {raw!r}")
        neg, key, op, value = m.group(1), m.group(2), (m.group(3) or "").strip(), m.group(4) or ""
        if neg:
            if op:
                raise status.bad_request(f"unable to parse requirement: invalid label selector {raw!r}")
            out.append((key, "!", ()))
        elif not op:
            out.append((key, "exists", ()))
        elif op in ("in", "notin"):
            inner = value.strip()
            if not (inner.startswith("(") and inner.endswith(")")):
                raise status.bad_request(f"unable to parse requirement: invalid label selector {raw!r}")
            out.append((key, op, tuple(v.strip() for v in inner[1:-1].split(",") if v.strip())))
        else:
            out.append((key, "!=" if op == "!=" else "=", (value,)))
    return out


def check_field_labels(resource: str, requirements: Sequence[Requirement]) -> None:
    """Reject a field label the resource does not support, with upstream's 400 text."""
    allowed = FIELD_LABELS.get(resource, _COMMON)
    for key, _, _ in requirements:
        if key not in allowed:
            raise status.bad_request(f"field label not supported: {key}")


def field_value(obj: Mapping[str, Any], key: str) -> str:
    """Return an object's value for a field label, as a string ("" when missing)."""
    node: Any = obj
    for part in key.split("."):
        node = node.get(part) if isinstance(node, Mapping) else None
    if node is None:
        return "false" if key == "spec.unschedulable" else ""
    if isinstance(node, bool):
        return "true" if node else "false"
    return str(node)


def _test(op: str, actual: str | None, values: tuple[str, ...]) -> bool:
    if op == "=":
        return actual == values[0]
    if op == "!=":
        return actual != values[0]
    if op == "in":
        return actual is not None and actual in values
    if op == "notin":
        return actual is None or actual not in values
    if op == "exists":
        return actual is not None
    return actual is None  # "!"


def matches_fields(obj: Mapping[str, Any], requirements: Sequence[Requirement]) -> bool:
    """Tell whether an object satisfies every field requirement."""
    return all(_test(op, field_value(obj, key), values) for key, op, values in requirements)


def matches_labels(obj: Mapping[str, Any], requirements: Sequence[Requirement]) -> bool:
    """Tell whether an object's labels satisfy every label requirement."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return all(_test(op, labels.get(key), values) for key, op, values in requirements)


def exact_match(requirements: Sequence[Requirement], key: str) -> str | None:
    """Return the value a selector requires ``key`` to equal, if it does (Selector.RequiresExactMatch)."""
    for k, op, values in requirements:
        if k == key and op == "=":
            return values[0]
    return None
