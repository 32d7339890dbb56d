"""Render objects as ``meta.k8s.io/v1`` Tables, the server-side printing ``kubectl get`` asks for.

How this works: kubectl sends ``Accept: application/json;as=Table;v=v1;g=meta.k8s.io,...``
on every ``get`` and prints the columns the server returns; that is where the
CONDITION column of ``kubectl get csr`` (``Approved,Issued``) comes from.
``wants_table`` reads the Accept header, ``to_table`` turns a get or list
response body into a Table with kube-apiserver's columns for CSRs, nodes,
ConfigMaps and Secrets, and the default ``Name``/``Created At`` columns of
``rest.DefaultTableConvertor`` for everything else. Each row carries the object
as ``PartialObjectMetadata`` (``includeObject=Metadata``, the default), the full
object (``Object``) or nothing (``None``). Wide-only columns (priority 1) are
filled with what the emulated objects have. Kept out of ``api.py`` so drivers
apply it on the way out; the control plane itself always answers JSON objects.
Upstream: pkg/printers/internalversion/printers.go, pkg/printers/tablegenerator.go,
staging/src/k8s.io/apiserver/pkg/registry/rest/table.go,
staging/src/k8s.io/apimachinery/pkg/util/duration/duration.go (HumanDuration).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable, Mapping

from sim.protocol.objects import Obj

__all__ = ["human_duration", "to_table", "wants_table"]

Column = dict[str, Any]
Row = Callable[[Obj, datetime], list[Any]]

_NAME_DOC = ("Name must be unique within a namespace. Is required when creating resources, although some resources "
             "may allow a client to request the generation of an appropriate name automatically. Name is primarily "
             "intended for creation idempotence and configuration definition. Cannot be updated. More info: "
             "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names")
_AGE_DOC = ("CreationTimestamp is a timestamp representing the server time when this object was created. It is not "
            "guaranteed to be set in happens-before order across separate operations. Clients may not set this "
            "value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for "
            "lists. More info: "
            "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata")


def _col(name: str, description: str = "", *, fmt: str = "", kind: str = "string", priority: int = 0) -> Column:
    return {"name": name, "type": kind, "format": fmt, "description": description, "priority": priority}


_NAME = _col("Name", _NAME_DOC, fmt="name")
_AGE = _col("Age", _AGE_DOC)


def human_duration(seconds: float) -> str:
    """Render a duration as apimachinery's ``duration.HumanDuration`` (``45s``, ``5m3s``, ``3h``, ``2d4h``)."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m" if s % 60 == 0 else f"{minutes}m{s % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h" if minutes % 60 == 0 else f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d" if hours % 24 == 0 else f"{hours // 24}d{hours % 24}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if days == 0 else f"{hours // 24 // 365}y{days}d"
    return f"{hours // 24 // 365}y"


def _age(obj: Obj, now: datetime) -> str:
    """Return ``translateTimestampSince(creationTimestamp)``: ``<unknown>`` when unset."""
    raw = (obj.get("metadata") or {}).get("creationTimestamp")
    if not raw:
        return "<unknown>"
    try:
        created = datetime.strptime(str(raw), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return "<unknown>"
    return human_duration((now - created).total_seconds())


def _name(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


def csr_condition(obj: Obj) -> str:
    """Return the CONDITION cell of a CSR (``extractCSRStatus``): Denied/Approved/Pending, then Failed, Issued."""
    kinds = {c.get("type") for c in (obj.get("status") or {}).get("conditions") or []}
    text = "Denied" if "Denied" in kinds else "Approved" if "Approved" in kinds else "Pending"
    if "Failed" in kinds:
        text += ",Failed"
    if (obj.get("status") or {}).get("certificate"):
        text += ",Issued"
    return text


def _csr_row(obj: Obj, now: datetime) -> list[Any]:
    spec = obj.get("spec") or {}
    seconds = spec.get("expirationSeconds")
    requested = human_duration(float(seconds)) if isinstance(seconds, int) else "<none>"
    return [_name(obj), _age(obj, now), spec.get("signerName") or "<none>", spec.get("username", ""), requested,
            csr_condition(obj)]


def _node_roles(labels: Mapping[str, str]) -> str:
    """Return the ROLES cell: ``node-role.kubernetes.io/<role>`` labels and ``kubernetes.io/role``, sorted."""
    roles = set()
    for key, value in labels.items():
        if key.startswith("node-role.kubernetes.io/") and key[len("node-role.kubernetes.io/"):]:
            roles.add(key[len("node-role.kubernetes.io/"):])
        elif key == "kubernetes.io/role" and value:
            roles.add(value)
    return ",".join(sorted(roles)) or "<none>"


def _node_row(obj: Obj, now: datetime) -> list[Any]:
    status = obj.get("status") or {}
    ready = [c for c in status.get("conditions") or [] if c.get("type") == "Ready"]
    states = ["Ready" if ready[-1].get("status") == "True" else "NotReady"] if ready else ["Unknown"]
    if (obj.get("spec") or {}).get("unschedulable"):
        states.append("SchedulingDisabled")
    info = status.get("nodeInfo") or {}
    addresses = status.get("addresses") or []

    def address(kind: str) -> str:
        return next((a.get("address", "") for a in addresses if a.get("type") == kind), "<none>")
    return [_name(obj), ",".join(states), _node_roles((obj.get("metadata") or {}).get("labels") or {}),
            _age(obj, now), info.get("kubeletVersion", ""), address("InternalIP"), address("ExternalIP"),
            info.get("osImage") or "<unknown>", info.get("kernelVersion") or "<unknown>",
            info.get("containerRuntimeVersion") or "<unknown>"]


def _configmap_row(obj: Obj, now: datetime) -> list[Any]:
    return [_name(obj), len(obj.get("data") or {}) + len(obj.get("binaryData") or {}), _age(obj, now)]


def _secret_row(obj: Obj, now: datetime) -> list[Any]:
    return [_name(obj), obj.get("type", ""), len(obj.get("data") or {}), _age(obj, now)]


def _default_row(obj: Obj, now: datetime) -> list[Any]:
    return [_name(obj), (obj.get("metadata") or {}).get("creationTimestamp")]


_PRINTERS: dict[str, tuple[list[Column], Row]] = {
    "certificatesigningrequests": ([
        _NAME, _AGE,
        _col("SignerName", "Requested signer for the request. It is a qualified name in the form: "
                           "`scope-hostname.io/name`."),
        _col("Requestor", "Base64-encoded PKCS#10 CSR data"),
        _col("RequestedDuration", "expirationSeconds is the requested duration of validity of the issued "
                                  "certificate."),
        _col("Condition", "Conditions applied to the request, such as approval or denial."),
    ], _csr_row),
    "nodes": ([
        _NAME, _col("Status", "The status of the node"), _col("Roles", "The roles of the node"), _AGE,
        _col("Version", "Kubelet Version reported by the node."),
        _col("Internal-IP", "List of addresses reachable to the node.", priority=1),
        _col("External-IP", "List of addresses reachable to the node.", priority=1),
        _col("OS-Image", "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).",
             priority=1),
        _col("Kernel-Version", "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
             priority=1),
        _col("Container-Runtime", "ContainerRuntime Version reported by the node through runtime remote API "
                                  "(e.g. containerd://1.4.2).", priority=1),
    ], _node_row),
    "configmaps": ([
        _NAME, _col("Data", "Data contains the configuration data."), _AGE,
    ], _configmap_row),
    "secrets": ([
        _NAME, _col("Type", "Used to facilitate programmatic handling of secret data."),
        _col("Data", "Data contains the secret data."), _AGE,
    ], _secret_row),
}
_DEFAULT: tuple[list[Column], Row] = ([
    _NAME, _col("Created At", _AGE_DOC, kind="date"),
], _default_row)


def wants_table(accept: str | None) -> bool:
    """Tell whether an Accept header asks for ``as=Table`` in ``meta.k8s.io`` (v1 or v1beta1)."""
    for media in (accept or "").split(","):
        params = {}
        for part in media.split(";")[1:]:
            key, _, value = part.strip().partition("=")
            params[key.strip()] = value.strip()
        if params.get("as") == "Table" and params.get("g") == "meta.k8s.io" and params.get("v") in ("v1", "v1beta1"):
            return True
    return False


def _row_object(obj: Obj, include: str) -> dict[str, Any] | None:
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj.get("metadata") or {}}


def to_table(resource: str, body: Mapping[str, Any], now: datetime, include_object: str = "Metadata") -> dict[str, Any]:
    """Return a get (one object) or list body as a Table with the resource's columns."""
    columns, row = _PRINTERS.get(resource, _DEFAULT)
    is_list = isinstance(body.get("items"), list)
    items: list[Obj] = list(body["items"]) if is_list else [dict(body)]
    rows = []
    for obj in items:
        entry: dict[str, Any] = {"cells": row(obj, now)}
        embedded = _row_object(obj, include_object)
        if embedded is not None:
            entry["object"] = embedded
        rows.append(entry)
    meta = dict(body.get("metadata") or {}) if is_list else \
        {"resourceVersion": (body.get("metadata") or {}).get("resourceVersion", "")}
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta, "columnDefinitions": columns,
            "rows": rows}
