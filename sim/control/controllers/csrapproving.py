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
from sim.control.controllers.common import CSR_PATH, CertificateController, approval_state, status_message, with_condition
from sim.control.profile import CURRENT, Profile
from sim.control.store import Store, WatchEvent
from sim.protocol import csr as csrlib
from sim.protocol.constants import CERTIFICATES_GROUP, CSR_APPROVED_REASON, CSR_APPROVING_WORKERS, CSR_RESOURCE
from sim.protocol.errors import go_quote
from sim.protocol.objects import name_of

__all__ = ["CsrApprover", "subject_access_review"]

_SAR_PATH = "/apis/authorization.k8s.io/v1/subjectaccessreviews"


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


class CsrApprover(CertificateController):
    """Auto-approve kubelet client CSRs whose requester passes a SubjectAccessReview (five workers)."""

    name: str = "csrapproving"
    workers: int = CSR_APPROVING_WORKERS
    resync_period: float | None = None

    def __init__(self, store: Store, profile: Profile = CURRENT) -> None:
        super().__init__(store)
        self._profile = profile

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
        obj = self._unissued(key)
        if obj is None:
            return None
        approved, denied = approval_state(obj)
        if approved or denied:
            self.backoff.forget(key)
            return None
        parsed = self._parse(key, obj)
        if isinstance(parsed, Requeue):
            return parsed
        tried: list[str] = []
        strict = self._profile.strict_kubelet_client_usages
        for recognizer in csrlib.recognize(obj, parsed, strict_usages=strict):
            tried.append(recognizer.subresource)
            response = yield controller_request("POST", _SAR_PATH, subject_access_review(obj, recognizer.subresource))
            if not response.ok:
                return self._fail(key, status_message(response.body))
            if not ((response.body or {}).get("status") or {}).get("allowed", False):
                continue
            updated = with_condition(obj, "Approved", CSR_APPROVED_REASON, recognizer.message, now)
            response = yield controller_request("PUT", f"{CSR_PATH}/{key}/approval", updated)
            if not response.ok:
                return self._fail(key, f"error updating approval for csr: {status_message(response.body)}")
            self._done(key)
            return None
        if tried:
            recognized = f"recognized csr {go_quote(key)} as [{' '.join(tried)}]"
            return self._fail(key, f"{recognized} but subject access review was not approved")
        self.backoff.forget(key)
        return None
