"""Check Kubernetes object names as apimachinery does (DNS-1123 labels and subdomains), with its texts.

Why in the protocol core: kubeadm validates a joining node's name with the
same rule the API server applies to object names, so both layers share it.
Upstream: staging/src/k8s.io/apimachinery/pkg/util/validation/validation.go.
"""

from __future__ import annotations

import re

__all__ = ["dns1123_label_errors", "dns1123_subdomain_errors"]

_DNS1123_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN = _DNS1123_LABEL + r"(\." + _DNS1123_LABEL + ")*"
_LABEL_RE = re.compile(r"\A" + _DNS1123_LABEL + r"\Z")
_SUBDOMAIN_RE = re.compile(r"\A" + _DNS1123_SUBDOMAIN + r"\Z")
_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start "
    "and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '"
    + _DNS1123_LABEL + "')"
)
_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '"
    + _DNS1123_SUBDOMAIN + "')"
)


def dns1123_label_errors(value: str) -> list[str]:
    """Return IsDNS1123Label's messages (empty when valid)."""
    out = []
    if len(value) > 63:
        out.append("must be no more than 63 characters")
    if not _LABEL_RE.match(value):
        out.append(_LABEL_MSG)
    return out


def dns1123_subdomain_errors(value: str) -> list[str]:
    """Return IsDNS1123Subdomain's messages (empty when valid)."""
    out = []
    if len(value) > 253:
        out.append("must be no more than 253 characters")
    if not _SUBDOMAIN_RE.match(value):
        out.append(_SUBDOMAIN_MSG)
    return out
