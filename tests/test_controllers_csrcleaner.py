"""Check the csrcleaner's rules against upstream cleaner.go and cleaner_test.go."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest

from sim.control.controllers.csrcleaner import CsrCleaner, cleanup_reason
from sim.control.store import Store
from sim.protocol import keys, objects, pki
from sim.protocol.http import Response
from tests.controller_support import CA, NOW, drive, event, stamp


def cert_b64(not_after: timedelta) -> str:
    """Return a base64 PEM certificate whose NotAfter is NOW + not_after."""
    key = keys.generate_private_key("ecdsa", random.Random(5))
    csr = pki.parse_csr_pem(pki.kubelet_client_csr(key, "n"))
    issued_at = NOW + not_after - timedelta(hours=1)
    cert = pki.sign_csr(CA, csr, usages=["client auth"], now=issued_at, duration=3600)
    assert cert.not_valid_after_utc == NOW + not_after
    return objects.b64(pki.cert_pem(cert))


VALID = cert_b64(timedelta(days=300))
EXPIRED = cert_b64(timedelta(seconds=-1))
AT_NOW = cert_b64(timedelta(0))


def ago(seconds: float) -> str:
    return stamp(-seconds)


def cond(type_: str, updated: float | None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": type_, "status": "True"}
    if updated is not None:
        out["lastUpdateTime"] = ago(updated)
    return out


def csr_obj(created: float, conditions: list[dict[str, Any]], certificate: str | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {"conditions": conditions}
    if certificate is not None:
        status["certificate"] = certificate
    return {"metadata": {"name": "csr-abcde", "creationTimestamp": ago(created)}, "spec": {}, "status": status}


H = 3600


@pytest.mark.parametrize(
    ("obj", "reason"),
    [
        # upstream cleaner_test.go TestCleanerWithApprovedExpiredCSR, plus the boundaries
        pytest.param(csr_obj(60, [cond("Approved", 50 * 60)], VALID), None, id="valid: approved not past deadline"),
        pytest.param(csr_obj(60, [cond("Approved", H)], VALID), None, id="valid: approved exactly 1 h kept"),
        pytest.param(csr_obj(60, [cond("Approved", H + 1)], VALID), "approved", id="invalid: approved past 1 h"),
        pytest.param(csr_obj(60, [cond("Approved", 2 * H)], None), None, id="valid: approved not issued 2 h"),
        pytest.param(csr_obj(60, [cond("Approved", None)], VALID), None, id="valid: approved without timestamp"),
        pytest.param(csr_obj(60, [cond("Denied", 50 * 60)]), None, id="valid: denied not past deadline"),
        pytest.param(csr_obj(60, [cond("Denied", 2 * H)]), "denied", id="invalid: denied past deadline"),
        pytest.param(csr_obj(60, [cond("Approved", 2 * H), cond("Failed", 50 * 60)]), None,
                     id="valid: failed not past deadline"),
        pytest.param(csr_obj(60, [cond("Approved", 2 * H), cond("Failed", 2 * H)]), "failed",
                     id="invalid: failed past deadline"),
        pytest.param(csr_obj(5 * H, []), None, id="valid: pending 5 h"),
        pytest.param(csr_obj(24 * H, []), None, id="valid: pending exactly 24 h kept"),
        pytest.param(csr_obj(24 * H + 1, []), "pending", id="invalid: pending past 24 h"),
        pytest.param(csr_obj(60, [cond("Approved", 50 * 60)], EXPIRED), "expired",
                     id="invalid: approved with expired certificate"),
        pytest.param(csr_obj(60, [cond("Approved", 50 * 60)], AT_NOW), None,
                     id="valid: certificate expiring exactly now kept"),
        pytest.param(csr_obj(60, [cond("Approved", 2 * H)], objects.b64("garbage")), "approved",
                     id="invalid: approved past deadline, unparseable certificate"),
        pytest.param(csr_obj(60, [cond("Approved", 50 * 60)], objects.b64("garbage")), None,
                     id="valid: unparseable certificate is not expired"),
        pytest.param(csr_obj(25 * H, [cond("Approved", 24 * H + 1)], None), "approved-unissued",
                     id="invalid: approved, never issued, past 24 h"),
        pytest.param(csr_obj(25 * H, [cond("Approved", 23 * H)], None), None,
                     id="valid: approved, not yet issued, 23 h"),
    ],
)
def test_cleanup_rules(obj: dict[str, Any], reason: str | None) -> None:
    assert cleanup_reason(obj, NOW) == reason


def test_deletes_old_csrs_through_the_api(store: Store) -> None:
    obj = csr_obj(0, [cond("Denied", 2 * H)])
    obj["metadata"] = {"name": "csr-abcde"}
    store.create("certificatesigningrequests", obj, NOW - timedelta(hours=3))
    cleaner = CsrCleaner(store)
    (request,), _ = drive(cleaner.reconcile("csr-abcde", NOW), lambda r: Response(status=200, body={}))
    assert (request.method, request.path, request.body) == (
        "DELETE", "/apis/certificates.k8s.io/v1/certificatesigningrequests/csr-abcde", b"")


def test_keeps_fresh_csrs_and_logs_delete_errors(store: Store) -> None:
    store.create("certificatesigningrequests", {"metadata": {"name": "fresh"}, "spec": {}}, NOW)
    store.create("certificatesigningrequests", {"metadata": {"name": "stale"}, "spec": {}}, NOW - timedelta(days=2))
    cleaner = CsrCleaner(store)
    assert cleaner.initial_keys() == ["fresh", "stale"]
    assert drive(cleaner.reconcile("fresh", NOW), lambda r: Response(status=200)) == ([], None)
    drive(cleaner.reconcile("stale", NOW), lambda r: Response(status=403, body={"message": "no"}))
    assert cleaner.last_error == 'unable to delete CSR "stale": no'


def test_polls_instead_of_watching(store: Store) -> None:
    cleaner = CsrCleaner(store)
    ev = event("ADDED", "certificatesigningrequests", {"metadata": {"name": "x"}})
    assert (cleaner.keys_for(ev), cleaner.name, cleaner.workers, cleaner.resync_period) == (
        [], "csrcleaner", 1, 3600.0)
