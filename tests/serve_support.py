"""Start ``joinsim serve`` servers for tests and talk to them over HTTPS with the standard library.

Servers bind 127.0.0.1 on an ephemeral port, use ECDSA keys (fast) and no
token cache (so a deleted token fails at once); every request has a timeout.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import ssl
import tempfile
from pathlib import Path
from typing import Any, Iterator, Mapping

from cryptography.hazmat.primitives.asymmetric import ec

from sim.emulate.server import EmulatedServer, ServeOptions
from sim.emulate.server_thread import ServerThread
from sim.protocol import constants as C
from sim.protocol import kubeconfig, pki

TIMEOUT = 10.0
CSR_PATH = "/apis/certificates.k8s.io/v1/certificatesigningrequests"


def options(directory: Path | str, **overrides: Any) -> ServeOptions:
    """Return test options: loopback, port 0, ECDSA, no token cache."""
    values: dict[str, Any] = {"dir": str(directory), "port": 0, "ca_key_type": "ecdsa", "token_cache_ttl": 0.0}
    values.update(overrides)
    return ServeOptions(**values)


class HttpsClient:
    """Talk to one server over HTTPS: anonymously, with a bearer token, or with admin.conf's client certificate."""

    def __init__(self, endpoint: str, ca_file: str, admin_conf: str | None) -> None:
        self.endpoint, self.ca_file = endpoint, ca_file
        self._dir = tempfile.mkdtemp(prefix="joinsim-test-tls-")
        self.anonymous = self._context()
        self.admin = self._context(admin_conf) if admin_conf else self.anonymous

    @property
    def host_port(self) -> tuple[str, int]:
        host, port = self.endpoint.rsplit(":", 1)
        return host, int(port)

    def _context(self, kubeconfig_path: str | None = None) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.ca_file)
        if kubeconfig_path is not None:
            user = kubeconfig.load(Path(kubeconfig_path).read_bytes()).current_user()
            assert user is not None
            cert, key = os.path.join(self._dir, "c.crt"), os.path.join(self._dir, "c.key")
            Path(cert).write_bytes(user.client_cert_data)
            Path(key).write_bytes(user.client_key_data)
            context.load_cert_chain(cert, key)
        return context

    def context_for(self, kubeconfig_path: str) -> ssl.SSLContext:
        """Return a TLS context presenting the client certificate of a kubeconfig."""
        return self._context(kubeconfig_path)

    def connection(self, *, admin: bool = False, context: ssl.SSLContext | None = None,
                   timeout: float = TIMEOUT) -> http.client.HTTPSConnection:
        host, port = self.host_port
        return http.client.HTTPSConnection(host, port, timeout=timeout,
                                           context=context or (self.admin if admin else self.anonymous))

    def request(self, method: str, path: str, body: Any = None, *, admin: bool = False, token: str | None = None,
                headers: Mapping[str, str] | None = None, raw: bytes | None = None,
                context: ssl.SSLContext | None = None) -> tuple[int, Any]:
        """Send one request; return the status and the decoded JSON body (text when it is not JSON)."""
        sent = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            sent.setdefault("Content-Type", "application/json")
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        conn = self.connection(admin=admin, context=context)
        try:
            conn.request(method, path, body=data, headers=sent)
            response = conn.getresponse()
            payload = response.read()
        finally:
            conn.close()
        try:
            return response.status, json.loads(payload)
        except ValueError:
            return response.status, payload.decode(errors="replace")


class Served(HttpsClient):
    """Hold a server running in a thread of this process, with the HTTPS helpers."""

    def __init__(self, thread: ServerThread) -> None:
        self.thread = thread
        self.server: EmulatedServer = thread.server
        super().__init__(self.server.endpoint, self.server.pki.ca_file(), self.server.admin_conf)

    def call(self, fn: Any) -> Any:
        """Run ``fn()`` on the server's loop."""
        return self.thread.call(fn)


def serve(directory: Path | str, **overrides: Any) -> Iterator[Served]:
    """Run a server for the duration of a fixture; stop it cleanly afterwards."""
    thread = ServerThread(options(directory, **overrides))
    thread.start()
    try:
        yield Served(thread)
    finally:
        thread.stop()


def csr_object(name: str, node: str = "worker", *, signer: str = C.KUBE_APISERVER_CLIENT_KUBELET_SIGNER,
               usages: tuple[str, ...] = ("digital signature", "client auth")) -> dict[str, Any]:
    """Return a kubelet-client CSR object for ``system:node:<node>`` with a fresh ECDSA key."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = pki.build_csr(key, common_name=f"system:node:{node}", organizations=["system:nodes"])
    return {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
            "metadata": {"name": name},
            "spec": {"request": base64.b64encode(pem).decode(), "signerName": signer, "usages": list(usages)}}


def token_secret(token: str, *, expiration: str | None = None) -> dict[str, Any]:
    """Return a bootstrap-token Secret for ``token`` (signing and authentication usages, kubeadm's group)."""
    token_id, secret = token.split(".")
    data = {"token-id": token_id, "token-secret": secret, "usage-bootstrap-authentication": "true",
            "usage-bootstrap-signing": "true", "auth-extra-groups": "system:bootstrappers:kubeadm:default-node-token"}
    if expiration is not None:
        data["expiration"] = expiration
    return {"apiVersion": "v1", "kind": "Secret", "type": "bootstrap.kubernetes.io/token",
            "metadata": {"name": f"bootstrap-token-{token_id}", "namespace": "kube-system"},
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}}
