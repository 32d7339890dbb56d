"""Describe the ``admin`` section: a cluster admin's timed actions (``sim.engine.admin``).

Each action is a mapping with one key naming it, and ``at``, the simulated
time it runs at:

- ``create_token: {at, token: {token, ttl, expires, usages, groups}}``,
  ``delete_token: {at, token}``: ``kubeadm token create|delete``;
- ``approve_csrs: {at, group, deny}``: ``kubectl certificate approve`` (or
  ``deny``) of every pending CSR, or of one group's (``group: all``: every);
- ``delete_binding: {at, name}``: ``kubectl delete clusterrolebinding``
  (``kubeadm:node-autoapprove-bootstrap`` by default: auto-approval ends);
- ``delete_node``, ``reset_node``, ``rejoin_node``: ``{at, node}`` or
  ``{at, group}``: ``kubectl delete node``, ``kubeadm reset -f``, and
  ``kubeadm join`` again with the group's settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from sim.engine import (
    ApproveCsrs, CreateToken, DeleteBinding, DeleteNode, DeleteToken, RejoinNode, ResetNode,
)
from sim.protocol import constants as C
from sim.scenario.kinds import Duration, Flag, Text
from sim.scenario.problems import Path, Problem
from sim.scenario.records import ListOf, Maybe, OneOf, Record, option
from sim.scenario.sections.nodes import NODES, node_names
from sim.scenario.sections.tokens import TokenEntry
from sim.scenario.tree import Scenario, Section

__all__ = ["ADMIN", "ApproveSpec", "CreateTokenSpec", "DeleteBindingSpec", "DeleteNodeSpec", "DeleteTokenSpec",
           "RejoinNodeSpec", "ResetNodeSpec"]

_AT = "when it runs (simulated time)"


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateTokenSpec:
    """Run ``kubeadm token create``."""

    at: float = option(Duration(), _AT)
    token: TokenEntry = option(Record(TokenEntry), "the token to create")

    def build(self) -> CreateToken:
        """Return the engine's action."""
        return CreateToken(at=self.at, token=self.token.build())


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteTokenSpec:
    """Run ``kubeadm token delete``."""

    at: float = option(Duration(), _AT)
    token: str = option(Text(), "the token id, or the whole token (set cluster.token to delete the init token)")

    def build(self) -> DeleteToken:
        """Return the engine's action."""
        return DeleteToken(at=self.at, token=self.token)


@dataclass(frozen=True, slots=True, kw_only=True)
class ApproveSpec:
    """Run ``kubectl certificate approve`` (or ``deny``) on pending CSRs."""

    at: float = option(Duration(), _AT)
    group: str = option(Text(), "only the CSRs of this group's nodes (all: every pending CSR)", "all")
    deny: bool = option(Flag(), "deny instead of approve", False)

    def build(self) -> ApproveCsrs:
        """Return the engine's action."""
        return ApproveCsrs(at=self.at, group=None if self.group == "all" else self.group, deny=self.deny)


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteBindingSpec:
    """Run ``kubectl delete clusterrolebinding``."""

    at: float = option(Duration(), _AT)
    name: str = option(Text(), "the binding", C.NODE_AUTOAPPROVE_BOOTSTRAP_BINDING)

    def build(self) -> DeleteBinding:
        """Return the engine's action."""
        return DeleteBinding(at=self.at, name=self.name)


@dataclass(frozen=True, slots=True, kw_only=True)
class _OnNodesSpec:
    """Name one node or a whole group."""

    at: float = option(Duration(), _AT)
    node: str | None = option(Maybe(Text()), "one node (<group>-<n>)", None)
    group: str | None = option(Maybe(Text()), "every node of a group", None)

    def problems(self) -> Iterable[tuple[str, str]]:
        """Want exactly one of node and group."""
        if (self.node is None) == (self.group is None):
            yield "", "give exactly one of node and group"


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteNodeSpec(_OnNodesSpec):
    """Run ``kubectl delete node``."""

    def build(self) -> DeleteNode:
        """Return the engine's action."""
        return DeleteNode(at=self.at, node=self.node, group=self.group)


@dataclass(frozen=True, slots=True, kw_only=True)
class ResetNodeSpec(_OnNodesSpec):
    """Run ``kubeadm reset -f`` on the node."""

    def build(self) -> ResetNode:
        """Return the engine's action."""
        return ResetNode(at=self.at, node=self.node, group=self.group)


@dataclass(frozen=True, slots=True, kw_only=True)
class RejoinNodeSpec(_OnNodesSpec):
    """Run ``kubeadm join`` again on the node, with its group's settings."""

    def build(self) -> RejoinNode:
        """Return the engine's action."""
        return RejoinNode(at=self.at, node=self.node, group=self.group)


ActionSpec = (CreateTokenSpec | DeleteTokenSpec | ApproveSpec | DeleteBindingSpec | DeleteNodeSpec | ResetNodeSpec
              | RejoinNodeSpec)
ACTION = OneOf({"create_token": Record(CreateTokenSpec), "delete_token": Record(DeleteTokenSpec),
                "approve_csrs": Record(ApproveSpec), "delete_binding": Record(DeleteBindingSpec),
                "delete_node": Record(DeleteNodeSpec), "reset_node": Record(ResetNodeSpec),
                "rejoin_node": Record(RejoinNodeSpec)})


def _engine(actions: tuple[ActionSpec, ...], scenario: Scenario) -> Mapping[str, Any]:
    return {"admin": tuple(a.build() for a in actions)}


def _check(actions: tuple[ActionSpec, ...], scenario: Scenario) -> Iterable[Problem]:
    specs = scenario.get(NODES)
    groups = [g.name for g in specs]
    nodes = node_names(specs)
    for index, action in enumerate(actions):
        path: Path = ("admin", index, ACTION.variant_of(action))
        group = getattr(action, "group", None)
        if group not in (None, "all", *groups):
            yield Problem(path=(*path, "group"), message=f"no node group named {group!r} (known: {', '.join(groups)})")
        node = getattr(action, "node", None)
        if node is not None and node not in nodes and not isinstance(action, DeleteNodeSpec):
            yield Problem(path=(*path, "node"), message=f"no node named {node!r} (nodes are <group>-<n>)")


ADMIN: Section[tuple[ActionSpec, ...]] = Section(
    key="admin", kind=ListOf(ACTION), default=(), engine=_engine, check=_check,
    doc="timed admin actions: tokens, CSR approval, RBAC, node deletion, kubeadm reset and rejoin")
