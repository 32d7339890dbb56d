"""Build and read Kubernetes objects in their real JSON shape.

Objects are plain dicts exactly as kube-apiserver serializes them, so the
emulated server can hand them to kubectl unchanged (DESIGN rule 4). Secret
values are base64 in ``data``, as on the wire; these helpers hide that.
"""

from __future__ import annotations

import base64
from typing import Any, Mapping

Obj = dict[str, Any]


def meta(name: str, namespace: str | None = None, **extra: Any) -> Obj:
    """Return an ``ObjectMeta`` with a name, an optional namespace and extra fields."""
    out: Obj = {"name": name}
    if namespace is not None:
        out["namespace"] = namespace
    out.update(extra)
    return out


def configmap(name: str, namespace: str, data: Mapping[str, str]) -> Obj:
    """Return a core/v1 ConfigMap."""
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(name, namespace), "data": dict(data)}


def secret(name: str, namespace: str, data: Mapping[str, str | bytes], type_: str = "Opaque") -> Obj:
    """Return a core/v1 Secret, base64-encoding each value."""
    encoded = {k: b64(v) for k, v in data.items()}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": meta(name, namespace), "type": type_, "data": encoded}


def secret_data(obj: Mapping[str, Any]) -> dict[str, str]:
    """Return a Secret's ``data`` decoded to text (undecodable values become "")."""
    out: dict[str, str] = {}
    for key, value in (obj.get("data") or {}).items():
        try:
            out[key] = base64.b64decode(value, validate=True).decode()
        except (ValueError, TypeError):
            out[key] = ""
    return out


def secret_bytes(obj: Mapping[str, Any]) -> dict[str, bytes]:
    """Return a Secret's ``data`` decoded to bytes."""
    return {k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()}


def b64(value: str | bytes) -> str:
    """Encode text or bytes as standard base64 text."""
    raw = value.encode() if isinstance(value, str) else value
    return base64.b64encode(raw).decode()


def name_of(obj: Mapping[str, Any]) -> str:
    """Return ``metadata.name`` (empty if missing)."""
    return str((obj.get("metadata") or {}).get("name", ""))


def namespace_of(obj: Mapping[str, Any]) -> str:
    """Return ``metadata.namespace`` (empty for cluster-scoped objects)."""
    return str((obj.get("metadata") or {}).get("namespace", "") or "")


def condition(obj: Mapping[str, Any], type_: str) -> Obj | None:
    """Return the status condition of a type, if present."""
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == type_:
            return dict(cond)
    return None


def format_time(when: Any) -> str:
    """Format an aware datetime as Kubernetes' RFC3339 with second precision and ``Z``."""
    return str(when.strftime("%Y-%m-%dT%H:%M:%SZ"))
