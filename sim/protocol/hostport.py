"""Split ``host:port`` addresses and API server URLs by one set of rules, with Go's texts.

Why one module: kubeadm checks a join endpoint with Go's ``net.SplitHostPort``,
client-go dials an ``https://`` server URL that names no port on 443, and the
TLS check compares the host without its IPv6 brackets. The protocol core, the
control plane and both drivers need the same answers, so they all ask here.
The simulator's own endpoint check (``sim.engine.network.split_endpoint``)
and the emulator's dial split (``sim.emulate.goerrors.split_endpoint``) add
rules of their own on top; their docstrings say why.
Upstream: go/src/net/ipsock.go (SplitHostPort), go/src/net/http/transport.go
(canonicalAddr: an https URL without a port dials 443).
"""

from __future__ import annotations

from sim.protocol.constants import HTTPS_DEFAULT_PORT

__all__ = ["endpoint_host", "server_authority", "server_endpoint", "split_host_port", "split_host_port_error"]


def split_host_port(address: str) -> tuple[str, str]:
    """Split ``host:port`` (``[v6]:port`` too) into host and port as Go's ``net.SplitHostPort`` does.

    The host loses its brackets; host and port may be empty, as in Go. A
    malformed address raises ValueError with Go's ``*net.AddrError`` text
    (``address 10.0.0.1: missing port in address``; the bare reason for an
    empty address), which kubeadm's validation prints as it is.
    """

    def fail(why: str) -> ValueError:
        return ValueError(f"address {address}: {why}" if address else why)

    last = address.rfind(":")
    if last < 0:
        raise fail("missing port in address")
    lo, hi = 0, 0
    if address.startswith("["):
        end = address.find("]")
        if end < 0:
            raise fail("missing ']' in address")
        if end + 1 == len(address):
            raise fail("missing port in address")
        if end + 1 != last:
            raise fail("too many colons in address" if address[end + 1] == ":" else "missing port in address")
        host = address[1:end]
        lo, hi = 1, end + 1
    else:
        host = address[:last]
        if ":" in host:
            raise fail("too many colons in address")
    if "[" in address[lo:]:
        raise fail("unexpected '[' in address")
    if "]" in address[hi:]:
        raise fail("unexpected ']' in address")
    return host, address[last + 1:]


def split_host_port_error(address: str) -> str | None:
    """Return Go's ``net.SplitHostPort`` error text for an address, or None if it splits (for validators)."""
    try:
        split_host_port(address)
    except ValueError as err:
        return str(err)
    return None


def endpoint_host(endpoint: str) -> str:
    """Return the host of an endpoint already accepted as ``host:port``, without IPv6 brackets.

    This is the name a TLS client checks the server certificate against and
    the host a serving certificate is made for. It never fails: callers pass
    endpoints validated earlier, and a string without a colon is all host.
    """
    return endpoint.rsplit(":", 1)[0].strip("[]")


def server_authority(server: str) -> str:
    """Return the ``host[:port]`` of an API server URL as written, for the request URLs Go's errors quote."""
    return server.split("://", 1)[-1].split("/", 1)[0]


def server_endpoint(server: str) -> str:
    """Return the ``host:port`` a client dials for an API server URL: port 443 when the URL names none.

    kubeconfig files name the server as a URL (``https://10.0.0.1:6443``);
    client-go dials an https URL without a port on 443 (``[v6]`` hosts too),
    while the URL in its error texts stays as written (``server_authority``).
    """
    authority = server_authority(server)
    return authority if ":" in authority.rsplit("]", 1)[-1] else f"{authority}:{HTTPS_DEFAULT_PORT}"
