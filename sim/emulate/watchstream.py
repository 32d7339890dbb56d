"""Stream a watch to an HTTP client: one JSON event per line, woken by store changes.

How this works: the API server describes an accepted watch as a ``WatchSpec``;
``WatchHub.stream`` sends its initial events, then loops: take the store's
events after the last seen revision that the spec matches, write them, and
sleep on the hub's wake-up event until the server notifies a change (after
each durable mutation), the watch's ``timeoutSeconds`` runs out (default:
kube-apiserver's ``--min-request-timeout``, 1800 s) or the hub closes at
shutdown. The response is chunked ``application/json``, as kube-apiserver
streams it. A resourceVersion older than the store's event history (the
history starts empty after a restart) gets the ERROR event kube-apiserver's
watch cache sends: 410 ``Expired``, ``too old resource version: <rv> (<oldest>)``,
after which client-go relists. When kubectl asks for Tables, each event's
object is a one-row Table.
Upstream: staging/src/k8s.io/apiserver/pkg/endpoints/handlers/watch.go,
staging/src/k8s.io/apiserver/pkg/storage/cacher/watch_cache.go.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone
from typing import Any

from aiohttp import web

from sim.control import tables
from sim.control.store import Store
from sim.control.watch import WatchSpec, event_dict
from sim.protocol.http import Request

__all__ = ["DEFAULT_WATCH_TIMEOUT", "WatchHub"]

# staging/src/k8s.io/apiserver/pkg/server/options/serving.go: --min-request-timeout default
DEFAULT_WATCH_TIMEOUT = 1800.0


class WatchHub:
    """Wake every open watch when the store changes; end them all at shutdown."""

    def __init__(self) -> None:
        self._changed = asyncio.Event()
        self.closing = False
        self.history_floor = 0
        """The resourceVersion the store's event history starts after."""

    def notify(self) -> None:
        """Wake the watches (call after each durable change)."""
        self._changed.set()
        self._changed = asyncio.Event()

    def close(self) -> None:
        """End every watch at its next wake-up."""
        self.closing = True
        self.notify()

    async def stream(self, web_request: web.Request, req: Request, spec: WatchSpec, store: Store) -> web.StreamResponse:
        """Answer an accepted watch with a chunked stream of events until it ends."""
        stream = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        stream.enable_chunked_encoding()
        await stream.prepare(web_request)
        try:
            await self._events(stream, req, spec, store, tables.wants_table(req.header("Accept")))
            await stream.write_eof()
        except (ConnectionError, asyncio.CancelledError):
            pass
        return stream

    async def _events(self, stream: web.StreamResponse, req: Request, spec: WatchSpec, store: Store,
                      table: bool) -> None:
        loop = asyncio.get_running_loop()
        explicit = req.query.get("resourceVersion", "") not in ("", "0")
        if explicit and spec.resource_version < self.history_floor:
            message = f"too old resource version: {spec.resource_version} ({self.history_floor})"
            expired = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                       "message": message, "reason": "Expired", "code": 410}
            await stream.write(_line({"type": "ERROR", "object": expired}))
            return
        for initial in spec.initial_events:
            await stream.write(_line(_shape(initial, spec, table)))
        seen = spec.resource_version
        deadline = loop.time() + timeout_seconds(req)
        while not self.closing:
            changed = self._changed
            batch = [e for e in store.events_since(seen, spec.resource) if spec.matches(e)]
            seen = store.revision
            for event in batch:
                await stream.write(_line(_shape(spec.event_json(event), spec, table)))
            remaining = deadline - loop.time()
            if remaining <= 0 or self.closing:
                return
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except asyncio.TimeoutError:
                return


def _shape(event: dict[str, Any], spec: WatchSpec, table: bool) -> dict[str, Any]:
    if not table:
        return event
    return event_dict(event["type"], tables.to_table(spec.resource, event["object"], datetime.now(timezone.utc)))


def _line(event: dict[str, Any]) -> bytes:
    return json.dumps(event, separators=(",", ":")).encode() + b"\n"


def timeout_seconds(req: Request) -> float:
    """Return the watch's ``timeoutSeconds`` (default: kube-apiserver's minimum request timeout)."""
    raw = req.query.get("timeoutSeconds", "")
    try:
        value = float(int(raw))
    except ValueError:
        return DEFAULT_WATCH_TIMEOUT
    return value if value > 0 else DEFAULT_WATCH_TIMEOUT
