"""Hold the per-resource rules the registry applies on create and update (upstream's REST strategies).

Each strategy can reject a decoded body (400, for wrong field types),
prepare an object (drop what clients may not set, fill defaults), validate it
(422 field errors) and decide what an update of the main resource or of a
subresource may change. The CSR strategy lives in csr_api.py.
Upstream: pkg/registry/core/{configmap,secret,node,namespace}/strategy.go,
pkg/registry/rbac/*/strategy.go, pkg/apis/core/validation/validation.go
(ValidateObjectMeta, ValidateConfigMap, ValidateSecret), pkg/apis/rbac/validation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sim.control import decode, validation as v
from sim.control.authn import UserInfo
from sim.control.profile import CURRENT, Profile
from sim.control.resources import RESOURCES, ResourceInfo
from sim.control.store import clone
from sim.protocol.objects import b64

__all__ = ["Strategy", "strategy_for"]

Obj = dict[str, Any]


class Strategy:
    """Define the defaults: any field may be set, names are DNS subdomains, subresources are unknown."""

    name_format = "subdomain"

    def __init__(self, info: ResourceInfo, profile: Profile = CURRENT) -> None:
        self.info = info
        self.profile = profile

    def check_body(self, obj: Obj) -> None:
        """Raise a 400 for a field of the wrong JSON type (the decoder's strictness)."""

    def prepare_for_create(self, obj: Obj, user: UserInfo, now: datetime) -> None:
        """Adjust a new object before validation (PrepareForCreate)."""

    def validate(self, obj: Obj) -> list[v.FieldError]:
        """Return validation errors for a new or updated object (ValidateObjectMeta and the type's rules)."""
        return self._validate_meta(obj)

    def prepare_for_update(self, new: Obj, old: Obj, subresource: str, now: datetime) -> Obj:
        """Return the object to store for an update of the main resource or a subresource."""
        return new

    def validate_update(self, new: Obj, old: Obj, subresource: str) -> list[v.FieldError]:
        """Return validation errors for an update (by default the create rules)."""
        return self.validate(new)

    def _validate_meta(self, obj: Obj) -> list[v.FieldError]:
        meta = obj.get("metadata") or {}
        name = meta.get("name") or ""
        if not name:
            if meta.get("generateName"):
                return []
            return [v.required("metadata.name", "name or generateName is required")]
        if self.name_format == "subdomain":
            messages = v.dns1123_subdomain_errors(name)
        elif self.name_format == "label":
            messages = v.dns1123_label_errors(name)
        elif self.name_format == "path":  # RBAC names: colons allowed
            messages = _path_segment_errors(name)
        else:  # any name (CSRs: ValidateCertificateRequestName accepts everything)
            messages = []
        return [v.invalid("metadata.name", v.go_quote(name), m) for m in messages]


def _path_segment_errors(name: str) -> list[str]:
    """Return IsValidPathSegmentName's messages."""
    if name in (".", ".."):
        return [f"may not be '{name}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in name]


def _status_update(new: Obj, old: Obj) -> Obj:
    """Return the old object with only the new status (a status subresource update)."""
    out: Obj = clone(old)
    out["status"] = clone(new.get("status"))
    out["metadata"]["resourceVersion"] = (new.get("metadata") or {}).get("resourceVersion", "")
    if out["status"] is None:
        out.pop("status")
    return out


def _keep_status(new: Obj, old: Obj) -> Obj:
    """Return the new object with the old status (a main-resource update ignores status)."""
    out: Obj = clone(new)
    if "status" in old:
        out["status"] = clone(old["status"])
    else:
        out.pop("status", None)
    return out


class ConfigMapStrategy(Strategy):
    """Validate ConfigMap keys (ValidateConfigMap)."""

    def check_body(self, obj: Obj) -> None:
        decode.check_string_map(self.info, obj, "data")
        binary = obj.get("binaryData")
        if binary is not None:
            decode.check_string_map(self.info, obj, "binaryData")
            for value in binary.values():
                if err := decode.b64_error(self.info, value):
                    raise err

    def validate(self, obj: Obj) -> list[v.FieldError]:
        errors = self._validate_meta(obj)
        for field in ("data", "binaryData"):
            for key in obj.get(field) or {}:
                errors += [v.invalid(f"{field}[{key}]", v.go_quote(key), m) for m in v.config_key_errors(key)]
        return errors


class SecretStrategy(ConfigMapStrategy):
    """Default the type, fold ``stringData`` into ``data`` and keep the type immutable."""

    def check_body(self, obj: Obj) -> None:
        decode.check_string_map(self.info, obj, "data")
        decode.check_string_map(self.info, obj, "stringData")
        for value in (obj.get("data") or {}).values():
            if err := decode.b64_error(self.info, value):
                raise err
        if "type" in obj and obj["type"] is not None and not isinstance(obj["type"], str):
            raise decode.unmarshal_error(self.info, obj["type"], "Secret.type", "v1.SecretType")
        # v1 conversion: stringData is write-only and overrides data.
        string_data = obj.pop("stringData", None) or {}
        if string_data:
            obj.setdefault("data", {})
            obj["data"] = dict(obj["data"] or {})
            obj["data"].update({k: b64(val) for k, val in string_data.items()})
        if not obj.get("type"):
            obj["type"] = "Opaque"

    def validate(self, obj: Obj) -> list[v.FieldError]:
        errors = self._validate_meta(obj)
        for key in obj.get("data") or {}:
            errors += [v.invalid(f"data[{key}]", v.go_quote(key), m) for m in v.config_key_errors(key)]
        return errors

    def validate_update(self, new: Obj, old: Obj, subresource: str) -> list[v.FieldError]:
        errors = self.validate(new)
        if new.get("type") != old.get("type"):
            errors.append(v.invalid("type", v.go_quote(str(new.get("type", ""))), "field is immutable"))
        return errors


class NodeStrategy(Strategy):
    """Accept a Node as the kubelet registers it; split spec/metadata updates from status updates."""

    def prepare_for_create(self, obj: Obj, user: UserInfo, now: datetime) -> None:
        return None

    def prepare_for_update(self, new: Obj, old: Obj, subresource: str, now: datetime) -> Obj:
        return _status_update(new, old) if subresource == "status" else _keep_status(new, old)


class NamespaceStrategy(Strategy):
    """Start namespaces Active; names are DNS labels."""

    name_format = "label"

    def prepare_for_create(self, obj: Obj, user: UserInfo, now: datetime) -> None:
        obj["status"] = {"phase": "Active"}
        obj.setdefault("spec", {"finalizers": ["kubernetes"]})

    def prepare_for_update(self, new: Obj, old: Obj, subresource: str, now: datetime) -> Obj:
        return _status_update(new, old) if subresource == "status" else _keep_status(new, old)


class RbacStrategy(Strategy):
    """Validate RBAC names as path segments (colons are allowed: ``system:node-bootstrapper``)."""

    name_format = "path"

    def check_body(self, obj: Obj) -> None:
        kind = self.info.kind
        for key, go_type, fields in (
                ("rules", "v1.PolicyRule", ("verbs", "apiGroups", "resources", "resourceNames", "nonResourceURLs")),
                ("subjects", "v1.Subject", ())):
            value = obj.get(key)
            if value is None:
                continue
            if not isinstance(value, list):
                raise decode.unmarshal_error(self.info, value, f"{kind}.{key}", f"[]{go_type}")
            for item in value:
                if not isinstance(item, dict):
                    raise decode.unmarshal_error(self.info, item, f"{kind}.{key}", go_type)
                for field in fields:
                    values = item.get(field)
                    if values is not None and (not isinstance(values, list)
                                               or not all(isinstance(x, str) for x in values)):
                        raise decode.unmarshal_error(self.info, values, f"PolicyRule.{key}.{field}", "[]string")
                for field in ("kind", "apiGroup", "name", "namespace") if key == "subjects" else ():
                    if item.get(field) is not None and not isinstance(item[field], str):
                        raise decode.unmarshal_error(self.info, item[field], f"Subject.{key}.{field}", "string")
        ref = obj.get("roleRef")
        if ref is not None and (not isinstance(ref, dict) or not all(isinstance(x, str) for x in ref.values())):
            raise decode.unmarshal_error(self.info, ref, f"{kind}.roleRef", "v1.RoleRef")

    def validate(self, obj: Obj) -> list[v.FieldError]:
        errors = self._validate_meta(obj)
        for i, rule in enumerate(obj.get("rules") or ()):
            if not rule.get("verbs"):
                errors.append(v.required(f"rules[{i}].verbs", "verbs must contain at least one value"))
            if rule.get("nonResourceURLs") and (rule.get("resources") or rule.get("apiGroups")):
                errors.append(v.invalid(f"rules[{i}].nonResourceURLs", "[]string{" + ", ".join(
                    v.go_quote(u) for u in rule["nonResourceURLs"]) + "}",
                    "rules cannot apply to both regular resources and non-resource URLs"))
            if rule.get("resources") and not rule.get("apiGroups"):
                errors.append(v.required(f"rules[{i}].apiGroups", "resource rules must supply at least one api group"))
        for i, subject in enumerate(obj.get("subjects") or ()):
            if subject.get("kind") not in ("ServiceAccount", "User", "Group"):
                errors.append(v.not_supported(f"subjects[{i}].kind", v.go_quote(str(subject.get("kind", ""))),
                                              ["ServiceAccount", "User", "Group"]))
            if not subject.get("name"):
                errors.append(v.required(f"subjects[{i}].name"))
        if self.info.kind in ("RoleBinding", "ClusterRoleBinding"):
            ref = obj.get("roleRef") or {}
            if not ref.get("name"):
                errors.append(v.required("roleRef.name"))
            if ref.get("kind") not in ("Role", "ClusterRole"):
                errors.append(v.not_supported("roleRef.kind", v.go_quote(str(ref.get("kind", ""))),
                                              ["Role", "ClusterRole"] if self.info.kind == "RoleBinding"
                                              else ["ClusterRole"]))
        return errors

    def validate_update(self, new: Obj, old: Obj, subresource: str) -> list[v.FieldError]:
        errors = self.validate(new)
        if "roleRef" in old and new.get("roleRef") != old.get("roleRef"):
            ref = new.get("roleRef") or {}
            shown = (f'rbac.RoleRef{{APIGroup:{v.go_quote(str(ref.get("apiGroup", "")))}, '
                     f'Kind:{v.go_quote(str(ref.get("kind", "")))}, Name:{v.go_quote(str(ref.get("name", "")))}}}')
            errors.append(v.invalid("roleRef", shown, "cannot change roleRef"))
        return errors


def strategy_for(resource: str, profile: Profile = CURRENT) -> Strategy:
    """Return the strategy of a served resource (CSRs come from csr_api)."""
    from sim.control.csr_api import CsrStrategy  # csr_api builds on this module
    info = RESOURCES[resource]
    table: dict[str, type[Strategy]] = {
        "configmaps": ConfigMapStrategy, "secrets": SecretStrategy, "nodes": NodeStrategy,
        "namespaces": NamespaceStrategy, "certificatesigningrequests": CsrStrategy,
        "roles": RbacStrategy, "rolebindings": RbacStrategy, "clusterroles": RbacStrategy,
        "clusterrolebindings": RbacStrategy,
    }
    return table.get(resource, Strategy)(info, profile)
