"""Describe the ``attackers`` section: a man in the middle, a token thief, a CSR flooder (``sim.engine.attacker``).

Each attacker is a mapping with one key naming its kind:

- ``mitm``: sits between node group ``group`` and the API endpoint during
  ``window``, with a CA of its own, knowing the group's token or not;
- ``token_thief``: at ``at``, uses a stolen token (``init``: kubeadm init's)
  to get a client certificate for node ``victim``;
- ``csr_flooder``: posts ``count`` kubelet-client CSRs at ``rate`` from
  ``start`` with a token it holds.

Each attacker is a network group (and host) of its own, named after it, so
links, firewall rules and partitions can name it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from sim.engine import CsrFlooder, MitmAttacker, TokenThief
from sim.scenario.kinds import Choice, Duration, Flag, Integer, Rate, Text
from sim.scenario.problems import Problem
from sim.scenario.records import ListOf, OneOf, Record, option
from sim.scenario.sections.network import WindowSpec
from sim.scenario.sections.nodes import NODES
from sim.scenario.tree import Scenario, Section

__all__ = ["ATTACKERS", "FlooderSpec", "MitmSpec", "ThiefSpec"]


@dataclass(frozen=True, slots=True, kw_only=True)
class MitmSpec:
    """Put a TLS-terminating proxy with its own CA between a node group and the API endpoint."""

    name: str = option(Text(), "the attacker's name (its network group and host)")
    group: str = option(Text(), "the node group whose connections it intercepts")
    knows_token: bool = option(Flag(), "it stole the group's token, so it can re-sign cluster-info", False)
    window: WindowSpec = option(Record(WindowSpec), "when it intercepts", WindowSpec())
    ca_key_type: str = option(Choice(("rsa", "ecdsa")), "its own CA's key", "ecdsa")

    def build(self) -> MitmAttacker:
        """Return the engine's attacker."""
        return MitmAttacker(name=self.name, group=self.group, knows_token=self.knows_token,
                            window=self.window.build(), ca_key_type=self.ca_key_type)


@dataclass(frozen=True, slots=True, kw_only=True)
class ThiefSpec:
    """Use a stolen bootstrap token to get a client certificate for another node's name."""

    name: str = option(Text(), "the attacker's name")
    victim: str = option(Text(), "the node name it asks a certificate for")
    at: float = option(Duration(), "when it strikes", 0.0)
    token: str = option(Text(), "the stolen token (init: kubeadm init's)", "init")

    def build(self) -> TokenThief:
        """Return the engine's attacker."""
        return TokenThief(name=self.name, victim=self.victim, at=self.at,
                          token=None if self.token == "init" else self.token)


@dataclass(frozen=True, slots=True, kw_only=True)
class FlooderSpec:
    """Post kubelet-client CSRs for made-up node names at a fixed rate, with a held token."""

    name: str = option(Text(), "the attacker's name")
    rate: float = option(Rate(), "CSRs a second, such as 20/s")
    count: int = option(Integer(1), "how many CSRs")
    start: float = option(Duration(), "when it starts", 0.0)
    token: str = option(Text(), "the token it holds (init: kubeadm init's)", "init")

    def build(self) -> CsrFlooder:
        """Return the engine's attacker."""
        return CsrFlooder(name=self.name, rate=self.rate, count=self.count, start=self.start,
                          token=None if self.token == "init" else self.token)


AttackerSpec = MitmSpec | ThiefSpec | FlooderSpec
ATTACKER = OneOf({"mitm": Record(MitmSpec), "token_thief": Record(ThiefSpec), "csr_flooder": Record(FlooderSpec)})


def _engine(attackers: tuple[AttackerSpec, ...], scenario: Scenario) -> Mapping[str, Any]:
    return {"attackers": tuple(a.build() for a in attackers)}


def _check(attackers: tuple[AttackerSpec, ...], scenario: Scenario) -> Iterable[Problem]:
    groups = [g.name for g in scenario.get(NODES)]
    every = scenario.groups()  # the control plane's group, node groups, attackers: each once
    for index, attacker in enumerate(attackers):
        kind = ATTACKER.variant_of(attacker)
        if every.count(attacker.name) > 1:
            yield Problem(path=("attackers", index, kind, "name"),
                          message=f"{attacker.name!r} is taken: attackers, node groups and the control plane's "
                                  "group each need a name of their own")
        if isinstance(attacker, MitmSpec) and attacker.group not in groups:
            yield Problem(path=("attackers", index, kind, "group"),
                          message=f"no node group named {attacker.group!r} (known: {', '.join(groups)})")


ATTACKERS: Section[tuple[AttackerSpec, ...]] = Section(
    key="attackers", kind=ListOf(ATTACKER), default=(), engine=_engine, check=_check,
    groups=lambda attackers: [a.name for a in attackers],
    doc="a man in the middle, a token thief, a CSR flooder")
