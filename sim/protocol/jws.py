"""Compute and check the detached JWS that signs the cluster-info kubeconfig.

How this works: the bootstrapsigner controller signs the ``kubeconfig`` value of
``kube-public/cluster-info`` once per signing-capable token and stores the result
under ``jws-kubeconfig-<token-id>``. A joining node that knows the token recomputes
the signature over the kubeconfig it fetched anonymously and compares; a match
proves that whoever served the ConfigMap knows the token secret.

The format is a compact JWS (RFC 7515) with the payload segment removed
(appendix F): ``base64url(header) + ".." + base64url(HMAC-SHA256)``, no padding.
Upstream: staging/src/k8s.io/cluster-bootstrap/token/jws/jws.go (go-jose).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac

__all__ = ["compute_detached_signature", "detached_token_is_valid"]

# Go's encoding/json (and go-jose's fork of it) escape these besides '"' and '\'.
_GO_JSON_ESCAPES = {"\n": "\\n", "\r": "\\r", "<": "\\u003c", ">": "\\u003e", "&": "\\u0026"}


def _b64url(raw: bytes) -> str:
    """Encode bytes as unpadded base64url, as JWS compact serialization requires."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _go_json_string(text: str) -> str:
    """Encode a JSON string the way Go's ``encoding/json`` does.

    Only matters for a ``kid`` outside ``[a-z0-9]``, which the signer never
    produces; it keeps the header byte-exact for odd ids passed in by hand.
    """
    out = ['"']
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch in _GO_JSON_ESCAPES:
            out.append(_GO_JSON_ESCAPES[ch])
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _protected_header(token_id: str) -> bytes:
    """Return go-jose's protected header bytes: keys sorted, no whitespace."""
    return ('{"alg":"HS256","kid":' + _go_json_string(token_id) + "}").encode()


@functools.lru_cache(maxsize=256)
def compute_detached_signature(content: str, token_id: str, token_secret: str) -> str:
    """Sign ``content`` with the token secret and return ``header..mac``.

    Upstream pads secrets shorter than 32 bytes with zero bytes to satisfy
    go-jose's minimum key length; HMAC zero-pads keys to its 64-byte block
    anyway, so using the secret as is gives the same MAC (the empty-secret
    vector in the tests pins this).
    """
    header = _b64url(_protected_header(token_id))
    signing_input = f"{header}.{_b64url(content.encode())}".encode("ascii")
    mac = hmac.new(token_secret.encode(), signing_input, hashlib.sha256).digest()
    return f"{header}..{_b64url(mac)}"


def detached_token_is_valid(detached_token: str, content: str, token_id: str, token_secret: str) -> bool:
    """Recompute the signature and compare the whole string.

    Upstream compares with plain ``==`` (not constant time), so any extra
    character or a differently encoded header fails, exactly as here.
    """
    return detached_token == compute_detached_signature(content, token_id, token_secret)
