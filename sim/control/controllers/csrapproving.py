"""Model kube-controller-manager's csrapproving controller (the SubjectAccessReview approver).

How this works: every CSR add, update and delete enqueues the CSR's name;
five workers run ``handle``. A CSR that already has a certificate, or an
Approved or Denied condition, is skipped. Otherwise the PEM request is parsed
and the recognizers are tried in order (``selfnodeclient``, then
``nodeclient``). For each one that matches, the approver asks the API server
with a SubjectAccessReview whether the CSR's *requester* (``spec.username``,
``uid``, ``groups``, ``extra``) may ``create`` the subresource
``certificatesigningrequests/<recognizer>``; the first allowed one adds the
condition Approved/True/AutoApproved through the ``approval`` subresource.
If recognizers matched but no review was allowed, the result is an
ignorable error and the CSR stays Pending. Any error re-queues the key with
the workqueue's per-item exponential backoff.
Upstream: pkg/controller/certificates/approver/sarapprove.go,
pkg/controller/certificates/certificate_controller.go, pkg/apis/certificates/helpers.go.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from sim.control.controllers.base import Reconcile, Requeue, controller_request
from sim.control.controllers.bootstrapsigner import status_message
from sim.control.profile import CURRENT, Profile
from sim.control.store import Store, WatchEvent, clone
from sim.protocol import csr as csrlib
from sim.protocol.constants import CERTIFICATES_GROUP, CSR_APPROVED_REASON, CSR_APPROVING_WORKERS, CSR_RESOURCE
from sim.protocol.errors import CryptoError, go_quote
from sim.protocol.objects import format_time, name_of

__all__ = [
    "CSR_PATH", "CsrApprover", "FailureBackoff", "approval_state", "has_true_condition", "subject_access_review",
]

CSR_PATH = f"/apis/{CERTIFICATES_GROUP}/v1/{CSR_RESOURCE}"
_SAR_PATH = "/apis/authorization.k8s.io/v1/subjectaccessreviews"

# client-go/util/workqueue default_rate_limiters.go: DefaultControllerRateLimiter's per-item part
_BACKOFF_BASE = 0.005
_BACKOFF_MAX = 1000.0


class FailureBackoff:
    """Compute per-key retry delays as ItemExponentialFailureRateLimiter(5ms, 1000s) does.

    A key's n-th consecutive failure waits ``5ms * 2**(n-1)``, capped at
    1000 s; a success forgets the key. (The limiter's overall 10 qps token
    bucket is the driver's business.)
    """

    def __init__(self, base: float = _BACKOFF_BASE, cap: float = _BACKOFF_MAX) -> None:
        self._base = base
        self._cap = cap
        self._failures: dict[str, int] = {}

    def failed(self, key: str) -> Requeue:
        """Record a failure and return the requeue it calls for (``AddRateLimited``)."""
        count = self._failures.get(key, 0)
        self._failures[key] = count + 1
        return Requeue(after=min(self._base * 2.0 ** count, self._cap))

    def forget(self, key: str) -> None:
        """Clear the key's failure count (``Forget``)."""
        self._failures.pop(key, None)

    def failures(self, key: str) -> int:
        """Return how many consecutive failures the key has had."""
        return self._failures.get(key, 0)


def approval_state(obj: Mapping[str, Any]) -> tuple[bool, bool]:
    """Return (approved, denied) by condition type alone, as GetCertApprovalCondition does."""
    conditions = (obj.get("status") or {}).get("conditions") or []
    types = {c.get("type") for c in conditions}
    return "Approved" in types, "Denied" in types


def has_true_condition(obj: Mapping[str, Any], type_: str) -> bool:
    """Tell whether a condition of this type has status True or no status (HasTrueCondition)."""
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == type_ and cond.get("status", "") in ("", "True"):
            return True
    return False


def subject_access_review(obj: Mapping[str, Any], subresource: str) -> dict[str, Any]:
    """Build the SubjectAccessReview asking whether the CSR's requester may create the subresource."""
    spec = obj.get("spec") or {}
    sar_spec: dict[str, Any] = {}
    if spec.get("username"):
        sar_spec["user"] = spec["username"]
    if spec.get("uid"):
        sar_spec["uid"] = spec["uid"]
    if spec.get("groups"):
        sar_spec["groups"] = list(spec["groups"])
    if spec.get("extra"):
        sar_spec["extra"] = {k: list(v) for k, v in spec["extra"].items()}
    sar_spec["resourceAttributes"] = {
        "group": CERTIFICATES_GROUP, "resource": CSR_RESOURCE, "verb": "create", "subresource": subresource,
    }
    return {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": sar_spec}


class CsrApprover:
    """Auto-approve kubelet client CSRs whose requester passes a SubjectAccessReview (five workers)."""

    name: str = "csrapproving"
    workers: int = CSR_APPROVING_WORKERS
    resync_period: float | None = None

    def __init__(self, store: Store, profile: Profile = CURRENT) -> None:
        self._store = store
        self._profile = profile
        self.backoff = FailureBackoff()
        self.last_error: str | None = None
        """The last error ``handle`` returned (ignorable or not), as the controller would log it."""

    def keys_for(self, event: WatchEvent) -> list[str]:
        """Enqueue the CSR name on add, update and delete (a deleted CSR is then skipped)."""
        if event.resource != CSR_RESOURCE:
            return []
        return [name_of(event.object)]

    def initial_keys(self) -> list[str]:
        """Return every cached CSR: the informer's initial list fires Add events."""
        return [name_of(o) for o in self._store.iter(CSR_RESOURCE)]

    def reconcile(self, key: str, now: datetime) -> Reconcile:
        """Run the approver's ``handle`` for one CSR; errors requeue the key with backoff."""
        obj = self._store.peek(CSR_RESOURCE, "", key)
        if obj is None or (obj.get("status") or {}).get("certificate"):
            self.backoff.forget(key)
            return None  # deleted, or already issued (certificate_controller.go syncFunc)
        approved, denied = approval_state(obj)
        if approved or denied:
            self.backoff.forget(key)
            return None
        try:
            parsed = csrlib.parse_request(obj)
        except CryptoError as err:
            return self._fail(key, str(err))
        tried: list[str] = []
        strict = self._profile.strict_kubelet_client_usages
        for recognizer in csrlib.recognize(obj, parsed, strict_usages=strict):
            tried.append(recognizer.subresource)
            response = yield controller_request("POST", _SAR_PATH, subject_access_review(obj, recognizer.subresource))
            if not response.ok:
                return self._fail(key, status_message(response.body))
            if not ((response.body or {}).get("status") or {}).get("allowed", False):
                continue
            updated = clone(obj)
            status = updated.setdefault("status", {})
            status.setdefault("conditions", []).append({
                "type": "Approved", "status": "True", "reason": CSR_APPROVED_REASON,
                "message": recognizer.message, "lastUpdateTime": format_time(now),
                "lastTransitionTime": format_time(now),
            })
            response = yield controller_request("PUT", f"{CSR_PATH}/{key}/approval", updated)
            if not response.ok:
                return self._fail(key, f"error updating approval for csr: {status_message(response.body)}")
            self.backoff.forget(key)
            self.last_error = None
            return None
        if tried:
            recognized = f"recognized csr {go_quote(key)} as [{' '.join(tried)}]"
            return self._fail(key, f"{recognized} but subject access review was not approved")
        self.backoff.forget(key)
        return None

    def _fail(self, key: str, message: str) -> Requeue:
        """Record an error and requeue the key rate-limited, as processNextWorkItem does."""
        self.last_error = message
        return self.backoff.failed(key)
