"""Describe the ``expect`` section: what must be true after the run, checked by ``sim.scenario.checks``.

- ``outcomes``: per group (or ``all``), how many nodes ``joined``,
  ``failed`` or stayed ``unfinished`` (``3``, ``all``, ``>= 5``, ``1..4``);
- ``errors``: kubeadm's error text of a group's failed nodes contains a
  string (``count: all``, the default, means every failed node, and at
  least one; ``joins: any`` looks at every join a node ran, not only its
  last);
- ``join_time`` / ``failure_time``: per group, bounds on statistics (``p50``,
  ``p99``, ``max``...) of the time from ``kubeadm join`` starting to its
  success text, or to its failure (``p99: "< 5s"``);
- ``throughput``: joins per second over the run (``">= 50/s"``);
- ``attackers``: per attacker, bounds on what it did and got (requests
  intercepted, victims, CSRs created or refused, identities the cluster CA
  certified for it), whether a thief registered its victim's Node, its error;
- ``invariants``: names from ``sim.scenario.invariants``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Iterable

from sim.scenario.bounds import COUNT, DURATION, RATE, Bound, BoundKind
from sim.scenario.invariants import INVARIANTS
from sim.scenario.kinds import Choice, Flag, Text
from sim.scenario.problems import Path, Problem
from sim.scenario.records import ListOf, MapOf, Maybe, Record, option
from sim.scenario.sections.attackers import ATTACKERS
from sim.scenario.sections.nodes import NODES
from sim.scenario.tree import Scenario, Section

__all__ = ["EXPECT", "STATS", "AttackerExpect", "ErrorSpec", "ExpectSpec", "OutcomeSpec"]

STATS: Final = ("min", "p50", "p90", "p95", "p99", "max", "mean")
ALL_GROUPS: Final = "all"
TimeBounds = tuple[tuple[str, tuple[tuple[str, Bound], ...]], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class OutcomeSpec:
    """Bound how many of a group's nodes ended each way (null: not checked)."""

    joined: Bound | None = option(BoundKind(COUNT), "nodes that joined", None)
    failed: Bound | None = option(BoundKind(COUNT), "nodes whose kubeadm join failed", None)
    unfinished: Bound | None = option(BoundKind(COUNT), "nodes still busy when the run ended", None)


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorSpec:
    """Require kubeadm's error text of failed nodes to contain a string."""

    contains: str = option(Text(), "text the error must contain (verbatim, as kubeadm prints it)")
    group: str = option(Text(), "the group (all: every group)", ALL_GROUPS)
    count: Bound = option(BoundKind(COUNT), "how many nodes fail with it (all: every failed node, and at least "
                          "one)", Bound(op="==", value=None, unit=COUNT))
    joins: str = option(Choice(("last", "any")), "last: the node's outcome; any: any kubeadm join it ran (a rejoin "
                        "after an admin's reset counts)", "last")


@dataclass(frozen=True, slots=True, kw_only=True)
class AttackerExpect:
    """Bound what an attacker did and got (null: not checked)."""

    intercepted: Bound | None = option(BoundKind(COUNT), "requests the MITM answered", None)
    victims: Bound | None = option(BoundKind(COUNT), "nodes whose CSR the MITM received, or the thief's victim",
                                   None)
    csrs_created: Bound | None = option(BoundKind(COUNT), "CSRs it created at the real API server", None)
    csrs_failed: Bound | None = option(BoundKind(COUNT), "CSR creations the API server refused", None)
    identities: Bound | None = option(BoundKind(COUNT), "node identities the cluster CA certified for its keys", None)
    trusted_by: Bound | None = option(BoundKind(COUNT), "nodes that ended up trusting the MITM's CA", None)
    node_registered: bool | None = option(Maybe(Flag()), "the thief's kubelet registered the victim's Node", None)
    error_contains: str | None = option(Maybe(Text()), "text its last error contains", None)


_TIMES: Final = MapOf(Text(), MapOf(Choice(STATS), BoundKind(DURATION)))


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpectSpec:
    """State what must hold after the run (module docstring)."""

    outcomes: tuple[tuple[str, OutcomeSpec], ...] = option(MapOf(Text(), Record(OutcomeSpec)),
                                                           "per group: joined, failed, unfinished", ())
    errors: tuple[ErrorSpec, ...] = option(ListOf(Record(ErrorSpec)), "error texts failed nodes print", ())
    join_time: TimeBounds = option(_TIMES, "per group: bounds on join-time statistics (p50, p99, max...)", ())
    failure_time: TimeBounds = option(_TIMES, "per group: bounds on time-to-failure statistics", ())
    throughput: Bound | None = option(BoundKind(RATE), "bound on joins per second", None)
    attackers: tuple[tuple[str, AttackerExpect], ...] = option(MapOf(Text(), Record(AttackerExpect)),
                                                               "per attacker: what it did and got", ())
    invariants: tuple[str, ...] = option(ListOf(Choice(tuple(INVARIANTS))), "invariants that must hold", ())


def _check(spec: ExpectSpec, scenario: Scenario) -> Iterable[Problem]:
    groups = {ALL_GROUPS, *(g.name for g in scenario.get(NODES))}
    named: list[tuple[Path, str]] = [(("expect", "outcomes", g), g) for g, _ in spec.outcomes]
    named += [(("expect", "errors", i, "group"), e.group) for i, e in enumerate(spec.errors)]
    named += [(("expect", key, g), g) for key in ("join_time", "failure_time") for g, _ in getattr(spec, key)]
    for path, group in named:
        if group not in groups:
            yield Problem(path=path, message=f"unknown group {group!r} (known: {', '.join(sorted(groups))})")
    attackers = [a.name for a in scenario.get(ATTACKERS)]
    for name, _ in spec.attackers:
        if name not in attackers:
            yield Problem(path=("expect", "attackers", name),
                          message=f"no attacker named {name!r} (known: {', '.join(attackers) or 'none'})")


EXPECT: Section[ExpectSpec] = Section(key="expect", kind=Record(ExpectSpec), default=ExpectSpec(), check=_check,
                                      doc="what must hold after the run: outcomes, error texts, times, invariants")
