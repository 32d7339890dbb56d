"""Describe the ``network`` section: latency and loss between groups, firewall rules, partitions.

Groups are the control plane's (``cluster.group``), the node groups and
the attackers (each is a group of its own).
A firewall rule acts like an iptables rule on the control-plane host
(``host: cluster``): ``DROP`` discards the SYN (the client times out),
``REJECT`` answers with a TCP reset (``connection refused``); rules and
partitions hold during a ``window`` of simulated time, ``[start, end)``,
``end: never`` by default. A partition cuts every group of ``side_a`` off
from every group of ``side_b``, both ways.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Literal, Mapping

from sim.engine import FirewallRule, Link, NetworkSettings, Partition, Window
from sim.engine.latency import LatencyModel
from sim.engine.network import DEFAULT_LATENCY, REJECT_WITH, RejectWith, split_endpoint
from sim.scenario.kinds import Choice, Duration, Latency, Number, Text
from sim.scenario.problems import INVALID, Path, Problem, got
from sim.scenario.records import ListOf, Record, option
from sim.scenario.sections.cluster import CLUSTER
from sim.scenario.tree import Scenario, Section

__all__ = ["NETWORK", "LinkSpec", "NetworkSpec", "PartitionSpec", "Port", "RuleSpec", "WindowSpec"]


@dataclass(frozen=True, slots=True)
class Port:
    """Accept a TCP port (1-65535) or ``any`` (``None``)."""

    def parse(self, raw: object, path: Path, problems: list[Problem]) -> Any:
        """Return the port or ``None``, or record why it is not one."""
        if raw == "any":
            return None
        if isinstance(raw, bool) or not isinstance(raw, int) or not 0 < raw < 65536:
            problems.append(Problem(path=path, message=f"must be a port in 1-65535 or any {got(raw)}"))
            return INVALID
        return raw

    def dump(self, value: Any) -> object:
        """Return the port or ``any``."""
        return "any" if value is None else value


@dataclass(frozen=True, slots=True, kw_only=True)
class WindowSpec:
    """Say when a rule holds: [start, end) in simulated time."""

    start: float = option(Duration(), "when it begins", 0.0)
    end: float = option(Duration(never=math.inf), "when it ends (never: it does not)", math.inf)

    def problems(self) -> Iterable[tuple[str, str]]:
        """Refuse a window that ends before it starts."""
        if self.end < self.start:
            yield "end", "must not be before start"

    def build(self) -> Window:
        """Return the engine's window."""
        return Window(self.start, self.end)


_LOSS = Number(0.0, below=1.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkSpec:
    """Set latency and loss between two groups (either direction)."""

    between: tuple[str, ...] = option(ListOf(Text()), "the two groups")
    latency: LatencyModel = option(Latency(), "one-way delay: 2ms, {uniform: [1ms, 5ms]}, "
                                   "{lognormal: {median: 2ms, p99: 20ms}}", DEFAULT_LATENCY)
    loss: float = option(_LOSS, "probability that an exchange loses a packet (retransmitted as TCP does)", 0.0)

    def problems(self) -> Iterable[tuple[str, str]]:
        """Want exactly two groups."""
        if len(self.between) != 2:
            yield "between", f"must name exactly two groups (got {len(self.between)})"


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleSpec:
    """Drop or reject connections to a host (and port), from a group or any, during a window."""

    host: str = option(Text(), "the host the rule guards (cluster: the control-plane host)", "cluster")
    port: int | None = option(Port(), "the port (any: every port)", None)
    action: Literal["DROP", "REJECT"] = option(Choice(("DROP", "REJECT")), "DROP (silent) or REJECT (TCP reset)",
                                               "DROP")
    source: str = option(Text(), "the source group (any: every group)", "any")
    window: WindowSpec = option(Record(WindowSpec), "when the rule holds", WindowSpec())
    reject_with: RejectWith = option(Choice(REJECT_WITH), "what a REJECT answers (firewalld: icmp-host-prohibited, "
                                     "which clients see as 'no route to host')", "tcp-reset")


@dataclass(frozen=True, slots=True, kw_only=True)
class PartitionSpec:
    """Cut two sets of groups off from each other during a window."""

    side_a: tuple[str, ...] = option(ListOf(Text(), min_items=1), "groups on one side")
    side_b: tuple[str, ...] = option(ListOf(Text(), min_items=1), "groups on the other side")
    window: WindowSpec = option(Record(WindowSpec), "when the partition holds", WindowSpec())

    def problems(self) -> Iterable[tuple[str, str]]:
        """Refuse a group on both sides."""
        both = sorted(set(self.side_a) & set(self.side_b))
        if both:
            yield "side_b", "a group cannot be on both sides: " + ", ".join(both)


@dataclass(frozen=True, slots=True, kw_only=True)
class NetworkSpec:
    """Describe the network (module docstring)."""

    latency: LatencyModel = option(Latency(), "default one-way delay between groups", DEFAULT_LATENCY)
    loss: float = option(_LOSS, "default loss probability between groups", 0.0)
    links: tuple[LinkSpec, ...] = option(ListOf(Record(LinkSpec)), "links that differ from the default", ())
    firewall: tuple[RuleSpec, ...] = option(ListOf(Record(RuleSpec)), "firewall rules, first match wins", ())
    partitions: tuple[PartitionSpec, ...] = option(ListOf(Record(PartitionSpec)), "partitions", ())


def _host(rule: RuleSpec, scenario: Scenario) -> str:
    return split_endpoint(scenario.get(CLUSTER).endpoint)[0] if rule.host == "cluster" else rule.host


def _engine(spec: NetworkSpec, scenario: Scenario) -> Mapping[str, Any]:
    return {"network": NetworkSettings(
        default_link=Link(latency=spec.latency, loss=spec.loss),
        links=tuple((link.between[0], link.between[1], Link(latency=link.latency, loss=link.loss))
                    for link in spec.links),
        firewall=tuple(FirewallRule(host=_host(rule, scenario), port=rule.port, action=rule.action,
                                    reject_with=rule.reject_with,
                                    source_group=None if rule.source == "any" else rule.source,
                                    window=rule.window.build()) for rule in spec.firewall),
        partitions=tuple(Partition(side_a=frozenset(p.side_a), side_b=frozenset(p.side_b), window=p.window.build())
                         for p in spec.partitions))}


def _check(spec: NetworkSpec, scenario: Scenario) -> Iterable[Problem]:
    groups = set(scenario.groups())
    hosts = {split_endpoint(scenario.get(CLUSTER).endpoint)[0]}
    named: list[tuple[Path, str]] = []
    for i, link in enumerate(spec.links):
        named += [(("network", "links", i, "between", j), name) for j, name in enumerate(link.between)]
    for i, rule in enumerate(spec.firewall):
        if rule.source != "any":
            named.append((("network", "firewall", i, "source"), rule.source))
        if _host(rule, scenario) not in hosts:
            yield Problem(path=("network", "firewall", i, "host"),
                          message=f"unknown host {rule.host!r} (known: cluster, {', '.join(sorted(hosts))})")
    for i, part in enumerate(spec.partitions):
        for side in ("side_a", "side_b"):
            named += [(("network", "partitions", i, side, j), name) for j, name in enumerate(getattr(part, side))]
    for path, name in named:
        if name not in groups:
            yield Problem(path=path, message=f"unknown group {name!r} (known: {', '.join(sorted(groups))})")


NETWORK: Section[NetworkSpec] = Section(key="network", kind=Record(NetworkSpec), default=NetworkSpec(),
                                        engine=_engine, check=_check,
                                        doc="latency and loss between groups, firewall rules, partitions")
