"""Share the helpers several kube-controller-manager models need: paths, conditions, backoff, errors.

Upstream scatters these over client-go's workqueue rate limiters,
pkg/apis/certificates/helpers.go and pkg/controller/bootstrap/util.go; here
they live once so each controller module holds only its own reconcile logic.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from sim.control.controllers.base import Requeue
from sim.control.store import Store, clone
from sim.protocol import csr as csrlib
from sim.protocol import pki
from sim.protocol.constants import CERTIFICATES_GROUP, CSR_RESOURCE, KUBE_SYSTEM_NAMESPACE, SECRET_TYPE_BOOTSTRAP_TOKEN
from sim.protocol.errors import CryptoError
from sim.protocol.objects import format_time, namespace_of

__all__ = [
    "CSR_PATH", "CertificateController", "FailureBackoff", "approval_state", "has_true_condition", "is_token_secret",
    "status_message", "with_condition",
]

CSR_PATH = f"/apis/{CERTIFICATES_GROUP}/v1/{CSR_RESOURCE}"
"""The collection path of CertificateSigningRequests (subresources hang below ``{CSR_PATH}/<name>``)."""

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


class CertificateController:
    """Share certificate_controller.go's part of the CSR approver and signers: skip issued CSRs, retry errors.

    ``syncFunc`` hands ``handle`` only CSRs that still exist and have no
    certificate; ``processNextWorkItem`` logs a failed ``handle`` and requeues
    the key rate-limited, and forgets the key's failures after a success.
    """

    backoff: FailureBackoff
    last_error: str | None
    """The last error ``handle`` returned (ignorable or not), as the controller would log it."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.backoff = FailureBackoff()
        self.last_error = None

    def _unissued(self, key: str) -> Mapping[str, Any] | None:
        """Return the cached CSR to handle, or None (forgetting the key) when it is deleted or already issued."""
        obj = self._store.peek(CSR_RESOURCE, "", key)
        if obj is None or (obj.get("status") or {}).get("certificate"):
            self.backoff.forget(key)
            return None
        return obj

    def _parse(self, key: str, obj: Mapping[str, Any]) -> pki.Csr | Requeue:
        """Return the CSR's parsed PEM request, or the requeue its parse error calls for."""
        try:
            return csrlib.parse_request(obj)
        except CryptoError as err:
            return self._fail(key, str(err))

    def _done(self, key: str) -> None:
        """Forget the key's failures and the last error after a successful sync."""
        self.backoff.forget(key)
        self.last_error = None

    def _fail(self, key: str, message: str) -> Requeue:
        """Record an error and requeue the key rate-limited, as processNextWorkItem does."""
        self.last_error = message
        return self.backoff.failed(key)


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


def with_condition(obj: Mapping[str, Any], type_: str, reason: str, message: str, now: datetime) -> dict[str, Any]:
    """Return a copy of the CSR with one more True condition, stamped ``now`` as the controllers stamp it."""
    updated: dict[str, Any] = clone(obj)
    updated.setdefault("status", {}).setdefault("conditions", []).append({
        "type": type_, "status": "True", "reason": reason, "message": message,
        "lastUpdateTime": format_time(now), "lastTransitionTime": format_time(now),
    })
    return updated


def is_token_secret(obj: Mapping[str, Any]) -> bool:
    """Tell whether an object passes the bootstrap controllers' Secret informer filter (namespace and type)."""
    return namespace_of(obj) == KUBE_SYSTEM_NAMESPACE and obj.get("type") == SECRET_TYPE_BOOTSTRAP_TOKEN


def status_message(body: Any) -> str:
    """Return a failed response's Status message (or the body as text) for error logs."""
    if isinstance(body, Mapping):
        return str(body.get("message", body))
    return str(body)
