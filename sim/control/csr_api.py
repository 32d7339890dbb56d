"""Apply the CertificateSigningRequest registry rules: create, main-resource update, /approval and /status.

How this works: on create the server, not the client, fills ``spec.username``,
``uid``, ``groups`` (which include ``system:authenticated``) and ``extra``
from the authenticated user, and empties the status, so a CSR can never be
created pre-approved. Afterwards the spec is frozen: a main-resource update
only changes metadata; ``/approval`` only changes the conditions (approvers
add ``Approved`` or ``Denied``); ``/status`` changes ``status.certificate`` and
the other conditions (signers add ``Failed``) but keeps Approved/Denied as
stored. Missing condition timestamps are filled with the server's clock.
Who may approve or sign is decided by admission (admission.py).
Upstream: pkg/registry/certificates/certificates/strategy.go.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from sim.control import csr_validation as cv, decode, validation as v
from sim.control.authn import UserInfo
from sim.control.store import clone
from sim.control.strategies import Strategy
from sim.protocol.objects import format_time

__all__ = ["CsrStrategy", "populate_condition_timestamps"]

Obj = dict[str, Any]

# Go types named in decode errors (k8s.io/api/certificates/v1 types.go).
_SPEC_FIELDS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "request": (str, "[]uint8"),
    "signerName": (str, "string"),
    "expirationSeconds": (int, "int32"),
    "usages": (list, "[]v1.KeyUsage"),
    "username": (str, "string"),
    "uid": (str, "string"),
    "groups": (list, "[]string"),
    "extra": (dict, "map[string]v1.ExtraValue"),
}


def populate_condition_timestamps(new: Obj, old: Mapping[str, Any], now: datetime) -> None:
    """Fill missing lastUpdateTime (now) and lastTransitionTime (the old one for the same type/status, else now)."""
    stamp = format_time(now)
    old_conditions = (old.get("status") or {}).get("conditions") or []
    for cond in (new.get("status") or {}).get("conditions") or []:
        if not cond.get("lastUpdateTime"):
            cond["lastUpdateTime"] = stamp
        if not cond.get("lastTransitionTime"):
            previous = next((o.get("lastTransitionTime") for o in old_conditions
                             if o.get("type") == cond.get("type") and o.get("status") == cond.get("status")
                             and o.get("lastTransitionTime")), None)
            cond["lastTransitionTime"] = previous or stamp


def _preserve(new: Obj, old: Mapping[str, Any], ctype: str) -> None:
    """Copy the stored conditions of a type over the new ones when their count is unchanged."""
    new_conditions = (new.get("status") or {}).get("conditions") or []
    old_conditions = (old.get("status") or {}).get("conditions") or []
    new_idx = [i for i, c in enumerate(new_conditions) if c.get("type") == ctype]
    old_idx = [i for i, c in enumerate(old_conditions) if c.get("type") == ctype]
    if len(new_idx) != len(old_idx):
        return
    for n, o in zip(new_idx, old_idx):
        new_conditions[n] = clone(old_conditions[o])


class CsrStrategy(Strategy):
    """Implement csrStrategy, csrStatusStrategy and csrApprovalStrategy."""

    name_format = "any"

    @property
    def _usages_detail(self) -> str:
        """Return the detail of the empty-usages error (1.22 said it; current releases say nothing)."""
        return "usages must be provided" if self.profile.name == "1.22" else ""

    def check_body(self, obj: Obj) -> None:
        """Reject wrongly typed spec/status fields (the JSON decoder's errors) and non-base64 bytes."""
        spec = obj.get("spec")
        if spec is None:
            obj["spec"] = spec = {}
        if not isinstance(spec, dict):
            raise decode.unmarshal_error(self.info, spec, "CertificateSigningRequest.spec",
                                         "v1.CertificateSigningRequestSpec")
        for key, (kind, go_type) in _SPEC_FIELDS.items():
            value = spec.get(key)
            if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
                raise decode.unmarshal_error(self.info, value, f"CertificateSigningRequestSpec.spec.{key}", go_type)
        for key in ("usages", "groups"):
            for item in spec.get(key) or []:
                if not isinstance(item, str):
                    raise decode.unmarshal_error(self.info, item, f"CertificateSigningRequestSpec.spec.{key}",
                                                 "v1.KeyUsage" if key == "usages" else "string")
        if isinstance(spec.get("request"), str) and (err := decode.b64_error(self.info, spec["request"])):
            raise err
        status = obj.get("status")
        if status is not None and not isinstance(status, dict):
            raise decode.unmarshal_error(self.info, status, "CertificateSigningRequest.status",
                                         "v1.CertificateSigningRequestStatus")
        if isinstance(status, dict):
            conditions = status.get("conditions")
            if conditions is not None and (not isinstance(conditions, list)
                                           or not all(isinstance(c, dict) for c in conditions)):
                raise decode.unmarshal_error(self.info, conditions, "CertificateSigningRequestStatus.status.conditions",
                                             "[]v1.CertificateSigningRequestCondition")
            cert = status.get("certificate")
            if cert is not None and not isinstance(cert, str):
                raise decode.unmarshal_error(self.info, cert, "CertificateSigningRequestStatus.status.certificate",
                                             "[]uint8")
            if isinstance(cert, str) and (err := decode.b64_error(self.info, cert)):
                raise err

    def prepare_for_create(self, obj: Obj, user: UserInfo, now: datetime) -> None:
        """Overwrite the requester fields from the authenticated user and clear the status."""
        spec = obj.setdefault("spec", {})
        for key in ("username", "uid", "groups", "extra"):
            spec.pop(key, None)
        spec["username"] = user.name
        if user.uid:
            spec["uid"] = user.uid
        if user.groups:
            spec["groups"] = list(user.groups)
        if user.extra:
            spec["extra"] = {k: list(vals) for k, vals in user.extra.items()}
        obj["status"] = {}

    def validate(self, obj: Obj) -> list[v.FieldError]:
        """Return create-time errors: metadata, then the CSR rules."""
        return self._validate_meta(obj) + cv.validate_csr(obj, cv.Options(), usages_detail=self._usages_detail)

    def prepare_for_update(self, new: Obj, old: Obj, subresource: str, now: datetime) -> Obj:
        """Return what an update may store: metadata only, conditions only (/approval), or status (/status)."""
        out: Obj = clone(new)
        out["spec"] = clone(old.get("spec") or {})
        if subresource == "approval":
            populate_condition_timestamps(out, old, now)
            conditions = (out.get("status") or {}).get("conditions")
            out["status"] = clone(old.get("status") or {})
            if conditions:
                out["status"]["conditions"] = conditions
            else:
                out["status"].pop("conditions", None)
        elif subresource == "status":
            if not isinstance(out.get("status"), dict):
                out["status"] = {}
            _preserve(out, old, "Approved")
            _preserve(out, old, "Denied")
            populate_condition_timestamps(out, old, now)
        else:
            out["status"] = clone(old.get("status") or {})
        return out

    def validate_update(self, new: Obj, old: Obj, subresource: str) -> list[v.FieldError]:
        """Return update errors for the path (ValidateCertificateSigningRequest{,Approval,Status}Update)."""
        opts = cv.options_for(new, old, subresource)
        return cv.validate_csr_update(new, old, opts, usages_detail=self._usages_detail)
