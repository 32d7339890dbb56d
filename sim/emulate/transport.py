"""Carry out a workflow's HTTP requests and watches over real HTTPS with aiohttp.

How this works: one ``Transport`` per node owns an aiohttp session. Each
``TlsConfig`` becomes an ``ssl.SSLContext`` (cached): ``insecure`` skips
verification; ``ca_pem`` trusts that CA only, checking chain and host name;
neither trusts the host's store. A client certificate is loaded through a
private 0700 directory that is removed at once (``ssl`` only reads files).
Failures come back as ``TransportFailure`` with Go's texts (``goerrors``).
A watch is a real ``?watch=true`` stream filtered to one object by name.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import shutil
import ssl
import tempfile
from typing import Any, Mapping
from urllib.parse import urlencode

import aiohttp
from yarl import URL

from sim.emulate import goerrors
from sim.protocol import constants as C
from sim.protocol.commands import HttpResult, TlsConfig, TransportFailure
from sim.protocol.http import Request, Response

# client-go's default Accept header (rest.Config without ContentType negotiation)
ACCEPT = "application/json, */*"
WATCH_ERROR_BACKOFF = 1.0
"""Seconds to wait before reporting a failed watch, as client-go's retry backoff would."""


def user_agent(program: str = "kubeadm") -> str:
    """Return client-go's default user agent for a program (``kubeadm/v1.34.0 (linux/amd64) kubernetes/f28b4c9``)."""
    return f"{program}/{C.KUBEADM_VERSION} (linux/amd64) kubernetes/{C.KUBEADM_GIT_COMMIT[:7]}"


class TlsSetupError(ValueError):
    """Refuse a TLS configuration before dialing, with client-go's text (``rest.TLSConfigFor``)."""


def ssl_context(tls: TlsConfig) -> ssl.SSLContext:
    """Build the client TLS context a ``TlsConfig`` describes (see the module docstring)."""
    if tls.insecure:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif tls.ca_pem is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        try:
            context.load_verify_locations(cadata=tls.ca_pem.decode("ascii", errors="replace"))
        except (ssl.SSLError, ValueError):
            raise TlsSetupError("unable to load root certificates: unable to parse bytes as PEM block") from None
    else:  # only now is the host's trust store read (it costs tens of milliseconds)
        context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if tls.client_cert_pem and tls.client_key_pem:
        try:
            load_client_identity(context, tls.client_cert_pem, tls.client_key_pem)
        except (ssl.SSLError, ValueError):
            raise TlsSetupError("tls: failed to find any PEM data in certificate input") from None
    return context


def load_client_identity(context: ssl.SSLContext, cert_pem: bytes, key_pem: bytes) -> None:
    """Load a client certificate and key from memory via a private temporary directory."""
    directory = tempfile.mkdtemp(prefix="joinsim-tls-")
    try:
        os.chmod(directory, 0o700)
        cert_path, key_path = os.path.join(directory, "client.crt"), os.path.join(directory, "client.key")
        for path, data in ((cert_path, cert_pem), (key_path, key_pem)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
        context.load_cert_chain(cert_path, key_path)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def build_url(endpoint: str, path: str, query: Mapping[str, str]) -> URL:
    """Return ``https://<endpoint><path>?<query>`` with the query encoded as Go's ``url.Values.Encode`` (keys sorted)."""
    text = f"https://{endpoint}{path}"
    if query:
        text += "?" + urlencode(sorted(query.items()))
    return URL(text, encoded=True)


def decode_response(status: int, headers: Mapping[str, str], data: bytes, server: str) -> Response:
    """Turn a wire response into ``Response``: JSON bodies parsed, anything else kept as text."""
    content_type = headers.get("Content-Type", "")
    if "json" in content_type:
        try:
            return Response(status=status, body=json.loads(data), headers=dict(headers), server=server)
        except ValueError:
            pass
    return Response(status=status, text=data.decode("utf-8", errors="replace"), headers=dict(headers), server=server)


class Transport:
    """Send one node's requests; create it inside a running event loop and ``close`` it after."""

    def __init__(self, *, program: str = "kubeadm") -> None:
        self.user_agent = user_agent(program)
        self._contexts: dict[TlsConfig, ssl.SSLContext | TransportFailure] = {}
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None),
                                              auto_decompress=True, skip_auto_headers=("User-Agent",))
        self.requests: list[tuple[str, str, int | str]] = []
        """Every exchange: (method, path, status or Go error text)."""

    async def close(self) -> None:
        """Close the session and its pooled connections."""
        await self._session.close()

    async def __aenter__(self) -> Transport:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    def _context(self, tls: TlsConfig) -> ssl.SSLContext | TransportFailure:
        if tls not in self._contexts:
            try:
                self._contexts[tls] = ssl_context(tls)
            except TlsSetupError as err:
                self._contexts[tls] = TransportFailure(message=str(err))
        return self._contexts[tls]

    def _headers(self, request: Request, user_agent: str | None) -> dict[str, str]:
        headers = {"Accept": ACCEPT, "User-Agent": user_agent or self.user_agent}
        headers.update(request.headers)
        return headers

    async def send(self, endpoint: str, request: Request, tls: TlsConfig, timeout: float = 10.0, *,
                   user_agent: str | None = None) -> HttpResult:
        """Send one request; return the response or Go's transport error (never raises for network faults)."""
        context = self._context(tls)
        if isinstance(context, TransportFailure):
            return context
        bad_port = goerrors.port_error(endpoint)
        if bad_port is not None:
            self.requests.append((request.method, request.path, bad_port))
            return TransportFailure(message=bad_port)
        url = build_url(endpoint, request.path, request.query)
        try:
            async with asyncio.timeout(timeout):
                async with self._session.request(request.method, url, data=request.body or None, ssl=context,
                                                 headers=self._headers(request, user_agent),
                                                 allow_redirects=False) as response:
                    data = await response.read()
                    result = decode_response(response.status, response.headers, data, endpoint)
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError, ssl.SSLError) as err:
            failure = TransportFailure(message=await goerrors.failure_text(err, endpoint, tls.ca_pem))
            self.requests.append((request.method, request.path, failure.message))
            return failure
        self.requests.append((request.method, request.path, result.status))
        return result

    async def watch(self, endpoint: str, request: Request, tls: TlsConfig, resource_version: str, timeout: float, *,
                    user_agent: str | None = None) -> Response | TransportFailure | None:
        """Wait until the object at ``request.path`` changes after ``resource_version`` (``WatchObject``).

        Returns a 200 ``Response`` with the object on ``ADDED``/``MODIFIED``, a
        404 on ``DELETED``, ``None`` when ``timeout`` passes, and the failure
        when the watch cannot be opened (after a short backoff).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            try:
                async with asyncio.timeout(remaining):
                    result = await self._watch_once(endpoint, request, tls, resource_version, remaining, user_agent)
            except TimeoutError:
                return None
            if result is not None:
                return result
            await asyncio.sleep(min(0.1, max(0.0, deadline - loop.time())))

    async def _watch_once(self, endpoint: str, request: Request, tls: TlsConfig, resource_version: str,
                          remaining: float, user_agent: str | None) -> Response | TransportFailure | None:
        """Run one watch stream to its first event for the object; None when it ends with none."""
        context = self._context(tls)
        if isinstance(context, TransportFailure):
            return context
        collection, _, name = request.path.rpartition("/")
        bad_port = goerrors.port_error(endpoint)
        if bad_port is not None:
            self.requests.append(("WATCH", collection, bad_port))
            return TransportFailure(message=bad_port)
        query = {"fieldSelector": f"metadata.name={name}", "resourceVersion": resource_version,
                 "timeoutSeconds": str(max(1, math.ceil(remaining))), "watch": "true"}
        url = build_url(endpoint, collection, query)
        try:
            async with self._session.get(url, ssl=context, headers=self._headers(request, user_agent)) as response:
                self.requests.append(("WATCH", collection, response.status))
                if response.status != 200:
                    data = await response.read()
                    await asyncio.sleep(WATCH_ERROR_BACKOFF)
                    return decode_response(response.status, response.headers, data, endpoint)
                while True:
                    line = await response.content.readline()
                    if not line:
                        return None
                    found = await self._event(line, endpoint, request, tls, resource_version, user_agent)
                    if found is not None:
                        return found
        except (aiohttp.ClientError, OSError, ssl.SSLError) as err:
            failure = TransportFailure(message=await goerrors.failure_text(err, endpoint, tls.ca_pem))
            self.requests.append(("WATCH", collection, failure.message))
            return failure

    async def _event(self, line: bytes, endpoint: str, request: Request, tls: TlsConfig, resource_version: str,
                     user_agent: str | None) -> Response | None:
        """Interpret one watch event line; an ``ERROR`` event (410 Gone) falls back to a GET."""
        try:
            event = json.loads(line)
        except ValueError:
            return None
        kind, obj = event.get("type"), event.get("object") or {}
        if kind == "DELETED":
            return Response(status=404, body=obj, server=endpoint)
        if kind in ("ADDED", "MODIFIED"):
            if str((obj.get("metadata") or {}).get("resourceVersion")) != resource_version:
                return Response(status=200, body=obj, server=endpoint)
            return None
        if kind == "ERROR":
            current = await self.send(endpoint, request, tls, user_agent=user_agent)
            if isinstance(current, Response) and (current.status == 404 or (
                    current.ok and isinstance(current.body, dict)
                    and str(current.body.get("metadata", {}).get("resourceVersion")) != resource_version)):
                return current
            await asyncio.sleep(WATCH_ERROR_BACKOFF)
        return None
