"""Define the REST messages the join workflow and the control plane exchange.

The control plane's ``handle(request, now)`` takes a ``Request`` and returns a
``Response``; the join workflow yields requests inside ``HttpRequest`` commands.
Bodies are bytes on the way in (the server must cope with malformed input) and
JSON-shaped Python values on the way out; drivers serialize them for the wire.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import Any, Mapping
from urllib.parse import parse_qsl, urlsplit


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientSubject:
    """Identify the holder of a client certificate the driver's TLS layer verified."""

    common_name: str
    organizations: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    """Carry one HTTP request in Kubernetes REST terms."""

    method: str
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    client: ClientSubject | None = None

    @staticmethod
    def build(
        method: str,
        target: str,
        *,
        body: Any = None,
        bearer: str | None = None,
        client: ClientSubject | None = None,
        content_type: str = "application/json",
    ) -> Request:
        """Build a request from a path with an optional query string and a JSON body."""
        path, query = _split_target(target)
        headers: dict[str, str] = {}
        raw = b""
        if body is not None:
            raw = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
            headers["Content-Type"] = content_type
        if bearer is not None:
            headers["Authorization"] = f"Bearer {bearer}"
        return Request(
            method=method,
            path=path,
            query=dict(query),
            headers=headers,
            body=raw,
            client=client,
        )

    def with_client(self, client: ClientSubject | None) -> Request:
        """Return the request as sent with this client certificate's subject (a driver's TLS layer fills it in)."""
        return Request(method=self.method, path=self.path, query=self.query, headers=self.headers, body=self.body,
                       client=client)

    def header(self, name: str) -> str | None:
        """Return a header value, matching the name case-insensitively."""
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return None

    @property
    def target(self) -> str:
        """Return the path with its query string, as a URL would show it."""
        if not self.query:
            return self.path
        return self.path + "?" + "&".join(f"{k}={v}" for k, v in self.query.items())


@functools.lru_cache(maxsize=1024)
def _split_target(target: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """Return a target's path and query pairs (remembered: every node sends the same few targets)."""
    parts = urlsplit(target)
    return parts.path, tuple(parse_qsl(parts.query, keep_blank_values=True))


@dataclass(frozen=True, slots=True, kw_only=True)
class Response:
    """Carry one HTTP response: a status code and a JSON body (or plain text)."""

    status: int
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    text: str | None = None
    server: str = ""
    """Who answered: the driver fills in the serving host (a control plane or an attacker)."""

    @property
    def ok(self) -> bool:
        """Tell whether the status is 2xx."""
        return 200 <= self.status < 300

    def served_by(self, server: str) -> Response:
        """Return the response as answered by ``server`` (a driver fills in who answered)."""
        return Response(status=self.status, body=self.body, headers=self.headers, text=self.text, server=server)

    def encode(self) -> bytes:
        """Serialize the body as kube-apiserver would put it on the wire."""
        if self.text is not None:
            return self.text.encode()
        if self.body is None:
            return b""
        return json.dumps(self.body, separators=(",", ":")).encode()
