"""Name the properties an ``expect`` block can require of every node, whatever the counts.

Each invariant is a sentence and a predicate that returns the nodes that
break it. They state the security properties the join protocol exists
for (a pinned node trusts only the cluster's CA; a node hands its CSR only
to the real API server) and two sanity properties of a run (every node
finished; every failure carries kubeadm's error text).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Callable, Final, Mapping

from sim.report.record import NodeRecord, ResultFile

__all__ = ["INVARIANTS", "Invariant"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Invariant:
    """Say what must hold for every node, and find the nodes where it does not."""

    sentence: str
    broken_by: Callable[[NodeRecord, ResultFile], bool]

    def violators(self, result: ResultFile) -> list[str]:
        """Return the names of the nodes that break the invariant."""
        return [node.name for node in result.nodes if self.broken_by(node, result)]


def _servers(result: ResultFile) -> set[str]:
    return {"", *(server.name for server in result.servers)}


INVARIANTS: Final[Mapping[str, Invariant]] = MappingProxyType({
    "pinned-nodes-trust-only-the-cluster-ca": Invariant(
        sentence="no pinned node trusted a foreign CA",
        broken_by=lambda n, r: n.pinned and n.trusted_ca_pin not in ("", r.ca_pin)),
    "no-node-trusts-a-foreign-ca": Invariant(
        sentence="no node trusted a foreign CA",
        broken_by=lambda n, r: n.trusted_ca_pin not in ("", r.ca_pin)),
    "csrs-reach-only-the-cluster": Invariant(
        sentence="no node sent its CSR anywhere but the cluster's API server",
        broken_by=lambda n, r: n.csr_server not in _servers(r)),
    "every-node-finished": Invariant(
        sentence="every node finished (joined or failed) before the run ended",
        broken_by=lambda n, r: not n.finished),
    "failures-carry-kubeadm-errors": Invariant(
        sentence="every failed node printed kubeadm's error text",
        broken_by=lambda n, r: n.finished and not n.joined and not n.error),
})
