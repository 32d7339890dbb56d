"""Read a kubeadm or kubelet error the way a troubleshooter does: peel the wrappers, then name the cause.

How this works: Go programs wrap errors as ``outer: inner``, so kubeadm's
one-line error is a chain: the phase that failed, the step inside it, the
HTTP request (Go's ``*url.Error``: ``Get "<url>": ``), and at the end the
root cause, often a single system call's error. ``read_error`` peels the
known wrappers from the left (``WRAPPERS``, each with what it tells the
reader) and keeps the rest whole as the cause, because the cause's own
colons (``dial tcp 10.0.0.1:6443: connect: connection refused``) belong
together. ``CAUSES`` then says what the cause means on the network or in
the cluster. The texts matched are kubeadm's, client-go's and Go's, as
``sim.protocol`` and ``sim.engine`` produce them; the explanations are
this module's own words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

__all__ = ["CAUSES", "WRAPPERS", "Layer", "Reading", "read_error"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Layer:
    """One wrapper peeled off an error: its text and what it tells the reader."""

    text: str
    meaning: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Reading:
    """An error taken apart: the wrappers from outside in, the root cause, and what the cause means."""

    layers: tuple[Layer, ...]
    cause: str
    meaning: str

    def lines(self) -> list[str]:
        """Return the reading as indented lines, outermost wrapper first, for printing."""
        out = [f"{'  ' * depth}{layer.text}   <- {layer.meaning}" for depth, layer in enumerate(self.layers)]
        out.append(f"{'  ' * len(self.layers)}{self.cause}")
        out.append(f"{'  ' * len(self.layers)}=> {self.meaning}")
        return out


WRAPPERS: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    (re.compile(r"error execution phase ([\w/-]+): "), "kubeadm: the phase of the join workflow that failed"),
    (re.compile(r"couldn't validate the identity of the API Server: "),
     "kubeadm: discovery (the node could not come to trust the control plane)"),
    (re.compile(r"failed to request the cluster-info ConfigMap: "),
     "kubeadm: the fetch of kube-public/cluster-info got no usable answer (the last of its retries)"),
    (re.compile(r"unable to fetch the kubeadm-config ConfigMap: "),
     "kubeadm: discovery worked, but reading the cluster's configuration with the token failed"),
    (re.compile(r"Abort reading the cluster-info ConfigMap after timeout of [^:]+: "),
     "kubeadm: file discovery gave up at its timeout (the last error follows)"),
    (re.compile(r"[\w./-]+: Failed while requesting a signed certificate from the control plane: "),
     "kubelet: its TLS bootstrap attempt failed (it will try again)"),
    (re.compile(r"cannot create certificate signing request: "), "kubelet: posting its CSR failed"),
    (re.compile(r'(Get|Post|Put|Patch|Delete) "[^"]*": '),
     "Go's HTTP client: the request (method and URL) that failed"),
)
"""Known wrappers, tried in order at the front of what is left; each with what it tells the reader."""

CAUSES: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    (re.compile(r"connect: connection refused"),
     "a TCP reset came back at once: the host is reachable, but nothing listens on the port or a firewall "
     "rejects the connection with a reset (iptables REJECT --reject-with tcp-reset)"),
    (re.compile(r"connect: no route to host"),
     "an ICMP 'unreachable' came back (or no ARP answer): a wrong address, a host that is down, or a firewall "
     "rejecting with an ICMP error, as firewalld does by default"),
    (re.compile(r"connect: connection timed out"),
     "the kernel retransmitted the SYN until it gave up (about 2 minutes): nothing ever answered"),
    (re.compile(r"request canceled while waiting for connection"),
     "no answer to the SYN before the client's 10 s timeout: packets are silently dropped (a firewall DROP "
     "rule, a partition, a blackholed route)"),
    (re.compile(r"context deadline exceeded \(Client\.Timeout exceeded while awaiting headers\)"),
     "the connection was open and the request sent, but no response came within the client's timeout: the "
     "path broke after connecting, or the server is overloaded"),
    (re.compile(r"^context deadline exceeded$"),
     "kubeadm's own wait ran out (5 min for the TLS bootstrap by default); the reason is in the kubelet's log "
     "(journalctl -u kubelet)"),
    (re.compile(r"^EOF$"), "the server closed the connection without answering"),
    (re.compile(r"x509: certificate signed by unknown authority"),
     "TLS was verified against the cluster CA, and the server's certificate was not issued by it: someone "
     "else answered on that address, or the CA is wrong"),
    (re.compile(r"none of the public keys .* are pinned"),
     "the CA in cluster-info does not match any --discovery-token-ca-cert-hash: the hash quoted is the CA you "
     "were offered; compare it with the one kubeadm init printed"),
    (re.compile(r"failed to verify JWS signature"),
     "cluster-info's signature does not match the token: a mistyped token secret, or an answer from someone "
     "who does not know the token"),
    (re.compile(r"could not find a JWS signature"),
     "cluster-info has no signature for this token id: the token is unknown, expired, deleted or cannot sign"),
    (re.compile(r"^Unauthorized$"),
     "the API server rejected the credential: an expired, deleted or wrong bootstrap token (or anonymous "
     "requests are off)"),
    (re.compile(r"is forbidden: User "), "authenticated, but RBAC does not allow this request"),
    (re.compile(r"Too many requests"), "the API server shed load (API Priority and Fairness answered 429)"),
)
"""Root-cause patterns and what they mean, first match wins."""


def read_error(text: str) -> Reading:
    """Peel the known wrappers off ``text`` and explain its root cause (module docstring)."""
    rest = text.strip()
    layers: list[Layer] = []
    peeled = True
    while peeled:
        peeled = False
        for pattern, meaning in WRAPPERS:
            found = pattern.match(rest)
            if found:
                layers.append(Layer(text=found.group(0).rstrip(": ").rstrip(":"), meaning=meaning))
                rest = rest[found.end():]
                peeled = True
                break
    meaning = next((m for pattern, m in CAUSES if pattern.search(rest)), "not one of the causes this reader knows")
    return Reading(layers=tuple(layers), cause=rest, meaning=meaning)
