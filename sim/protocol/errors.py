"""Define joinsim's error hierarchy; messages are the texts upstream prints.

Every message is the exact string kubeadm, kube-apiserver or client-go would
print, so a user can search upstream issues for it. Wrapping follows Go's
``fmt.Errorf("%s: %w")`` convention: ``wrap("prefix", err)`` gives
``"prefix: <err>"`` and keeps the cause.
"""

from __future__ import annotations

from typing import Any, Mapping

DISCOVERY_WRAP = "couldn't validate the identity of the API Server"
# go/src/crypto/x509/verify.go UnknownAuthorityError and CertificateInvalidError (Expired)
X509_UNKNOWN_AUTHORITY = "x509: certificate signed by unknown authority"
X509_EXPIRED_PREFIX = "x509: certificate has expired or is not yet valid: current time"
# go/src/crypto/tls/handshake_client.go: how the client wraps a failed server certificate check
TLS_VERIFY_PREFIX = "tls: failed to verify certificate: "
# Go net/http client.go: the transport's errRequestCanceledConn / a context deadline, plus the client's suffix.
CLIENT_TIMEOUT_CONNECTING = (
    "net/http: request canceled while waiting for connection (Client.Timeout exceeded while awaiting headers)")
CLIENT_TIMEOUT_AWAITING_HEADERS = "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"


class JoinsimError(Exception):
    """Base of every error joinsim raises on purpose; ``str()`` is the upstream text."""


class ValidationError(JoinsimError, ValueError):
    """Reject malformed input: a token, a pin, a usage, a group, a config field."""


class TokenError(ValidationError):
    """Reject a bootstrap token string, usage, group or Secret."""


class PinError(ValidationError):
    """Reject a CA public-key pin, or a CA that matches no pin."""


class KubeconfigError(ValidationError):
    """Reject a kubeconfig that does not parse or has no usable cluster."""


class CryptoError(JoinsimError, ValueError):
    """Reject a certificate, CSR, key or ciphertext."""


class SigningError(CryptoError):
    """Refuse to sign, as the csrsigning controller's CA does."""


class CertificateKeyError(CryptoError):
    """Reject a ``--certificate-key`` or a kubeadm-certs payload."""


class DiscoveryError(JoinsimError):
    """Fail discovery; ``str()`` already carries kubeadm's wrapping."""


class PreflightError(JoinsimError):
    """Fail the preflight checks."""


class TLSBootstrapError(JoinsimError):
    """Fail the kubelet's TLS bootstrap or kubeadm's wait for it."""


class TransportError(JoinsimError):
    """Fail an HTTP exchange below the API: connect, TLS or timeout, in Go's words."""


class ApiStatusError(JoinsimError):
    """Carry a Kubernetes ``Status`` failure returned by (or raised inside) the API server."""

    def __init__(self, status: Mapping[str, Any]) -> None:
        super().__init__(str(status.get("message", "")))
        self.status: dict[str, Any] = dict(status)

    @property
    def code(self) -> int:
        """Return the HTTP status code."""
        return int(self.status.get("code", 500))

    @property
    def reason(self) -> str:
        """Return the machine-readable reason (``NotFound``, ``Forbidden``...)."""
        return str(self.status.get("reason", ""))


def wrap(prefix: str, err: BaseException | str) -> str:
    """Join a context prefix and an error the way Go's ``%s: %v`` does."""
    return f"{prefix}: {err}"


# Go's strconv.appendEscapedRune: the control characters with a one-letter escape.
_GO_SHORT_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
                     "\v": "\\v"}


def go_quote(text: str) -> str:
    """Quote a string as Go's ``%q`` does (``strconv.Quote``), so quoted values read as kubeadm prints them.

    Printable runes are kept; quotes, backslashes and ``\\a \\b \\f \\n \\r \\t \\v`` get their
    short escapes, other control characters ``\\xHH`` and other unprintable runes
    ``\\uHHHH``/``\\UHHHHHHHH``. The protocol core and the control plane's field
    validation (sim/control/validation.py) both quote with this one function.
    """
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch in _GO_SHORT_ESCAPES:
            out.append(_GO_SHORT_ESCAPES[ch])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif not ch.isprintable():
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)
