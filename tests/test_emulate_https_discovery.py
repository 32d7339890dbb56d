"""Join with ``--discovery-file https://...``: the kubeconfig is fetched trusting only the host's root store.

Upstream: cmd/kubeadm/app/discovery/https/https.go (a plain HTTP client, the
system roots, no pinning), then the file-discovery checks of file.go. The host
store is OpenSSL's, so ``SSL_CERT_FILE`` decides what the host trusts.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import pytest
from aiohttp import web

from sim.protocol import kubeconfig, pki
from sim.protocol.join import STACK_TRACE_HINT, WORKER_SUCCESS
from tests.emulate_support import ThreadedApp, joinsim, server_context
from tests.serve_support import Served, serve

WEB_CA = pki.create_ca(now=datetime.now(timezone.utc), key_type="ecdsa", common_name="joinsim test web CA")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from serve(tmp_path_factory.mktemp("https-discovery"))


@pytest.fixture()
def web_server(cluster: Served) -> Iterator[ThreadedApp]:
    """Serve the cluster's discovery kubeconfig at /discovery.conf from a web server with its own CA."""
    text = kubeconfig.cluster_info_kubeconfig(cluster.server.url, cluster.server.plane.ca.cert_pem)

    async def discovery(_: web.Request) -> web.Response:
        return web.Response(text=text)
    app = web.Application()
    app.router.add_get("/discovery.conf", discovery)
    serving = pki.create_serving_cert(WEB_CA, common_name="web", dns_names=["localhost"], ip_addresses=["127.0.0.1"],
                                      now=datetime.now(timezone.utc), key_type="ecdsa")
    with ThreadedApp(app, server_context(serving.cert_pem, serving.key_pem)) as running:
        yield running


@pytest.mark.parametrize("trusted, path, error", [
    pytest.param(True, "/discovery.conf", "", id="valid: the host trusts the web server"),
    pytest.param(False, "/discovery.conf", 'Get "{url}": tls: failed to verify certificate: x509: certificate signed '
                                           "by unknown authority", id="invalid: the host does not trust it"),
    pytest.param(True, "/missing.conf", "error trying to fetch discovery kubeconfig over HTTPS from {url}, received "
                                        "status 404", id="invalid: not found"),
])
def test_https_discovery_trusts_the_host_store(cluster: Served, web_server: ThreadedApp, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                               trusted: bool, path: str, error: str) -> None:
    roots = tmp_path / "roots.pem"
    roots.write_bytes(WEB_CA.cert_pem if trusted else pki.create_ca(now=datetime.now(timezone.utc),
                                                                    key_type="ecdsa").cert_pem)
    monkeypatch.setenv("SSL_CERT_FILE", str(roots))
    url = f"https://{web_server.endpoint}{path}"
    code, out, err = joinsim(capsys, "join", "--discovery-file", url, "--token", cluster.server.token,
                             "--root", str(tmp_path / "root"), "--node-name", f"https-{int(trusted)}-{path[1:8]}")
    if not error:
        assert (code, err) == (0, ""), err
        assert out.endswith(WORKER_SUCCESS + "\n")
        return
    assert code == 1
    assert err == (f"error execution phase preflight: couldn't validate the identity of the API Server: "
                   f"{error.format(url=url)}\n{STACK_TRACE_HINT}\n")
