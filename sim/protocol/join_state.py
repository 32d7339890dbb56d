"""Carry what one join has learned between its phases, and make its API calls.

kubeadm's ``joinData`` caches the discovered bootstrap kubeconfig, the
cluster configuration and the clients built from them; ``JoinState`` is that
cache. ``api_call`` sends a request to the API server the node discovered,
with the identity the phase uses (the bootstrap token by default).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generator

from sim.protocol import kubeconfig
from sim.protocol.commands import Command, HttpRequest, TlsConfig
from sim.protocol.discovery import Discovered, response_error
from sim.protocol.errors import JoinsimError
from sim.protocol.hostport import server_authority, server_endpoint
from sim.protocol.http import Request, Response


@dataclass(slots=True)
class JoinState:
    """Hold the results of earlier phases for later ones."""

    discovered: Discovered | None = None
    bootstrap_kubeconfig: str = ""
    trusted_ca_pin: str = ""
    kubelet_config: str = ""
    kubelet_started: bool = False
    csr_name: str = ""
    csr_server: str = ""
    shared_files: dict[str, bytes] = field(default_factory=dict)
    """Control-plane joins: the certificates downloaded from kubeadm-certs, by file name."""
    admin_tls: TlsConfig | None = None
    """Control-plane joins: the admin identity built from the downloaded CA."""

    @property
    def server(self) -> str:
        """Return the URL of the API server named in cluster-info."""
        if self.discovered is None:
            raise JoinsimError("discovery has not run")
        return self.discovered.server

    @property
    def endpoint(self) -> str:
        """Return the ``host:port`` to dial for that API server (443 when its URL names no port, as client-go)."""
        return server_endpoint(self.server)

    def bootstrap_identity(self) -> tuple[TlsConfig, str | None]:
        """Return the TLS settings and bearer token of bootstrap-kubelet.conf."""
        config = kubeconfig.load(self.bootstrap_kubeconfig)
        cluster = config.current_cluster()
        user = config.current_user()
        return TlsConfig(ca_pem=cluster.ca_data), (user.token if user is not None else None)


def api_call(
    state: JoinState, method: str, path: str, *, body: Any = None, tls: TlsConfig | None = None,
    content_type: str = "application/json", purpose: str = "",
) -> Generator[Command, Any, Response | str]:
    """Send one request to the discovered API server; return the response or a transport error text.

    Without ``tls`` the request carries the bootstrap token, as kubeadm's
    TLS-bootstrap client does.
    """
    bearer: str | None = None
    if tls is None:
        tls, bearer = state.bootstrap_identity()
    target = path + ("&" if "?" in path else "?") + "timeout=10s"
    request = Request.build(method, target, body=body, bearer=bearer, content_type=content_type)
    result = yield HttpRequest(endpoint=state.endpoint, request=request, tls=tls, purpose=purpose or path)
    if isinstance(result, Response):
        return result
    return response_error(method, f"https://{server_authority(state.server)}{target}", result)


def api_get(state: JoinState, path: str) -> Generator[Command, Any, dict[str, Any] | str]:
    """GET an object with the bootstrap identity; return its body or client-go's error text."""
    result = yield from api_call(state, "GET", path)
    if isinstance(result, str):
        return result
    if not result.ok:
        return response_error("GET", path, result)
    return dict(result.body) if isinstance(result.body, dict) else {}
