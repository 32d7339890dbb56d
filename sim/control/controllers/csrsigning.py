"""Model kube-controller-manager's csrsigning controllers: the cluster CA issues approved CSRs.

How this works: there is one controller per signer name, each with five
workers, and each starts only when the CA certificate and key are configured
(kubeadm passes ``/etc/kubernetes/pki/ca.{crt,key}``). For a CSR that is
Approved (and not Denied), not Failed, not yet issued and addressed to its
signer, the controller re-validates the request against the signer's rules.
A failure adds the condition Failed/True/SignerValidationFailure and issues
nothing; otherwise the CA signs (backdated 5 min, TTL from
``--cluster-signing-duration`` or ``spec.expirationSeconds``, clamped) and the
PEM certificate is written to ``status.certificate`` through the ``status``
subresource. Errors re-queue the key with the workqueue's backoff.
Upstream: pkg/controller/certificates/signer/signer.go,
pkg/controller/certificates/authority/policies.go, pkg/apis/certificates/helpers.go.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Mapping, Sequence

from cryptography.x509.oid import NameOID

from sim.control.controllers.base import Reconcile, Requeue, controller_request
from sim.control.controllers.common import (
    CSR_PATH, CertificateController, approval_state, has_true_condition, status_message, with_condition,
)
from sim.control.profile import CURRENT, Profile
from sim.control.store import Store, WatchEvent, clone
from sim.protocol import csr as csrlib
from sim.protocol import pki
from sim.protocol.x509verify import request_sans
from sim.protocol.constants import (
    CSR_RESOURCE, CSR_SIGNING_WORKERS, KUBE_APISERVER_CLIENT_KUBELET_SIGNER, KUBE_APISERVER_CLIENT_SIGNER,
    KUBELET_SERVING_SIGNER, LEGACY_UNKNOWN_SIGNER, NODE_USER_PREFIX, NODES_GROUP, SIGNER_VALIDATION_FAILURE_REASON,
    SIGNING_DURATION_DEFAULT, USAGE_CLIENT_AUTH, USAGE_DIGITAL_SIGNATURE, USAGE_KEY_ENCIPHERMENT, USAGE_SERVER_AUTH,
)
from sim.protocol.errors import SigningError, go_quote
from sim.protocol.objects import b64, name_of
from sim.protocol.rng import Rng

__all__ = ["CONTROLLER_NAMES", "CsrSigner", "kube_apiserver_client_error", "kubelet_serving_error"]

# pkg/controller/certificates/signer/signer.go: the controller name of each signer
CONTROLLER_NAMES: dict[str, str] = {
    KUBELET_SERVING_SIGNER: "csrsigning-kubelet-serving",
    KUBE_APISERVER_CLIENT_KUBELET_SIGNER: "csrsigning-kubelet-client",
    KUBE_APISERVER_CLIENT_SIGNER: "csrsigning-kube-apiserver-client",
    LEGACY_UNKNOWN_SIGNER: "csrsigning-legacy-unknown",
}

Validator = Callable[[pki.Csr, Sequence[str], bool], "str | None"]


def kubelet_serving_error(parsed: pki.Csr, usages: Sequence[str], strict: bool) -> str | None:
    """Check a kubelet serving request as ValidateKubeletServingCSR does; return its error text.

    Current releases accept {digital signature, server auth} with or without
    key encipherment; ``strict`` (1.22) requires key encipherment.
    """
    if csrlib.subject_values(parsed, NameOID.ORGANIZATION_NAME) != [NODES_GROUP]:
        return "subject organization is not system:nodes"
    dns, emails, ips, uris = request_sans(parsed)
    if not dns and not ips:
        return "DNS or IP subjectAltName is required"
    if emails:
        return "Email subjectAltNames are not allowed"
    if uris:
        return "URI subjectAltNames are not allowed"
    full = {USAGE_DIGITAL_SIGNATURE, USAGE_KEY_ENCIPHERMENT, USAGE_SERVER_AUTH}
    allowed = [full] if strict else [full, {USAGE_DIGITAL_SIGNATURE, USAGE_SERVER_AUTH}]
    if set(usages) not in allowed:
        return f"usages did not match [{' '.join(sorted(full))}]"
    if not "".join(csrlib.subject_values(parsed, NameOID.COMMON_NAME)[:1]).startswith(NODE_USER_PREFIX):
        return "subject common name does not begin with system:node:"
    return None


def kube_apiserver_client_error(parsed: pki.Csr, usages: Sequence[str], strict: bool) -> str | None:
    """Check usages for the kube-apiserver-client signer (validAPIServerClientUsages)."""
    has_client_auth = False
    for usage in usages:
        if usage == USAGE_CLIENT_AUTH:
            has_client_auth = True
        elif usage not in (USAGE_DIGITAL_SIGNATURE, USAGE_KEY_ENCIPHERMENT):
            return f"invalid usage for client certificate: {usage}"
    if not has_client_auth:
        return f"missing required usage for client certificate: {USAGE_CLIENT_AUTH}"
    return None


def _kubelet_client_error(parsed: pki.Csr, usages: Sequence[str], strict: bool) -> str | None:
    """Check a kubelet client request as ValidateKubeletClientCSR does (protocol/csr.py)."""
    return csrlib.kubelet_client_csr_error(parsed, usages, strict_usages=strict)


def _no_rules(parsed: pki.Csr, usages: Sequence[str], strict: bool) -> str | None:
    """Accept anything: legacy-unknown keeps no restrictions for backward compatibility."""
    return None


_VALIDATORS: dict[str, Validator] = {
    KUBELET_SERVING_SIGNER: kubelet_serving_error,
    KUBE_APISERVER_CLIENT_KUBELET_SIGNER: _kubelet_client_error,
    KUBE_APISERVER_CLIENT_SIGNER: kube_apiserver_client_error,
    LEGACY_UNKNOWN_SIGNER: _no_rules,
}


class CsrSigner(CertificateController):
    """Issue certificates for approved CSRs of one signer name (five workers)."""

    workers: int = CSR_SIGNING_WORKERS
    resync_period: float | None = None

    def __init__(
        self,
        store: Store,
        signer_name: str,
        ca: pki.CertKey | None,
        rng: Rng,
        profile: Profile = CURRENT,
        duration: float = SIGNING_DURATION_DEFAULT,
    ) -> None:
        if signer_name not in _VALIDATORS:
            raise ValueError(f"unrecognized signerName: {go_quote(signer_name)}")
        super().__init__(store)
        self.name: str = CONTROLLER_NAMES[signer_name]
        self.signer_name = signer_name
        self._ca = ca
        self._rng = rng
        self._profile = profile
        self._duration = duration
        self._validate = _VALIDATORS[signer_name]

    @property
    def started(self) -> bool:
        """Tell whether the controller runs: only with a CA cert and key (``--cluster-signing-*-file``)."""
        return self._ca is not None

    def keys_for(self, event: WatchEvent) -> list[str]:
        """Enqueue the CSR name on every CSR change (nothing when the controller is not started)."""
        if not self.started or event.resource != CSR_RESOURCE:
            return []
        return [name_of(event.object)]

    def initial_keys(self) -> list[str]:
        """Return every cached CSR (none when the controller is not started)."""
        if not self.started:
            return []
        return [name_of(o) for o in self._store.iter(CSR_RESOURCE)]

    def reconcile(self, key: str, now: datetime) -> Reconcile:
        """Run the signer's ``handle`` for one CSR; errors requeue the key with backoff."""
        obj = self._unissued(key)
        if self._ca is None or obj is None:
            return None
        approved, denied = approval_state(obj)
        spec: Mapping[str, Any] = obj.get("spec") or {}
        if not approved or denied or has_true_condition(obj, "Failed") or spec.get("signerName") != self.signer_name:
            self.backoff.forget(key)
            return None
        parsed = self._parse(key, obj)
        if isinstance(parsed, Requeue):
            return parsed
        usages = list(spec.get("usages") or [])
        problem = self._validate(parsed, usages, self._profile.strict_kubelet_client_usages)
        if problem is not None:
            failed = with_condition(obj, "Failed", SIGNER_VALIDATION_FAILURE_REASON, problem, now)
            response = yield controller_request("PUT", f"{CSR_PATH}/{key}/status", failed)
            if not response.ok:
                return self._fail(key, f"error adding failure condition for csr: {status_message(response.body)}")
            self._done(key)
            return None
        try:
            cert = pki.sign_csr(
                self._ca, parsed, usages=usages, now=now, rng=self._rng, duration=self._duration,
                expiration_seconds=spec.get("expirationSeconds"),
            )
        except SigningError as err:
            return self._fail(key, f"error auto signing csr: {err}")
        updated = clone(obj)
        updated.setdefault("status", {})["certificate"] = b64(pki.cert_pem(cert))
        response = yield controller_request("PUT", f"{CSR_PATH}/{key}/status", updated)
        if not response.ok:
            return self._fail(key, f"error updating signature for csr: {status_message(response.body)}")
        self._done(key)
        return None
