"""Translate between aiohttp's HTTP messages and the control plane's ``Request``/``Response``.

How this works: the body is read only up to kube-apiserver's 3 MiB limit plus
one byte, so a huge upload costs the server nothing more; the truncated body
still reaches the control plane, which answers 413 ``RequestEntityTooLarge``
after authentication and authorization, as kube-apiserver's handlers do
(``limitedReadBody``), and the connection is closed since the rest of the body
was never read. A client certificate the TLS layer verified against the cluster
CA becomes ``Request.client`` (CN and O, as the x509 authenticator reads them)
after a second check of its validity period and chain (``x509verify``).
A protobuf body kubectl's typed clients send is transcoded to JSON
(``protobuf``). Responses carry the plane's headers; a ``Response.text`` goes out as
``text/plain``. When the Accept header asks for ``as=Table``, a successful get
or list is rendered with ``sim.control.tables``.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from aiohttp import web
from cryptography import x509

from sim.control import status, tables
from sim.emulate import protobuf
from sim.control.plane import subject_of
from sim.control.requestinfo import parse_request_info
from sim.protocol import x509verify
from sim.protocol.constants import MAX_REQUEST_BODY_BYTES
from sim.protocol.http import ClientSubject, Request, Response

__all__ = ["client_subject", "error_response", "read_body", "read_request", "table_body", "to_web", "wants_table_for"]

_READ_CHUNK = 64 * 1024


async def read_body(request: web.Request, limit: int = MAX_REQUEST_BODY_BYTES) -> tuple[bytes, bool]:
    """Read at most ``limit + 1`` bytes of the body; return them and whether the body was cut short."""
    data = await _read_up_to(request, limit + 1)
    return data, len(data) > limit


async def _read_up_to(request: web.Request, n: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while total < n:
        chunk = await request.content.read(min(_READ_CHUNK, n - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def client_subject(request: web.Request, ca: x509.Certificate, now: datetime) -> ClientSubject | None:
    """Return the verified client certificate's identity, or None for a connection without one."""
    transport = request.transport
    ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    if not der:
        return None
    cert = x509.load_der_x509_certificate(der)
    if x509verify.verify_chain(cert, [ca], now) is not None:
        return None
    return subject_of(cert)


async def read_request(request: web.Request, ca: x509.Certificate, now: datetime) -> tuple[Request, bool]:
    """Build the control plane's ``Request``; the flag says the body was over the limit (and cut short).

    A protobuf body of a kind ``protobuf`` knows is handed on as its JSON equivalent.
    """
    body, truncated = await read_body(request)
    headers = {k: v for k, v in request.headers.items()}
    content_type = request.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
    if content_type == protobuf.MEDIA_TYPE and not truncated:
        converted = protobuf.to_json(body)
        if converted is not None:
            body = converted
            headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
            headers["Content-Type"] = "application/json"
    req = Request(method=request.method, path=request.path, query={k: v for k, v in request.query.items()},
                  headers=headers, body=body, client=client_subject(request, ca, now))
    return req, truncated


def wants_table_for(req: Request, response: Response) -> str | None:
    """Return the resource to render as a Table, when the client asked for one and the answer is an object or list."""
    if not response.ok or req.method not in ("GET", "HEAD") or not isinstance(response.body, dict):
        return None
    if response.body.get("kind") in ("Status", "Table") or not tables.wants_table(req.header("Accept")):
        return None
    info = parse_request_info(req.method, req.path, req.query)
    if not info.is_resource_request or info.subresource or info.verb not in ("get", "list"):
        return None
    return info.resource


def table_body(req: Request, response: Response, resource: str, now: datetime) -> dict[str, Any]:
    """Render a get or list answer as a Table, honouring ``includeObject``."""
    include = req.query.get("includeObject", "Metadata")
    if include not in ("None", "Metadata", "Object"):
        include = "Metadata"
    return tables.to_table(resource, response.body, now, include)


def to_web(response: Response, *, body: Any = None, close: bool = False) -> web.Response:
    """Turn a control-plane ``Response`` (optionally with a replacement body) into an aiohttp response."""
    headers = {k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "transfer-encoding")}
    if body is not None:
        data = json.dumps(body, separators=(",", ":")).encode()
        headers["Content-Type"] = "application/json"
    else:
        data = response.encode()
        if not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = "text/plain; charset=utf-8" if response.text is not None else "application/json"
    out = web.Response(status=response.status, body=data, headers=headers)
    if close:
        out.force_close()
    return out


def error_response(exc: BaseException) -> web.Response:
    """Answer an unexpected failure of the driver itself with kube-apiserver's 500 Status."""
    err = status.internal_error(f"{type(exc).__name__}: {exc}")
    return web.Response(status=err.code, body=json.dumps(err.status, separators=(",", ":")).encode(),
                        headers={"Content-Type": "application/json"})
