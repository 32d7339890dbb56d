"""Decide where a connection goes and how it fails, with the Go client's error texts.

How this works (the TCP semantics model): hosts sit in groups, and a link
between two groups has a one-way latency model and a loss probability.
``Network.route(src_host, src_group, "host:port", t)`` answers what a
client's connect would meet at simulated time ``t``, checking in this order:

1. interception: while an ``Interception`` is active, connections from its
   source group to its endpoint reach the attacker host instead (as ARP or
   DNS spoofing would); the attacker's own connections are never diverted,
   so it can proxy to the real server;
2. an unknown destination host: ``NoRoute`` (an ICMP host-unreachable, at
   once): ``dial tcp <ep>: connect: no route to host``;
3. an active ``Partition`` between the two groups: ``Drop``; packets vanish;
4. the first matching ``FirewallRule`` (like iptables, in list order):
   ``DROP`` silently discards the SYN, so the client waits out its own
   timeout (``net/http: request canceled while waiting for connection
   (Client.Timeout exceeded while awaiting headers)``); ``REJECT`` answers
   with a TCP RST (``--reject-with tcp-reset``) one round trip later:
   ``dial tcp <ep>: connect: connection refused``;
5. a port nobody listens on: ``Reject`` (the kernel's RST), like 4;
6. otherwise ``Deliver`` to the server (or the attacker) over the link.

A connection from a host to itself is loopback: no latency, no loss, no
partition, but firewall rules still apply. Loss is per exchange: a lost SYN
is retransmitted after Linux's initial RTO of 1 s, doubling, up to
``tcp_syn_retries`` = 6 times (then ``connection timed out`` after 127 s), so
loss shows as delay unless the client's timeout runs out first;
``Link.connect_delay`` draws that delay. Times are seconds of simulated time;
windows are half-open, [start, end).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Final, Iterable, Literal, Mapping, Union, get_args

from sim.engine.latency import Constant, LatencyModel
from sim.protocol.commands import TransportFailure
from sim.protocol.discovery import go_url_error
from sim.protocol.errors import CLIENT_TIMEOUT_AWAITING_HEADERS, CLIENT_TIMEOUT_CONNECTING

__all__ = [
    "ALWAYS", "CLIENT_TIMEOUT_AWAITING_HEADERS", "CLIENT_TIMEOUT_CONNECTING", "DEFAULT_LATENCY", "SYN_RETRIES",
    "SYN_RTO_INITIAL", "Deliver", "Drop", "FirewallRule", "Host", "Interception", "Link", "Network", "NoRoute",
    "Partition", "Reject", "Route", "Window", "connection_refused", "connection_timed_out", "no_route_to_host",
    "split_endpoint", "transport_failure", "url_error",
]

# A LAN: 0.25 ms one way, 0.5 ms round trip (a model, not a measurement).
DEFAULT_LATENCY: Final = Constant(0.00025)
# Linux include/net/tcp.h TCP_TIMEOUT_INIT (1 s) and the net.ipv4.tcp_syn_retries default (6).
SYN_RTO_INITIAL: Final = 1.0
SYN_RETRIES: Final = 6

Action = Literal["DROP", "REJECT"]
RejectWith = Literal["tcp-reset", "icmp-port-unreachable", "icmp-host-prohibited"]
# A TCP reset and ICMP port-unreachable both surface as ECONNREFUSED; host-prohibited as EHOSTUNREACH.
REJECT_WITH: Final[tuple[str, ...]] = get_args(RejectWith)


def connection_refused(endpoint: str) -> str:
    """Return Go's dial error for a TCP RST (ECONNREFUSED)."""
    return f"dial tcp {endpoint}: connect: connection refused"


def no_route_to_host(endpoint: str) -> str:
    """Return Go's dial error for an unreachable host (EHOSTUNREACH)."""
    return f"dial tcp {endpoint}: connect: no route to host"


def connection_timed_out(endpoint: str) -> str:
    """Return Go's dial error when the kernel gives up retransmitting the SYN (ETIMEDOUT)."""
    return f"dial tcp {endpoint}: connect: connection timed out"


def url_error(method: str, url: str, inner: str) -> str:
    """Wrap an inner error as Go's ``*url.Error`` does: ``Get "<url>": <inner>`` (discovery's formatter)."""
    return go_url_error(method, url, TransportFailure(message=inner))


def split_endpoint(endpoint: str) -> tuple[str, int]:
    """Split ``host:port`` (``[v6]:port`` for IPv6) into host and port; raise ValueError if malformed.

    Not Go's ``net.SplitHostPort`` (``sim.protocol.hostport``) on purpose: this
    checks a simulated address, so it asks for more (a host to route to, a port
    in 1-65535 to listen on), words its refusal for scenario files rather than
    as Go, and stays one ``rpartition`` because ``Network.route`` calls it for
    every simulated connection. kubeadm's own check of a join endpoint, with
    Go's texts, runs in the join workflow (``joinconfig.validation_errors``).
    """
    host, sep, port_text = endpoint.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"invalid endpoint {endpoint!r}: want host:port with a port in 1-65535")
    return host, int(port_text)


@dataclass(frozen=True, slots=True)
class Window:
    """Say when a rule holds: simulated seconds in [``start``, ``end``)."""

    start: float = 0.0
    end: float = math.inf

    def __post_init__(self) -> None:
        if math.isnan(self.start) or math.isnan(self.end) or self.end < self.start:
            raise ValueError(f"invalid window [{self.start}, {self.end}): the end is before the start")

    def contains(self, t: float) -> bool:
        """Tell whether ``t`` falls inside the window."""
        return self.start <= t < self.end


ALWAYS: Final = Window()


@dataclass(frozen=True, slots=True, kw_only=True)
class Host:
    """Name a machine, the group it belongs to and the TCP ports it listens on."""

    name: str
    group: str
    ports: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True, kw_only=True)
class Link:
    """Carry what a path between two groups costs: one-way latency and the chance an exchange loses a packet."""

    latency: LatencyModel = DEFAULT_LATENCY
    loss: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.loss < 1.0:
            raise ValueError(f"a link's loss probability must be in [0, 1), got {self.loss!r}")

    def sample_latency(self, rng: random.Random) -> float:
        """Draw one one-way delay."""
        return self.latency.sample(rng)

    def sample_loss(self, rng: random.Random) -> bool:
        """Tell whether one exchange loses a packet; draws from ``rng`` only on a lossy link."""
        return self.loss > 0.0 and rng.random() < self.loss

    def connect_delay(self, rng: random.Random) -> float | None:
        """Draw the SYN retransmission delay before a connect gets through; None if the kernel gives up."""
        delay, rto = 0.0, SYN_RTO_INITIAL
        for _ in range(SYN_RETRIES + 1):
            if not self.sample_loss(rng):
                return delay
            delay, rto = delay + rto, rto * 2
        return None


LOOPBACK: Final = Link(latency=Constant(0.0))


@dataclass(frozen=True, slots=True, kw_only=True)
class FirewallRule:
    """Drop or reject connections to ``host`` (on ``port``, or any port), from a group or any, during a window."""

    host: str
    port: int | None = None
    action: Action = "DROP"
    source_group: str | None = None
    window: Window = ALWAYS
    reject_with: RejectWith = "tcp-reset"
    """What a REJECT sends back: iptables' ``--reject-with`` (firewalld rejects with icmp-host-prohibited)."""

    def __post_init__(self) -> None:
        if self.action not in ("DROP", "REJECT"):
            raise ValueError(f"a firewall action must be DROP or REJECT, got {self.action!r}")
        if self.reject_with not in REJECT_WITH:
            raise ValueError(f"reject_with must be one of {', '.join(REJECT_WITH)}, got {self.reject_with!r}")

    def matches(self, host: str, port: int, src_group: str, t: float) -> bool:
        """Tell whether the rule applies to this connection at ``t``."""
        return (self.host == host and self.port in (None, port) and self.source_group in (None, src_group)
                and self.window.contains(t))


@dataclass(frozen=True, slots=True, kw_only=True)
class Partition:
    """Cut every group in ``side_a`` off from every group in ``side_b`` (both ways) during a window."""

    side_a: frozenset[str]
    side_b: frozenset[str]
    window: Window = ALWAYS

    def __post_init__(self) -> None:
        if not self.side_a or not self.side_b or self.side_a & self.side_b:
            raise ValueError("a partition needs two non-empty, disjoint sets of groups")

    def cuts(self, group_1: str, group_2: str, t: float) -> bool:
        """Tell whether traffic between the two groups is cut at ``t``."""
        return self.window.contains(t) and (
            (group_1 in self.side_a and group_2 in self.side_b) or (group_1 in self.side_b and group_2 in self.side_a))


@dataclass(frozen=True, slots=True, kw_only=True)
class Interception:
    """Divert connections from ``source_group`` to ``endpoint`` to the ``attacker`` host during a window."""

    attacker: str
    source_group: str
    endpoint: str
    window: Window = ALWAYS

    def __post_init__(self) -> None:
        split_endpoint(self.endpoint)


@dataclass(frozen=True, slots=True, kw_only=True)
class Deliver:
    """Say the connection reaches ``to_host`` (the server, or the attacker when ``intercepted``) over ``link``."""

    to_host: str
    link: Link
    intercepted: bool = False

    @property
    def latency(self) -> LatencyModel:
        """Return the link's one-way latency model."""
        return self.link.latency

    def sample_latency(self, rng: random.Random) -> float:
        """Draw one one-way delay on the link."""
        return self.link.sample_latency(rng)

    def sample_loss(self, rng: random.Random) -> bool:
        """Tell whether one exchange on the link loses a packet."""
        return self.link.sample_loss(rng)


@dataclass(frozen=True, slots=True, kw_only=True)
class Drop:
    """Say the SYN vanishes (``firewall`` DROP or ``partition``): the client waits for its own timeout."""

    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Reject:
    """Say a TCP RST comes back one round trip later (``firewall`` REJECT or a ``closed`` port)."""

    reason: str
    link: Link = field(default_factory=Link)
    host_unreachable: bool = False
    """An ICMP host-prohibited answer: Go reports ``no route to host`` instead of ``connection refused``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class NoRoute:
    """Say the destination host is unknown: the dial fails at once with ``no route to host``."""


Route = Union[Deliver, Drop, Reject, NoRoute]


def transport_failure(route: Route, endpoint: str) -> TransportFailure:
    """Return the Go client's inner error for a failed route (after a Drop, once the client timed out).

    A delivered connection whose answer outlasts the client's timeout fails
    with ``CLIENT_TIMEOUT_AWAITING_HEADERS`` instead; the driver knows when.
    """
    if isinstance(route, Reject):
        if route.host_unreachable:
            return TransportFailure(message=no_route_to_host(endpoint))
        return TransportFailure(message=connection_refused(endpoint))
    if isinstance(route, NoRoute):
        return TransportFailure(message=no_route_to_host(endpoint))
    if isinstance(route, Drop):
        return TransportFailure(message=CLIENT_TIMEOUT_CONNECTING)
    raise ValueError("a delivered route is not a failure")


class Network:
    """Hold hosts, links, firewall rules, partitions and interceptions; route connections through them."""

    def __init__(
        self,
        hosts: Iterable[Host],
        *,
        links: Mapping[tuple[str, str], Link] | None = None,
        default_link: Link = Link(),
        firewall: Iterable[FirewallRule] = (),
        partitions: Iterable[Partition] = (),
        interceptions: Iterable[Interception] = (),
    ) -> None:
        self.hosts: dict[str, Host] = {}
        for host in hosts:
            if host.name in self.hosts:
                raise ValueError(f"host {host.name!r} is declared twice")
            self.hosts[host.name] = host
        self.links: dict[tuple[str, str], Link] = dict(links or {})
        self.default_link = default_link
        self.firewall = tuple(firewall)
        self.partitions = tuple(partitions)
        self.interceptions = tuple(interceptions)
        for rule in self.firewall:
            self._known(rule.host, "firewall rule")
        for interception in self.interceptions:
            self._known(interception.attacker, "interception")

    def _known(self, name: str, what: str) -> None:
        if name not in self.hosts:
            raise ValueError(f"{what} names unknown host {name!r} (known: {', '.join(sorted(self.hosts))})")

    def link(self, group_1: str, group_2: str) -> Link:
        """Return the link between two groups (either order), or the default link."""
        return self.links.get((group_1, group_2)) or self.links.get((group_2, group_1)) or self.default_link

    def route(self, src_host: str, src_group: str, dst_endpoint: str, t: float) -> Route:
        """Tell what a connection from ``src_host`` to ``dst_endpoint`` meets at ``t`` (module docstring)."""
        host, port = split_endpoint(dst_endpoint)
        intercepted = False
        for interception in self.interceptions:
            if (interception.source_group == src_group and interception.endpoint == dst_endpoint
                    and interception.attacker != src_host and interception.window.contains(t)):
                host, intercepted = interception.attacker, True
                break
        target = self.hosts.get(host)
        if target is None:
            return NoRoute()
        loopback = target.name == src_host
        link = LOOPBACK if loopback else self.link(src_group, target.group)
        if not loopback and any(p.cuts(src_group, target.group, t) for p in self.partitions):
            return Drop(reason="partition")
        for rule in self.firewall:
            if rule.matches(target.name, port, src_group, t):
                if rule.action == "DROP":
                    return Drop(reason="firewall")
                return Reject(reason="firewall", link=link, host_unreachable=rule.reject_with == "icmp-host-prohibited")
        if not intercepted and port not in target.ports:
            return Reject(reason="closed", link=link)
        return Deliver(to_host=target.name, link=link, intercepted=intercepted)
