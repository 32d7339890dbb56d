"""Serve a ``ControlPlane`` over real HTTPS: the asyncio driver behind ``joinsim serve``.

How this works: ``EmulatedServer.start`` takes ``DIR``'s lock, binds the
listening socket (so the endpoint knows its real port), then either runs
``kubeadm init`` (``ControlPlane.bootstrap``) and saves the PKI, admin.conf
and a snapshot, or, when ``DIR`` was initialised before, rebuilds the plane from
the saved key material and the persisted store (``ControlPlane.restore``;
init is not run again). Every HTTP request goes through
``ControlPlane.handle`` (``wire`` converts messages and authenticates client
certificates); afterwards the controllers run to a fixed point
(``ControllerManager.pump``) on the wall clock, the store's new events are
appended to the journal and fsync'd (``state``), and only then is the response
sent and are watchers woken. Controller re-queues and resyncs become
``loop.call_later`` timers. ``?watch=true`` requests stream one JSON event
per line (``watchstream``). Where kube-apiserver has more than the control
plane models, the driver fills in on the way out: Tables for kubectl's
server-side printing (``sim.control.tables``), the OpenAPI v3 documents
kubectl's validation reads (``sim.control.openapi``), protobuf request bodies
(``protobuf``). ``stop`` closes the listener, ends the watches and closes the
journal.
Modelled: client certificates are verified during the TLS handshake
(``CERT_OPTIONAL``), so an invalid one fails the handshake where
kube-apiserver would answer 401.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import ssl
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import AsyncIterator, Callable

from aiohttp import web

from sim.control import openapi
from sim.control.api import is_watch_request
from sim.control.manager import ControllerManager, Timer
from sim.control.plane import ControlPlane
from sim.emulate import wire
from sim.emulate.listen import advertised_host, listen_socket
from sim.emulate.osrandom import OsRandom
from sim.emulate.startup import init_or_restore
from sim.emulate.pkidir import PkiDir
from sim.emulate.state import DEFAULT_COMPACT_BYTES, StateDir
from sim.emulate.watchstream import WatchHub
from sim.protocol import constants as C
from sim.protocol import pins
from sim.protocol.http import Request, Response
from sim.protocol.rng import Rng

__all__ = ["EmulatedServer", "ServeOptions", "running_server"]

LINGER_SECONDS = 1.0
"""How long to keep discarding the unread rest of an oversized body after the 413, so the client reads it."""


@dataclass(slots=True, kw_only=True)
class ServeOptions:
    """Say how to run ``joinsim serve``; the defaults are the command line's."""

    dir: str
    bind: str = "127.0.0.1"
    port: int = 6443
    token: str | None = None
    ttl: float = float(C.DEFAULT_TOKEN_TTL)
    autoapprove: bool = True
    public_cluster_info: bool = True
    ca_key_type: str | None = None
    """The cluster CA's key type for a fresh init (default ``rsa``, as kubeadm); a restore keeps the saved one."""
    kubernetes_version: str | None = None
    """The behaviour profile for a fresh init (default ``current``); a restore keeps the saved one."""
    token_cache_ttl: float = C.TOKEN_SUCCESS_CACHE_TTL
    seed: int | None = None
    """Seed the key material and names (tests); None draws from the OS."""
    compact_bytes: int = DEFAULT_COMPACT_BYTES
    backlog: int = 1024
    log: Callable[[str], None] | None = None
    """Receive one line per request served (``-v``)."""


def utcnow() -> datetime:
    """Return the wall clock the controllers and the API server run on."""
    return datetime.now(timezone.utc)


class EmulatedServer:
    """Run one emulated control plane on an asyncio loop; see the module docstring."""

    def __init__(self, options: ServeOptions) -> None:
        self.options = options
        self.plane: ControlPlane | None = None
        self.endpoint = ""
        self.token = ""
        self.ca_pin = ""
        self.init_lines: list[str] = []
        """What ``kubeadm init`` printed, on the first start only."""
        self.notes: list[str] = []
        """What a restart changed (re-issued certificates, cluster-info's server, a new join token)."""
        self.pki = PkiDir(options.dir)
        self.state = StateDir(options.dir, compact_bytes=options.compact_bytes)
        self.requests = 0
        self._manager: ControllerManager | None = None
        self._runner: web.AppRunner | None = None
        self._sock: socket.socket | None = None
        self._timers: set[asyncio.TimerHandle] = set()
        self._hub = WatchHub()
        self._closing = False

    @property
    def admin_conf(self) -> str:
        """Return the path of admin.conf."""
        return self.pki.admin_conf

    @property
    def url(self) -> str:
        """Return ``https://<endpoint>``."""
        return f"https://{self.endpoint}"

    # --- lifecycle ---

    async def start(self) -> None:
        """Initialise or restore the cluster in DIR, then start serving."""
        self._hub = WatchHub()
        self.state.lock()
        try:
            self._sock = listen_socket(self.options.bind, self.options.port, self.options.backlog)
            port = self._sock.getsockname()[1]
            self.endpoint = f"{advertised_host(self.options.bind)}:{port}"
            rng: Rng = random.Random(self.options.seed) if self.options.seed is not None else OsRandom()
            result = init_or_restore(self.options, self.pki, self.state, self.endpoint, utcnow(), rng)
            self.plane, self.token = result.plane, result.token
            self.init_lines, self.notes = result.init_lines, result.notes
            self._hub.history_floor = result.history_floor
            self.ca_pin = pins.certificate_pin(self.plane.ca.cert)
            self._manager = ControllerManager(self.plane.store, self.plane.controllers, self.plane.handle)
            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", self._handle)
            self._runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1.0,
                                        lingering_time=LINGER_SECONDS)
            await self._runner.setup()
            site = web.SockSite(self._runner, self._sock, ssl_context=self._ssl_context(),
                                backlog=self.options.backlog)
            await site.start()
        except BaseException:
            await self._teardown()
            raise
        for timer in self._manager.start_timers():
            self._arm(timer)
        self._after_request(utcnow())

    async def stop(self) -> None:
        """Shut down cleanly: stop listening, end watches, let requests finish, close the journal."""
        if self._closing:
            return
        self._closing = True
        self._hub.close()
        await self._teardown()

    async def _teardown(self) -> None:
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()
        if self._runner is not None:
            web_server = self._runner.server
            transports = [h.transport for h in (web_server.connections if web_server else []) if h.transport]
            await self._runner.cleanup()
            self._runner = None
            for transport in transports:  # do not wait for clients' TLS close_notify
                transport.abort()
            await asyncio.sleep(0)
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self.state.close()

    def abandon(self) -> None:
        """Drop everything as a crash would (tests): abort connections, close the listener and files, flush nothing.

        Runs on the server's loop; the connections' sockets close once the loop turns again.
        """
        self._closing = True
        for handle in self._timers:
            handle.cancel()
        web_server = self._runner.server if self._runner is not None else None
        for handler in web_server.connections if web_server is not None else []:
            if handler.transport is not None:
                handler.transport.abort()
        if self._sock is not None:
            self._sock.close()
        self.state.close()

    def _ssl_context(self) -> ssl.SSLContext:
        """Serve the API server certificate; ask for (and verify) client certificates, as optional."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(*self.pki.serving_files())
        context.load_verify_locations(cafile=self.pki.ca_file())
        context.verify_mode = ssl.CERT_OPTIONAL
        context.set_alpn_protocols(["http/1.1"])
        return context

    # --- controllers, persistence, wake-ups ---

    def _arm(self, timer: Timer) -> None:
        loop = asyncio.get_running_loop()
        handle: asyncio.TimerHandle | None = None

        def fire() -> None:
            if handle is not None:
                self._timers.discard(handle)
            if self._closing or self._manager is None:
                return
            for again in self._manager.enqueue(timer.controller, timer.key):
                self._arm(again)
            self._after_request(utcnow())
        handle = loop.call_later(max(0.0, timer.delay), fire)
        self._timers.add(handle)

    def _after_request(self, now: datetime) -> None:
        """Run the controllers, make every new store event durable, then wake the watchers."""
        assert self._manager is not None and self.plane is not None
        for timer in self._manager.pump(now):
            self._arm(timer)
        store = self.plane.store
        if store.revision > self.state.revision:
            if self.state.append(store.events_since(self.state.revision)):
                self.state.compact(store)
            self._hub.notify()

    # --- HTTP ---

    async def _handle(self, web_request: web.Request) -> web.StreamResponse:
        """Serve one request; a failure of the driver itself is a 500 Status, never a dropped connection."""
        try:
            assert self.plane is not None
            now = utcnow()
            req, too_large = await wire.read_request(web_request, self.plane.ca.cert, now)
            self.requests += 1
            if not too_large and is_watch_request(req):
                return await self._watch(web_request, req, now)
            response = self._answer(req, now)
            self._after_request(now)
            self._log(req, response.status)
            resource = wire.wants_table_for(req, response)
            body = wire.table_body(req, response, resource, now) if resource else None
            return wire.to_web(response, body=body, close=too_large)
        except (asyncio.CancelledError, ConnectionError):
            raise
        except Exception as exc:  # noqa: BLE001 - answer 500 instead of dropping the connection
            print(f"joinsim serve: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
            return wire.error_response(exc)

    def _answer(self, req: Request, now: datetime) -> Response:
        """Let the control plane answer; serve the OpenAPI v3 documents where it has no route (404 after authz)."""
        assert self.plane is not None
        response = self.plane.handle(req, now)
        if response.status == 404 and req.method in ("GET", "HEAD") and openapi.is_openapi_path(req.path):
            doc = openapi.document(req.path, self.plane.profile)
            if doc is not None:
                return Response(status=200, body=doc, headers={"Content-Type": "application/json"})
        return response

    def _log(self, req: Request, code: int) -> None:
        if self.options.log is not None:
            who = req.client.common_name if req.client else ("bearer" if req.header("Authorization") else "anonymous")
            self.options.log(f"{req.method} {req.target} {code} ({who})")

    async def _watch(self, web_request: web.Request, req: Request, now: datetime) -> web.StreamResponse:
        """Stream a watch the API server accepts; answer its error Status otherwise."""
        assert self.plane is not None
        spec = self.plane.api.prepare_watch(req, now)
        self._log(req, spec.status if isinstance(spec, Response) else 200)
        if isinstance(spec, Response):
            return wire.to_web(spec)
        return await self._hub.stream(web_request, req, spec, self.plane.store)


@contextlib.asynccontextmanager
async def running_server(options: ServeOptions) -> AsyncIterator[EmulatedServer]:
    """Start a server for the body of an ``async with`` and stop it cleanly afterwards."""
    server = EmulatedServer(options)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()

