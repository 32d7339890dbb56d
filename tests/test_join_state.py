"""Check where a join's API calls go and how their failures name the URL (sim/protocol/join_state.py)."""

from __future__ import annotations

import pytest

from sim.protocol.commands import HttpRequest, TlsConfig, TransportFailure
from sim.protocol.discovery import Discovered
from sim.protocol.errors import JoinsimError
from sim.protocol.http import Response
from sim.protocol.join_state import JoinState, api_call
from tests.workflow_support import run_workflow

REFUSED = "dial tcp 10.0.0.9:443: connect: connection refused"


def discovered(server: str) -> JoinState:
    return JoinState(discovered=Discovered(kubeconfig_text="", server=server, ca_pem=b"", pinned=True, served_by="cp"))


@pytest.mark.parametrize("server, endpoint, url", [
    pytest.param("https://10.0.0.1:6443", "10.0.0.1:6443", "https://10.0.0.1:6443/api/v1/nodes/n",
                 id="valid: the server's port"),
    pytest.param("https://cp.example.test", "cp.example.test:443", "https://cp.example.test/api/v1/nodes/n",
                 id="valid: no port dials 443, the URL stays as written"),
    pytest.param("https://[fd00::1]", "[fd00::1]:443", "https://[fd00::1]/api/v1/nodes/n",
                 id="valid: an IPv6 host without a port dials 443"),
])
def test_api_calls_dial_the_discovered_server(server: str, endpoint: str, url: str) -> None:
    def refuse(t: float, request: HttpRequest) -> Response | TransportFailure:
        assert request.endpoint == endpoint
        return TransportFailure(message=REFUSED)

    run = run_workflow(api_call(discovered(server), "GET", "/api/v1/nodes/n", tls=TlsConfig()), http=refuse)
    assert run.result == f'Get "{url}?timeout=10s": {REFUSED}'


def test_the_endpoint_needs_discovery_first() -> None:
    with pytest.raises(JoinsimError, match="discovery has not run"):
        JoinState().endpoint
