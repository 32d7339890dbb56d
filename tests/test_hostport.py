"""Check host:port and server URL splitting against Go's net.SplitHostPort and client-go's dialing."""

from __future__ import annotations

import pytest

from sim.protocol.hostport import (
    endpoint_host, server_authority, server_endpoint, split_host_port, split_host_port_error,
)

# Addresses and the texts Go's net.SplitHostPort (go/src/net/ipsock.go) gives for them, as kubeadm prints them.
SPLIT_HOST_PORT = [
    pytest.param("10.0.0.1:6443", None, id="valid: IPv4 and port"),
    pytest.param("cp.example.test:6443", None, id="valid: name and port"),
    pytest.param("[fd00::1]:6443", None, id="valid: bracketed IPv6 and port"),
    pytest.param(":6443", None, id="valid: empty host"),
    pytest.param("host:", None, id="valid: empty port"),
    pytest.param("10.0.0.1", "address 10.0.0.1: missing port in address", id="invalid: no port"),
    pytest.param("pqrstu.abcdef1234567890", "address pqrstu.abcdef1234567890: missing port in address",
                 id="invalid: a token given as the endpoint"),
    pytest.param("", "missing port in address", id="invalid: empty (AddrError omits the empty address)"),
    pytest.param("fd00::1", "address fd00::1: too many colons in address", id="invalid: bare IPv6"),
    pytest.param("a:b:c", "address a:b:c: too many colons in address", id="invalid: two colons"),
    pytest.param("[fd00::1", "address [fd00::1: missing ']' in address", id="invalid: unclosed bracket"),
    pytest.param("[fd00::1]", "address [fd00::1]: missing port in address", id="invalid: bracketed without port"),
    pytest.param("[fd00::1]x:6443", "address [fd00::1]x:6443: missing port in address",
                 id="invalid: junk after the bracket"),
    pytest.param("[fd00::1]:80:90", "address [fd00::1]:80:90: too many colons in address",
                 id="invalid: two ports after the bracket"),
    pytest.param("[abc", "address [abc: missing port in address",
                 id="invalid: a bracket and no colon"),
    pytest.param("a[b:80", "address a[b:80: unexpected '[' in address",
                 id="invalid: a stray opening bracket"),
    pytest.param("a]b:80", "address a]b:80: unexpected ']' in address",
                 id="invalid: a stray closing bracket"),
    pytest.param("[foo]:[bar]baz", "address [foo]:[bar]baz: unexpected '[' in address",
                 id="invalid: a bracket after the bracketed host"),
    pytest.param("[foo]:[bar]:baz", "address [foo]:[bar]:baz: too many colons in address",
                 id="invalid: colons after the bracketed host"),
    pytest.param("[fd00::1]:64]43", "address [fd00::1]:64]43: unexpected ']' in address",
                 id="invalid: a bracket in the port"),
]


@pytest.mark.parametrize("address, error", SPLIT_HOST_PORT)
def test_split_host_port_error_matches_go(address: str, error: str | None) -> None:
    assert split_host_port_error(address) == error


@pytest.mark.parametrize("address, error", SPLIT_HOST_PORT)
def test_split_host_port_raises_the_same_text(address: str, error: str | None) -> None:
    if error is None:
        split_host_port(address)
    else:
        with pytest.raises(ValueError) as raised:
            split_host_port(address)
        assert str(raised.value) == error


@pytest.mark.parametrize("address, parts", [
    pytest.param("10.0.0.1:6443", ("10.0.0.1", "6443"), id="valid: IPv4 and port"),
    pytest.param("[fd00::1]:6443", ("fd00::1", "6443"), id="valid: brackets dropped from the host"),
    pytest.param(":6443", ("", "6443"), id="valid: empty host"),
    pytest.param("host:", ("host", ""), id="valid: empty port"),
    pytest.param("[]:80", ("", "80"), id="valid: empty bracketed host"),
    pytest.param("host:https", ("host", "https"), id="valid: the port is not checked"),
])
def test_split_host_port_parts(address: str, parts: tuple[str, str]) -> None:
    assert split_host_port(address) == parts


@pytest.mark.parametrize("endpoint, host", [
    pytest.param("10.0.0.1:6443", "10.0.0.1", id="valid: IPv4"),
    pytest.param("cp.example.test:6443", "cp.example.test", id="valid: name"),
    pytest.param("[fd00::1]:6443", "fd00::1", id="valid: IPv6 without brackets"),
    pytest.param("127.0.0.1:", "127.0.0.1", id="valid: empty port"),
    pytest.param("cp.example.test", "cp.example.test", id="valid: no port is all host"),
])
def test_endpoint_host(endpoint: str, host: str) -> None:
    assert endpoint_host(endpoint) == host


@pytest.mark.parametrize("server, authority, endpoint", [
    pytest.param("https://10.0.0.1:6443", "10.0.0.1:6443", "10.0.0.1:6443", id="valid: host and port"),
    pytest.param("https://cp.example.test:6443/prefix/", "cp.example.test:6443", "cp.example.test:6443",
                 id="valid: a path is dropped"),
    pytest.param("https://cp.example.test", "cp.example.test", "cp.example.test:443", id="valid: no port dials 443"),
    pytest.param("https://cp.example.test/k8s", "cp.example.test", "cp.example.test:443",
                 id="valid: no port and a path"),
    pytest.param("https://[fd00::1]:6443", "[fd00::1]:6443", "[fd00::1]:6443", id="valid: IPv6 and port"),
    pytest.param("https://[fd00::1]", "[fd00::1]", "[fd00::1]:443", id="valid: IPv6 without a port dials 443"),
    pytest.param("10.0.0.1:6443", "10.0.0.1:6443", "10.0.0.1:6443", id="valid: no scheme"),
])
def test_server_urls(server: str, authority: str, endpoint: str) -> None:
    assert (server_authority(server), server_endpoint(server)) == (authority, endpoint)
