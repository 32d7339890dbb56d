"""Send a node's API requests over the network model as client-go would: connections, TLS, timeouts, retries.

How this works (the client model): every request is routed through
``sim.engine.network`` at the moment it is sent. ``NoRoute`` fails at once
with ``no route to host``; ``Reject`` fails one round trip later with
``connection refused``; ``Drop`` makes the client wait its own timeout
(``HttpRequest.timeout``) and fail with Go's ``net/http: request canceled
while waiting for connection (Client.Timeout exceeded while awaiting
headers)``, or, on a connection that was already open, ``context deadline
exceeded (Client.Timeout exceeded while awaiting headers)``.

``Deliver``: the client keeps one keep-alive connection per endpoint and TLS
identity (the connection model). Opening one costs the SYN retransmissions
of a lossy link (1 s, doubling; the kernel gives up after 127 s with
``connection timed out``), a round trip for TCP, and for TLS a round trip
plus the server's CPU for the handshake; then ``sim.tlsmodel`` decides the
handshake: the server chain and name against the trusted CA (else ``tls:
failed to verify certificate: x509: ...``) and the client certificate
against the cluster CA (else every request answers 401). A request then
travels one latency to the server, is served (``SimApiServer.serve``) and
the response travels back; a loss on an open connection adds retransmission
time (the loss model: Linux's RTO from 200 ms, doubling, at most 15 times).
If the client's timeout passes first, the client gives up and drops the
connection, while the server still finishes the request. Responses 429 with
``Retry-After`` are retried as client-go does (``clientgo``).

An intercepted connection reaches the ``Interceptor`` registered for the
attacker host (``sim.engine.mitm``): it presents its own certificate in the
handshake, reads the client's certificate, and answers each request itself
(a TLS-terminating proxy); with no interceptor there, it is refused. Watch
events pass through it too (``relay``).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any, Final, Generator, Mapping, Protocol, cast

import simpy

from sim import tlsmodel
from sim.engine.apiserver import SimApiServer
from sim.engine.clientgo import MAX_RETRIES, retry_after
from sim.engine.network import (
    CLIENT_TIMEOUT_AWAITING_HEADERS, CLIENT_TIMEOUT_CONNECTING, SYN_RETRIES, SYN_RTO_INITIAL, Deliver, Drop, Link,
    Network, NoRoute, Reject, connection_timed_out, transport_failure,
)
from sim.engine.world import World
from sim.protocol import commands as cmd
from sim.protocol.commands import HttpResult, TlsConfig, TransportFailure
from sim.protocol.http import Request, Response

__all__ = ["TCP_RETRIES2", "TCP_RTO_MIN", "HttpClient", "Interceptor", "retransmit_delay"]

# Linux include/net/tcp.h TCP_RTO_MIN and the net.ipv4.tcp_retries2 default.
TCP_RTO_MIN: Final = 0.2
TCP_RETRIES2: Final = 15
_SYN_GIVE_UP: Final = SYN_RTO_INITIAL * (2 ** (SYN_RETRIES + 1) - 1)  # 127 s


def retransmit_delay(link: Link, rng: random.Random) -> float:
    """Draw the extra time losses add to one exchange on an open connection (the loss model)."""
    delay, rto = 0.0, TCP_RTO_MIN
    for _ in range(TCP_RETRIES2):
        if not link.sample_loss(rng):
            break
        delay, rto = delay + rto, rto * 2
    return delay


class Interceptor(Protocol):
    """Answer connections diverted to an attacker host, as a TLS-terminating proxy would."""

    host: str

    def tls_failure(self, tls: TlsConfig, endpoint: str, now: datetime) -> TransportFailure | None:
        """Return the client's error for the certificate the attacker presents, or None if accepted."""
        ...

    def identify(self, tls: TlsConfig, now: datetime) -> tlsmodel.ClientIdentity:
        """Return what the attacker makes of the client's certificate."""
        ...

    def serve(self, request: Request, endpoint: str, source: str,
              deadline: float) -> Generator[simpy.Event, Any, HttpResult]:
        """Answer one request that reached the attacker (a SimPy process body)."""
        ...

    def relay(self, response: Response) -> Response:
        """Return a watch event as the attacker passes it on to its victim."""
        ...


class HttpClient:
    """Carry one machine's requests to the API server (module docstring)."""

    def __init__(self, world: World, network: Network, server: SimApiServer, *, source: str, group: str,
                 rng: random.Random, interceptors: Mapping[str, Interceptor] | None = None,
                 clock_skew: float = 0.0) -> None:
        self.world = world
        self.clock_skew = clock_skew
        """Seconds the client's clock is ahead of the control plane's: it judges the server's certificate by it."""
        self.env = world.env
        self.network = network
        self.server = server
        self.plane = server.plane
        self.source = source
        self.group = group
        self.rng = rng
        self.interceptors: Mapping[str, Interceptor] = interceptors if interceptors is not None else {}
        self.conns: dict[tuple[str, TlsConfig], tlsmodel.ClientIdentity] = {}

    def request(self, c: cmd.HttpRequest) -> Generator[simpy.Event, Any, HttpResult]:
        """Send one request as client-go does: one attempt, then retries of 429s after ``Retry-After``."""
        attempt = 0
        while True:
            result = yield from self._attempt(c)
            delay = retry_after(result) if not isinstance(result, TransportFailure) else None
            if delay is None or attempt >= MAX_RETRIES:
                return result
            attempt += 1
            if delay > 0:
                yield self.env.timeout(delay)

    def _attempt(self, c: cmd.HttpRequest) -> Generator[simpy.Event, Any, HttpResult]:
        env, rng = self.env, self.rng
        deadline = float(env.now) + c.timeout
        route = self.network.route(self.source, self.group, c.endpoint, float(env.now))
        peer = self.interceptors.get(route.to_host) if isinstance(route, Deliver) and route.intercepted else None
        if isinstance(route, Deliver) and peer is None and (route.intercepted or route.to_host != self.server.host):
            route = Reject(reason="no server", link=route.link)
        key = (c.endpoint if peer is None else f"{peer.host}>{c.endpoint}", c.tls)
        if isinstance(route, NoRoute):
            return transport_failure(route, c.endpoint)
        if isinstance(route, Reject):
            self.conns.pop(key, None)
            rtt = 2 * route.link.sample_latency(rng)
            if rtt >= c.timeout:
                return (yield from self._until(deadline, CLIENT_TIMEOUT_CONNECTING))
            yield env.timeout(rtt)
            return transport_failure(route, c.endpoint)
        if isinstance(route, Drop):
            open_before = self.conns.pop(key, None) is not None
            return (yield from self._until(deadline, CLIENT_TIMEOUT_AWAITING_HEADERS if open_before
                                           else CLIENT_TIMEOUT_CONNECTING))
        link = route.link
        identity = self.conns.get(key)
        if identity is None:
            opened = yield from self._connect(c, link, deadline, peer)
            if isinstance(opened, TransportFailure):
                return opened
            identity = opened
            self.conns[key] = identity
        if identity.rejected:
            yield env.timeout(2 * link.sample_latency(rng))
            return tlsmodel.unauthorized(self.server.name)
        request = c.request if identity.subject is None else c.request.with_client(identity.subject)
        out = link.sample_latency(rng) + retransmit_delay(link, rng)
        if env.now + out >= deadline:
            self.conns.pop(key, None)
            return (yield from self._until(deadline, CLIENT_TIMEOUT_AWAITING_HEADERS))
        yield env.timeout(out)
        serving = env.process(self.server.serve(request, self.source) if peer is None
                              else peer.serve(request, c.endpoint, self.source, deadline))
        yield serving | env.timeout(deadline - env.now)
        back = link.sample_latency(rng) + retransmit_delay(link, rng)
        if not serving.triggered or env.now + back >= deadline:
            self.conns.pop(key, None)
            return (yield from self._until(deadline, CLIENT_TIMEOUT_AWAITING_HEADERS))
        response = cast(HttpResult, serving.value)
        if isinstance(response, TransportFailure):  # a proxy that closed the connection
            self.conns.pop(key, None)
        yield env.timeout(back)
        return response

    def _connect(self, c: cmd.HttpRequest, link: Link, deadline: float, peer: Interceptor | None = None,
                 ) -> Generator[simpy.Event, Any, tlsmodel.ClientIdentity | TransportFailure]:
        """Open a connection: TCP (with SYN retransmissions), then the TLS handshake and its checks."""
        env, rng = self.env, self.rng
        syn = link.connect_delay(rng)
        if syn is None:  # the kernel gives up retransmitting the SYN
            if env.now + _SYN_GIVE_UP < deadline:
                yield env.timeout(_SYN_GIVE_UP)
                return TransportFailure(message=connection_timed_out(c.endpoint))
            return (yield from self._until(deadline, CLIENT_TIMEOUT_CONNECTING))
        tcp = syn + 2 * link.sample_latency(rng)
        hello = link.sample_latency(rng)
        if env.now + tcp + hello >= deadline:
            return (yield from self._until(deadline, CLIENT_TIMEOUT_CONNECTING))
        yield env.timeout(tcp + hello)
        if peer is None:
            yield from self.server.handshake()
        back = link.sample_latency(rng)
        if env.now + back >= deadline:
            return (yield from self._until(deadline, CLIENT_TIMEOUT_CONNECTING))
        yield env.timeout(back)
        now = self.world.now()
        client_now = now + timedelta(seconds=self.clock_skew) if self.clock_skew else now
        failure = (tlsmodel.server_failure(self.plane, c.tls, c.endpoint, client_now) if peer is None
                   else peer.tls_failure(c.tls, c.endpoint, client_now))
        if failure is not None:
            return failure
        return tlsmodel.client_identity(self.plane, c.tls, now) if peer is None else peer.identify(c.tls, now)

    def _until(self, deadline: float, message: str) -> Generator[simpy.Event, Any, TransportFailure]:
        """Wait for the client's deadline, then fail with Go's timeout text."""
        if deadline > self.env.now:
            yield self.env.timeout(deadline - self.env.now)
        return TransportFailure(message=message)

    def relay(self, endpoint: str, response: Response) -> Response:
        """Pass a watch event through the attacker that intercepts ``endpoint`` now, if any."""
        if not self.interceptors:
            return response
        route = self.network.route(self.source, self.group, endpoint, float(self.env.now))
        if isinstance(route, Deliver) and route.intercepted and route.to_host in self.interceptors:
            return self.interceptors[route.to_host].relay(response)
        return response

    def one_way_delay(self, endpoint: str) -> float:
        """Draw the time a message from the server to this client takes now (0 if it cannot get through)."""
        route = self.network.route(self.source, self.group, endpoint, float(self.env.now))
        return route.link.sample_latency(self.rng) if isinstance(route, Deliver) else 0.0
