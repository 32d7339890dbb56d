"""Model kube-controller-manager's csrcleaner: garbage-collect old CSRs once an hour.

How this works: the cleaner does not watch. Every hour its single worker
lists all CSRs and deletes each one that meets any rule below; a failed
delete is only logged. "Older than" is strict (``now - t > limit``) and a
missing timestamp never counts as old.

* Approved with a certificate, Approved condition updated > 1 h ago;
* Denied, Denied condition updated > 1 h ago;
* Failed, Failed condition updated > 1 h ago (current releases);
* Pending (no conditions at all), created > 24 h ago;
* Approved with a certificate whose NotAfter has passed;
* Approved without a certificate, Approved condition updated > 24 h ago
  (added in 2025, kubernetes/kubernetes#133116; the timestamp it reads is
  assumed here, see ``is_approved_unissued_past_deadline``).

Upstream: pkg/controller/certificates/cleaner/cleaner.go.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any, Mapping

from sim.control.controllers.base import Reconcile, controller_request
from sim.control.controllers.common import CSR_PATH, status_message
from sim.control.store import Store, WatchEvent
from sim.protocol import modeled, pki, x509verify
from sim.protocol.constants import (
    CSR_APPROVED_EXPIRATION, CSR_CLEANER_PERIOD, CSR_CLEANER_WORKERS, CSR_DENIED_EXPIRATION, CSR_PENDING_EXPIRATION,
    CSR_RESOURCE,
)
from sim.protocol.errors import go_quote
from sim.protocol.objects import name_of
from sim.protocol.gotime import parse_rfc3339

__all__ = [
    "CsrCleaner", "cleanup_reason", "is_approved_unissued_past_deadline", "is_denied_past_deadline",
    "is_failed_past_deadline", "is_issued_expired", "is_issued_past_deadline", "is_pending_past_deadline",
]


def _conditions(obj: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Return the CSR's status conditions (none for a fresh request)."""
    return list((obj.get("status") or {}).get("conditions") or [])


def _certificate_pem(obj: Mapping[str, Any]) -> bytes:
    """Return the issued certificate PEM (empty when not issued or undecodable)."""
    raw = (obj.get("status") or {}).get("certificate") or ""
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError, TypeError):
        return b""


def _is_older_than(stamp: str | None, limit: float, now: datetime) -> bool:
    """Tell whether a non-zero timestamp lies strictly more than ``limit`` seconds before ``now``."""
    if not stamp:
        return False
    try:
        when = parse_rfc3339(stamp)
    except ValueError:
        return False
    return (now - when).total_seconds() > limit


def _is_issued(obj: Mapping[str, Any]) -> bool:
    """Tell whether a certificate was issued: kubectl's implicit "Issued" state."""
    return bool((obj.get("status") or {}).get("certificate"))


def is_issued_past_deadline(obj: Mapping[str, Any], now: datetime) -> bool:
    """Tell whether the CSR was approved and issued, its Approved condition updated more than 1 h ago."""
    return _is_issued(obj) and any(
        c.get("type") == "Approved" and _is_older_than(c.get("lastUpdateTime"), CSR_APPROVED_EXPIRATION, now)
        for c in _conditions(obj))


def is_denied_past_deadline(obj: Mapping[str, Any], now: datetime) -> bool:
    """Tell whether the CSR was denied more than 1 h ago (Denied condition update time)."""
    return any(c.get("type") == "Denied" and _is_older_than(c.get("lastUpdateTime"), CSR_DENIED_EXPIRATION, now)
               for c in _conditions(obj))


def is_failed_past_deadline(obj: Mapping[str, Any], now: datetime) -> bool:
    """Tell whether the CSR failed more than 1 h ago (upstream reuses deniedExpiration)."""
    return any(c.get("type") == "Failed" and _is_older_than(c.get("lastUpdateTime"), CSR_DENIED_EXPIRATION, now)
               for c in _conditions(obj))


def is_pending_past_deadline(obj: Mapping[str, Any], now: datetime) -> bool:
    """Tell whether the CSR has no condition at all and was created more than 24 h ago."""
    created = (obj.get("metadata") or {}).get("creationTimestamp")
    return not _conditions(obj) and _is_older_than(created, CSR_PENDING_EXPIRATION, now)


def is_issued_expired(obj: Mapping[str, Any], now: datetime) -> bool:
    """Tell whether the CSR was approved and issued a certificate whose NotAfter is strictly before ``now``.

    An unparseable certificate never counts as expired (current cleaner.go).
    """
    if not _is_issued(obj) or not any(c.get("type") == "Approved" for c in _conditions(obj)):
        return False
    pem = _certificate_pem(obj)
    try:
        certs: list[pki.Certificate] = [modeled.parse_certificate(pem)] if modeled.is_modeled(pem) else \
            list(x509verify.parse_certs_pem(pem))
    except ValueError:
        return False
    if not certs:
        return False
    not_after: datetime = certs[0].not_valid_after_utc
    return now > not_after


def is_approved_unissued_past_deadline(obj: Mapping[str, Any], now: datetime) -> bool:
    """Tell whether the CSR was approved more than 24 h ago but never issued.

    kubernetes/kubernetes#133116 treats these like Pending CSRs; which
    timestamp it compares (condition update vs. creation) is unconfirmed here.
    """
    return not _is_issued(obj) and any(
        c.get("type") == "Approved" and _is_older_than(c.get("lastUpdateTime"), CSR_PENDING_EXPIRATION, now)
        for c in _conditions(obj))


_RULES = (
    ("approved", is_issued_past_deadline),
    ("denied", is_denied_past_deadline),
    ("failed", is_failed_past_deadline),
    ("pending", is_pending_past_deadline),
    ("expired", is_issued_expired),
    ("approved-unissued", is_approved_unissued_past_deadline),
)


def cleanup_reason(obj: Mapping[str, Any], now: datetime) -> str | None:
    """Return the name of the first rule that makes the CSR garbage, or None to keep it."""
    for reason, rule in _RULES:
        if rule(obj, now):
            return reason
    return None


class CsrCleaner:
    """Delete finished or stale CSRs; one worker that re-lists everything every hour."""

    name: str = "csrcleaner"
    workers: int = CSR_CLEANER_WORKERS
    resync_period: float | None = CSR_CLEANER_PERIOD

    def __init__(self, store: Store) -> None:
        self._store = store
        self.last_error: str | None = None
        """The last delete error, as ``Error while attempting to clean CSR`` would log it."""

    def keys_for(self, event: WatchEvent) -> list[str]:
        """Return no keys: the cleaner polls instead of watching."""
        return []

    def initial_keys(self) -> list[str]:
        """Return every CSR: the hourly list of the whole cache."""
        return [name_of(o) for o in self._store.iter(CSR_RESOURCE)]

    def reconcile(self, key: str, now: datetime) -> Reconcile:
        """Delete the CSR if any cleanup rule matches at ``now``."""
        obj = self._store.peek(CSR_RESOURCE, "", key)
        if obj is None or cleanup_reason(obj, now) is None:
            return None
        response = yield controller_request("DELETE", f"{CSR_PATH}/{key}")
        if not response.ok:
            self.last_error = f"unable to delete CSR {go_quote(key)}: {status_message(response.body)}"
        return None
