"""Serve a small aiohttp application over TLS on 127.0.0.1:0 in a thread, for the transport's tests.

The join client's end-to-end tests use the real ``joinsim serve`` server
(``sim.emulate.server_thread``); these helpers test the transport against
servers that misbehave on purpose (wrong names, slow answers, scripted watches).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import ssl
import tempfile
import threading
from typing import Any

import pytest
from aiohttp import web

from sim.emulate import join_cli


class ThreadedApp:
    """Serve an aiohttp application over TLS on 127.0.0.1:0 in a thread (transport tests)."""

    def __init__(self, app: web.Application, context: ssl.SSLContext | None) -> None:
        self.app, self.context = app, context
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.endpoint = f"127.0.0.1:{self.port}"
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ThreadedApp:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("test server did not start")
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._serve())
        pending = [task for task in asyncio.all_tasks(self.loop) if not task.done()]
        for task in pending:
            task.cancel()
        self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self.loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        runner = web.AppRunner(self.app, handle_signals=False, shutdown_timeout=0.2)
        await runner.setup()
        await web.SockSite(runner, self.sock, ssl_context=self.context).start()
        self._ready.set()
        await self._stop.wait()
        await runner.cleanup()


def server_context(cert_pem: bytes, key_pem: bytes, client_ca_pem: bytes | None = None) -> ssl.SSLContext:
    """Return a server TLS context for a certificate, optionally asking for client certificates."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as directory:
        cert, key = os.path.join(directory, "tls.crt"), os.path.join(directory, "tls.key")
        with open(cert, "wb") as handle:
            handle.write(cert_pem)
        with open(key, "wb") as handle:
            handle.write(key_pem)
        context.load_cert_chain(cert, key)
    if client_ca_pem is not None:
        context.load_verify_locations(cadata=client_ca_pem.decode())
        context.verify_mode = ssl.CERT_OPTIONAL
    return context


class ServiceThread:
    """Run an object with ``async start()`` and ``async stop()`` (a proxy) on its own loop in a thread."""

    def __init__(self, service: Any) -> None:
        self.service = service
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> Any:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.service.start(), self.loop).result(30)
        return self.service

    def __exit__(self, *exc: Any) -> None:
        try:
            asyncio.run_coroutine_threadsafe(self.service.stop(), self.loop).result(10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
            self.loop.close()


def joinsim(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run one ``joinsim join|reset|token`` command in-process; return (exit code, stdout, stderr)."""
    parser = argparse.ArgumentParser(prog="joinsim")
    join_cli.add_parsers(parser.add_subparsers(dest="command"))
    capsys.readouterr()
    code = join_cli.run(parser.parse_args(list(argv)))
    out, err = capsys.readouterr()
    return code, out, err
