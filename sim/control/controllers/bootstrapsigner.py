"""Model kube-controller-manager's bootstrapsigner: keep cluster-info signed by every signing token.

How this works: every change to ``kube-public/cluster-info`` (add, update) or
to a bootstrap-token Secret in ``kube-system`` (add, update, delete) pushes the
single key ``kube-public/cluster-info``. One worker then runs signConfigMap on
the informer cache: it strips every ``jws-kubeconfig-*`` key, signs the
``kubeconfig`` value once per token valid for signing, and writes the
ConfigMap back only if a signature is new, changed or left over. A joining
node that holds the token checks that signature (discovery).
Upstream: pkg/controller/bootstrap/bootstrapsigner.go, pkg/controller/bootstrap/util.go.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Mapping

from sim.control.controllers.base import Reconcile, controller_request
from sim.control.controllers.common import is_token_secret, status_message
from sim.control.store import Store, WatchEvent, clone
from sim.protocol import jws, tokens
from sim.protocol.constants import (
    BOOTSTRAP_SECRET_NAME_PATTERN, BOOTSTRAP_SIGNER_WORKERS, BOOTSTRAP_TOKEN_ID_KEY, BOOTSTRAP_TOKEN_SECRET_KEY,
    BOOTSTRAP_TOKEN_USAGE_SIGNING, CLUSTER_INFO_KUBECONFIG_KEY, CLUSTER_INFO_NAME, CLUSTER_INFO_NAMESPACE,
    JWS_SIGNATURE_KEY_PREFIX, KUBE_SYSTEM_NAMESPACE,
)
from sim.protocol.objects import name_of, namespace_of, secret_data

__all__ = ["CLUSTER_INFO_KEY", "BootstrapSigner", "signing_tokens", "validate_secret_for_signing"]

CLUSTER_INFO_KEY = f"{CLUSTER_INFO_NAMESPACE}/{CLUSTER_INFO_NAME}"
"""The only work-queue key this controller ever uses."""

_CLUSTER_INFO_PATH = f"/api/v1/namespaces/{CLUSTER_INFO_NAMESPACE}/configmaps/{CLUSTER_INFO_NAME}"
_NAME_RE = re.compile(BOOTSTRAP_SECRET_NAME_PATTERN)


def validate_secret_for_signing(secret: Mapping[str, Any], now: datetime) -> tuple[str, str] | None:
    """Return (token id, token secret) if the Secret may sign cluster-info, else None.

    Mirrors validateSecretForSigning: the name must be ``bootstrap-token-<id>``,
    ``token-id`` must be set and match it, ``token-secret`` must be non-empty
    (its format is not checked), the token must not be expired at ``now``
    (equality counts as expired), and ``usage-bootstrap-signing`` must be
    exactly ``"true"``. Authentication usage and extra groups do not matter.
    """
    match = _NAME_RE.match(name_of(secret))
    if match is None:
        return None
    data = secret_data(secret)
    token_id = data.get(BOOTSTRAP_TOKEN_ID_KEY, "")
    if not token_id or token_id != match.group(1):
        return None
    token_secret = data.get(BOOTSTRAP_TOKEN_SECRET_KEY, "")
    if not token_secret:
        return None
    if tokens.has_expired(data, now):
        return None
    if data.get(BOOTSTRAP_TOKEN_USAGE_SIGNING) != "true":
        return None
    return token_id, token_secret


def signing_tokens(store: Store, now: datetime) -> dict[str, str]:
    """Return token id -> secret for every cached token Secret valid for signing (getTokens).

    A second Secret carrying an id already seen is skipped, as upstream does
    (with a V(1) log); the store iterates in name order, so the result is stable.
    """
    found: dict[str, str] = {}
    for secret in store.iter("secrets", KUBE_SYSTEM_NAMESPACE):
        if not is_token_secret(secret):
            continue
        valid = validate_secret_for_signing(secret, now)
        if valid is None or valid[0] in found:
            continue
        found[valid[0]] = valid[1]
    return found


def _sign(content: str, token_id: str, token_secret: str) -> str:
    """Compute one detached signature; a failure yields "" as upstream stores it anyway."""
    try:
        return jws.compute_detached_signature(content, token_id, token_secret)
    except Exception:  # noqa: BLE001 - upstream logs any signing error and stores ""
        return ""


class BootstrapSigner:
    """Sign ``kube-public/cluster-info`` with every token valid for signing (one worker)."""

    name: str = "bootstrapsigner"
    workers: int = BOOTSTRAP_SIGNER_WORKERS
    resync_period: float | None = None

    def __init__(self, store: Store) -> None:
        self._store = store
        self.last_error: str | None = None
        """The last update error that upstream would log (Conflict and NotFound are silent)."""

    def keys_for(self, event: WatchEvent) -> list[str]:
        """Enqueue the cluster-info key for cluster-info add/update and any token Secret change."""
        obj = event.object
        if event.resource == "configmaps":
            if event.type in ("ADDED", "MODIFIED") and namespace_of(obj) == CLUSTER_INFO_NAMESPACE \
                    and name_of(obj) == CLUSTER_INFO_NAME:
                return [CLUSTER_INFO_KEY]
            return []
        if event.resource == "secrets" and is_token_secret(obj):
            return [CLUSTER_INFO_KEY]
        return []

    def initial_keys(self) -> list[str]:
        """Return the cluster-info key: the informers' initial list fires Add events."""
        return [CLUSTER_INFO_KEY]

    def reconcile(self, key: str, now: datetime) -> Reconcile:
        """Run signConfigMap once and PUT the ConfigMap back only when signatures changed."""
        desired = self.desired_config_map(now)
        if desired is None:
            return None
        response = yield controller_request("PUT", _CLUSTER_INFO_PATH, desired)
        if not response.ok and response.status not in (404, 409):
            self.last_error = f"Error updating ConfigMap: {status_message(response.body)}"
        return None

    def desired_config_map(self, now: datetime) -> dict[str, Any] | None:
        """Return the re-signed cluster-info to write, or None when nothing needs writing."""
        current = self._store.peek("configmaps", CLUSTER_INFO_NAMESPACE, CLUSTER_INFO_NAME)
        if current is None:
            return None
        data: dict[str, str] = dict(current.get("data") or {})
        content = data.get(CLUSTER_INFO_KUBECONFIG_KEY)
        if content is None:
            return None  # upstream: V(3) "No kubeconfig key in kube-public/cluster-info ConfigMap"
        old = {k[len(JWS_SIGNATURE_KEY_PREFIX):]: data.pop(k) for k in list(data)
               if k.startswith(JWS_SIGNATURE_KEY_PREFIX)}
        need_update = False
        for token_id, token_secret in signing_tokens(self._store, now).items():
            signature = _sign(content, token_id, token_secret)
            if signature != old.pop(token_id, ""):
                need_update = True
            data[JWS_SIGNATURE_KEY_PREFIX + token_id] = signature
        if old:
            need_update = True  # a signature of a removed or no longer valid token is left over
        if not need_update:
            return None
        updated: dict[str, Any] = clone(current)
        updated["data"] = data
        return updated
