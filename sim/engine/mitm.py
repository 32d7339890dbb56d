"""Sit between a group of nodes and the API server as a TLS-terminating proxy with a CA of its own.

How this works (the man-in-the-middle model): the network diverts the
victims' connections to the API endpoint to the attacker's host
(``network.Interception``); the attacker presents a serving certificate for
the endpoint, issued by its own CA, and forwards each request to the real
API server over its own, undiverted connection, with the bearer token the
victim sent (it sees it: it terminates TLS). Token discovery is where it
strikes. It answers the victims' cluster-info fetch with the real
ConfigMap whose kubeconfig now names its CA. Knowing the victims' token, it
re-signs that kubeconfig (the JWS is keyed by the token secret), so an
unpinned node trusts the attacker's CA, while a pinned node rejects it
(``none of the public keys ... are pinned``); not knowing it, it replays
the real signatures, which no longer match (``failed to verify JWS
signature``).

A node that trusts the attacker's CA hands it its CSR. The attacker swaps
it: it posts a CSR of its own key for the same subject with the victim's
token, so the real cluster approves and signs a client certificate the
attacker holds (``identities``); to the victim it shows its own CSR, and
instead of the cluster's certificate one for the victim's key signed by the
attacker's CA. The victim stores it and, from then on, authenticates to the
attacker, which forwards those requests as the victim with the stolen
certificate: the victim joins, and the cluster sees a Node the attacker can
impersonate. A client certificate the attacker did not issue gives no
identity upstream. When upstream fails, the attacker drops the victim's
connection (``EOF``). The attacker's own CPU time is not modelled.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generator

import simpy

from sim import tlsmodel
from sim.control.requestinfo import parse_request_info
from sim.crypto import Crypto
from sim.engine.apiserver import SimApiServer
from sim.engine.client import HttpClient
from sim.engine.network import Network
from sim.engine.world import World
from sim.protocol import commands as cmd
from sim.protocol import constants as C
from sim.protocol import jws, keys, kubeconfig, modeled, pins, pki, tokens
from sim.protocol.commands import HttpResult, TlsConfig, TransportFailure
from sim.protocol.csr import csr_request_pem, subject_fields
from sim.protocol.hostport import endpoint_host
from sim.protocol.http import Request, Response

__all__ = ["PROXY_CLOSED", "Mitm"]

PROXY_CLOSED = "EOF"
"""Go's error when the peer closes the connection before answering (io.EOF)."""


@dataclass(slots=True)
class _Swap:
    """Remember one swapped CSR: the victim's request, the attacker's key, and the forged certificate."""

    common_name: str
    victim_request: str
    """The victim's ``spec.request`` (base64), shown back to it."""
    victim_csr: Any
    """The victim's parsed request (``pki.parse_csr_pem``), to sign with the attacker's CA."""
    key_pem: bytes
    usages: tuple[str, ...]
    forged_cert: bytes = b""


class Mitm:
    """Answer intercepted connections (module docstring); implements ``client.Interceptor``."""

    def __init__(self, world: World, network: Network, server: SimApiServer, *, name: str, token: str | None,
                 crypto: Crypto, key_type: str = "ecdsa") -> None:
        self.world = world
        self.env = world.env
        self.host = self.name = name
        self.token = token
        self.crypto = crypto
        self.rng = world.stream(f"attacker/{name}")
        now = world.now()
        self.ca = pki.create_ca(now=now, rng=self.rng, key_type=key_type)
        host = endpoint_host(server.plane.endpoint)
        ip = all(part.isdigit() for part in host.split(".")) or ":" in host
        self.serving = pki.create_serving_cert(
            self.ca, common_name="kube-apiserver", dns_names=["kubernetes", "localhost"] + ([] if ip else [host]),
            ip_addresses=["127.0.0.1"] + ([host] if ip else []), now=now, rng=self.rng, key_type=key_type)
        self.ca_pin = pins.certificate_pin(self.ca.cert)
        self.upstream = HttpClient(world, network, server, source=name, group=name,
                                   rng=world.stream(f"attacker/{name}/net"))
        self.intercepted = 0
        self.victims: list[str] = []
        self.csrs_created = 0
        self.csrs_failed = 0
        self.stolen: dict[str, tuple[bytes, bytes]] = {}
        """Identities the cluster's CA certified for the attacker's keys: user -> (cert PEM, key PEM)."""
        self.error = ""
        self._swaps: dict[str, _Swap] = {}

    # --- the handshake ------------------------------------------------------------------------------

    def tls_failure(self, tls: TlsConfig, endpoint: str, now: datetime) -> TransportFailure | None:
        """Return the victim's error for the attacker's certificate (none if it skips verification)."""
        return tlsmodel.serving_failure(self.serving.cert, tls, endpoint, now)

    def identify(self, tls: TlsConfig, now: datetime) -> tlsmodel.ClientIdentity:
        """Accept any client certificate; one the attacker's CA issued names the victim."""
        if not tls.client_cert_pem:
            return tlsmodel.ClientIdentity()
        identity = tlsmodel.certificate_identity(self.ca, tls.client_cert_pem, now)
        return tlsmodel.ClientIdentity() if identity.rejected else identity

    # --- requests -----------------------------------------------------------------------------------

    def serve(self, request: Request, endpoint: str, source: str,
              deadline: float) -> Generator[simpy.Event, Any, HttpResult]:
        """Answer one diverted request: forge cluster-info, swap CSRs, forward the rest."""
        self.intercepted += 1
        info = parse_request_info(request.method, request.path, request.query)
        if info.verb == "create" and info.resource == C.CSR_RESOURCE:
            return (yield from self._swap_csr(request, endpoint, deadline))
        result = yield from self._forward(request, endpoint, deadline)
        if isinstance(result, TransportFailure):
            return result
        if (info.resource, info.namespace, info.name) == ("configmaps", C.CLUSTER_INFO_NAMESPACE,
                                                           C.CLUSTER_INFO_NAME):
            return self._forge_cluster_info(result)
        return self.relay(result)

    def _forward(self, request: Request, endpoint: str,
                 deadline: float) -> Generator[simpy.Event, Any, HttpResult]:
        """Send the request on to the real server, as the victim when the attacker holds its certificate."""
        remaining = deadline - float(self.env.now)
        if remaining <= 0:
            return TransportFailure(message=PROXY_CLOSED)
        tls = TlsConfig(insecure=True)
        if request.client is not None and request.client.common_name in self.stolen:
            cert_pem, key_pem = self.stolen[request.client.common_name]
            tls = TlsConfig(insecure=True, client_cert_pem=cert_pem, client_key_pem=key_pem)
        upstream = cmd.HttpRequest(endpoint=endpoint, request=dataclasses.replace(request, client=None), tls=tls,
                                   timeout=remaining, purpose="mitm-forward")
        result = yield from self.upstream.request(upstream)
        if isinstance(result, TransportFailure):
            self.error = result.message
            return TransportFailure(message=PROXY_CLOSED)
        return result

    def _forge_cluster_info(self, response: Response) -> Response:
        """Put the attacker's CA into cluster-info; re-sign it if the token is known, else replay the JWS."""
        body = response.body
        data = dict(body.get("data") or {}) if response.ok and isinstance(body, dict) else {}
        content = str(data.get(C.CLUSTER_INFO_KUBECONFIG_KEY, ""))
        try:
            server = kubeconfig.load(content).current_cluster().server
        except ValueError:
            return dataclasses.replace(response, server=self.name)
        forged = kubeconfig.cluster_info_kubeconfig(server, self.ca.cert_pem)
        data[C.CLUSTER_INFO_KUBECONFIG_KEY] = forged
        if self.token is not None:
            token_id, secret = tokens.parse_token(self.token)
            data[C.JWS_SIGNATURE_KEY_PREFIX + token_id] = jws.compute_detached_signature(forged, token_id, secret)
        return dataclasses.replace(response, body=dict(body, data=data), server=self.name)

    def _swap_csr(self, request: Request, endpoint: str,
                  deadline: float) -> Generator[simpy.Event, Any, HttpResult]:
        """Post a CSR of the attacker's own key in place of the victim's (module docstring)."""
        try:
            body = json.loads(request.body)
            victim_csr = pki.parse_csr_pem(csr_request_pem(body))
        except (ValueError, AttributeError):
            return (yield from self._forward(request, endpoint, deadline))
        spec = dict(body.get("spec") or {})
        common_name, organizations = subject_fields(victim_csr)
        self.victims.append(common_name.removeprefix(C.NODE_USER_PREFIX))
        key = self.crypto.run(cmd.GenerateKey(key_type="ecdsa"), self.world.now(), self.rng)
        own_pem: bytes = self.crypto.run(cmd.CreateCSR(key=key, common_name=common_name,
                                                       organizations=organizations), self.world.now(), self.rng)
        key_pem = key.pem() if isinstance(key, modeled.ModeledKey) else keys.private_key_pem(key)
        forged = dict(body, spec=dict(spec, request=base64.b64encode(own_pem).decode()))
        raw = json.dumps(forged, separators=(",", ":"), sort_keys=True).encode()
        result = yield from self._forward(dataclasses.replace(request, body=raw), endpoint, deadline)
        if isinstance(result, TransportFailure) or not result.ok or not isinstance(result.body, dict):
            self.csrs_failed += 1
            if isinstance(result, Response):
                self.error = str((result.body or {}).get("message", "")) if isinstance(result.body, dict) else ""
            return result if isinstance(result, TransportFailure) else dataclasses.replace(result, server=self.name)
        self.csrs_created += 1
        name = str(result.body["metadata"]["name"])
        self._swaps[name] = _Swap(common_name=common_name, victim_request=str(spec.get("request", "")),
                                  victim_csr=victim_csr, key_pem=key_pem,
                                  usages=tuple(str(u) for u in spec.get("usages") or ()))
        return self.relay(result)

    def relay(self, response: Response) -> Response:
        """Pass a response to the victim: a swapped CSR shows the victim's request and the forged certificate."""
        body = response.body
        if not isinstance(body, dict) or body.get("kind") != "CertificateSigningRequest":
            return dataclasses.replace(response, server=self.name)
        swap = self._swaps.get(str((body.get("metadata") or {}).get("name", "")))
        if swap is None:
            return dataclasses.replace(response, server=self.name)
        shown = dict(body, spec=dict(body.get("spec") or {}, request=swap.victim_request))
        status = dict(body.get("status") or {})
        issued = status.get("certificate")
        if issued:
            self.stolen[swap.common_name] = (base64.b64decode(issued), swap.key_pem)
            if not swap.forged_cert:
                cert = pki.sign_csr(self.ca, swap.victim_csr, usages=swap.usages, now=self.world.now(), rng=self.rng)
                swap.forged_cert = pki.cert_pem(cert)
            status["certificate"] = base64.b64encode(swap.forged_cert).decode()
            shown["status"] = status
        return dataclasses.replace(response, body=shown, server=self.name)
