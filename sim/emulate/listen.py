"""Open listening sockets the way Go's ``net.Listen`` does, for ``joinsim serve`` and ``joinsim mitm``.

Why: both bind before they build their certificates, so the advertised
endpoint carries the real port (``--port 0``), and a bind failure reads as Go's
``listen tcp HOST:PORT: bind: address already in use``.
"""

from __future__ import annotations

import os
import socket

from sim.protocol import hostport

__all__ = ["ListenError", "advertised_host", "listen_socket", "split_host_port"]


class ListenError(OSError):
    """Fail to listen; ``str()`` is Go's text alone (no ``[Errno n]`` prefix), as the commands print it."""

    def __str__(self) -> str:
        return str(self.strerror)


def advertised_host(bind: str) -> str:
    """Return the host clients should dial: the bind address, or loopback for a wildcard bind."""
    if bind in ("", "0.0.0.0"):
        return "127.0.0.1"
    if bind == "::":
        return "[::1]"
    return f"[{bind}]" if ":" in bind else bind


def listen_socket(bind: str, port: int, backlog: int) -> socket.socket:
    """Open the listening socket (SO_REUSEADDR, as Go's net.Listen), so the actual port is known early."""
    if not 0 <= port <= 65535:
        raise ListenError(0, f"listen tcp: address {port}: invalid port")  # Go's net.Listen (ipsock.go parsePort)
    family = socket.AF_INET6 if ":" in bind else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((bind or "0.0.0.0", port))
        sock.listen(backlog)
        sock.setblocking(False)
    except OSError as err:
        sock.close()
        host = f"[{bind}]" if ":" in bind else bind
        raise ListenError(err.errno, f"listen tcp {host}:{port}: bind: {os.strerror(err.errno or 0).lower()}") from None
    return sock


def split_host_port(text: str) -> tuple[str, int]:
    """Split ``host:port`` (``[v6]:port`` too) as Go's ``net.SplitHostPort`` does; raise ValueError otherwise.

    The error texts are Go's (net/ipsock.go): ``address <a>: missing port in address`` and friends
    (``sim.protocol.hostport.split_host_port``), then ``invalid port`` for a port outside 0-65535.
    """
    host, port = hostport.split_host_port(text)
    if not (port.isascii() and port.isdigit()) or int(port) > 65535:
        raise ValueError(f"address {text}: invalid port")
    return host, int(port)
