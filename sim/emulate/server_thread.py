"""Run an ``EmulatedServer`` on its own event loop thread, for synchronous callers (tests, kubectl drivers).

Why: tests that shell out to kubectl or use the blocking ``kubernetes``
client need the server to keep serving while they block. ``ServerThread``
starts the loop in a daemon thread and returns once the server listens;
``stop`` shuts it down cleanly, ``kill`` abandons it as a crash would (no
shutdown, nothing flushed beyond what each request already made durable),
and ``call`` runs a function on the loop, where the store may be touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any, Callable, Iterator, TypeVar

from sim.emulate.server import EmulatedServer, ServeOptions

__all__ = ["ServerThread", "server_in_thread"]

T = TypeVar("T")
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0


class ServerThread:
    """Own one server and the thread its loop runs on."""

    def __init__(self, options: ServeOptions) -> None:
        self.server = EmulatedServer(options)
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._killed = False
        self._thread = threading.Thread(target=self._run, name="joinsim-serve", daemon=True)

    def start(self) -> EmulatedServer:
        """Start the loop thread and wait until the server listens; re-raise a start-up failure."""
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT):
            raise TimeoutError("joinsim serve did not start")
        if self._error is not None:
            self._thread.join(STOP_TIMEOUT)
            raise self._error
        return self.server

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn()`` on the server's loop and return its result."""
        async def run() -> T:
            return fn()
        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(STOP_TIMEOUT)

    def stop(self) -> None:
        """Shut the server down cleanly and end the thread."""
        if not self._thread.is_alive():
            return
        future = asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop)
        try:
            future.result(STOP_TIMEOUT)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(STOP_TIMEOUT)

    def kill(self) -> None:
        """Stop the loop where it stands, as a crash would; only the listener and files are closed."""
        if not self._thread.is_alive():
            return
        def crash() -> None:
            self._killed = True
            self.server.abandon()
            self.loop.call_soon(self.loop.stop)  # after the aborted connections' callbacks
        self.loop.call_soon_threadsafe(crash)
        self._thread.join(STOP_TIMEOUT)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self.server.start())
        except BaseException as exc:  # noqa: BLE001 - handed to the starting thread
            self._error = exc
            self._ready.set()
            self.loop.close()
            return
        self._ready.set()
        self.loop.run_forever()
        if not self._killed:
            self._drain()
        self.loop.close()

    def _drain(self) -> None:
        """Cancel what is left on the loop after a clean stop (finished watch handlers, timers)."""
        pending = [task for task in asyncio.all_tasks(self.loop) if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))

    def __enter__(self) -> EmulatedServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


@contextlib.contextmanager
def server_in_thread(options: ServeOptions) -> Iterator[EmulatedServer]:
    """Serve in a background thread for the body of a ``with`` block, then stop cleanly."""
    thread = ServerThread(options)
    server = thread.start()
    try:
        yield server
    finally:
        thread.stop()
