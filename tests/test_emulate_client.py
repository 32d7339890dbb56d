"""Test the asyncio driver's pieces: HTTPS transport (TLS modes, Go error texts, watches), node files, executor."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import stat
import tempfile
from datetime import datetime, timezone
from typing import Any, Iterator

import pytest
from aiohttp import web
from cryptography import x509

from sim.emulate import goerrors
from sim.emulate.client import NodeClient
from sim.emulate.nodefs import NodeFS
from sim.emulate.transport import Transport, build_url, user_agent
from sim.protocol import commands as cmd
from sim.protocol import constants as C
from sim.protocol import pki
from sim.protocol.errors import CLIENT_TIMEOUT_CONNECTING
from sim.protocol.http import Request, Response
from tests.emulate_support import ThreadedApp, server_context

NOW = datetime.now(timezone.utc)


@pytest.fixture(scope="module")
def pkis() -> dict[str, pki.CertKey]:
    ca = pki.create_ca(now=NOW, key_type="ecdsa")
    other = pki.create_ca(now=NOW, key_type="ecdsa", common_name="other-ca")
    serving = pki.create_serving_cert(ca, common_name="kube-apiserver", dns_names=["localhost"],
                                      ip_addresses=["127.0.0.1"], now=NOW, key_type="ecdsa")
    wrong_ip = pki.create_serving_cert(ca, common_name="kube-apiserver", dns_names=["kubernetes"],
                                       ip_addresses=["10.0.0.1"], now=NOW, key_type="ecdsa")
    client = pki.create_client_cert(ca, common_name="system:node:n1", organizations=["system:nodes"], now=NOW,
                                    key_type="ecdsa")
    return {"ca": ca, "other": other, "serving": serving, "wrong_ip": wrong_ip, "client": client}


async def _json(request: web.Request) -> web.Response:
    return web.json_response({"kind": "Thing", "ua": request.headers.get("User-Agent"),
                              "query": dict(request.query), "body": (await request.read()).decode()})


async def _text(request: web.Request) -> web.Response:
    return web.Response(text="ok\n", content_type="text/plain")


async def _slow(request: web.Request) -> web.Response:
    await asyncio.sleep(5)
    return web.Response(text="late")


async def _whoami(request: web.Request) -> web.Response:
    ssl_object = request.transport.get_extra_info("ssl_object") if request.transport else None
    der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    name = x509.load_der_x509_certificate(der).subject.rfc4514_string() if der else ""
    return web.json_response({"subject": name})


async def _watch(request: web.Request) -> web.StreamResponse:
    """Stream scripted events for the object named in the field selector."""
    name = request.query["fieldSelector"].split("=", 1)[1]
    stream = web.StreamResponse(headers={"Content-Type": "application/json"})
    await stream.prepare(request)
    same = {"metadata": {"name": name, "resourceVersion": request.query["resourceVersion"]}}
    changed = {"metadata": {"name": name, "resourceVersion": "99"}, "status": {"certificate": "Y2VydA=="}}
    script = {"changes": [("ADDED", same), ("MODIFIED", changed)], "deleted": [("DELETED", same)],
              "quiet": [], "bookmark": [("BOOKMARK", same)]}[name]
    for kind, obj in script:
        await stream.write(json.dumps({"type": kind, "object": obj}).encode() + b"\n")
    await asyncio.sleep(min(float(request.query["timeoutSeconds"]), 5))
    return stream


def _app() -> web.Application:
    app = web.Application()
    app.router.add_route("*", "/json", _json)
    app.router.add_get("/text", _text)
    app.router.add_get("/slow", _slow)
    app.router.add_get("/whoami", _whoami)
    app.router.add_get("/apis/x/v1/things", _watch)
    return app


@pytest.fixture(scope="module")
def server(pkis: dict[str, pki.CertKey]) -> Iterator[ThreadedApp]:
    context = server_context(pkis["serving"].cert_pem, pkis["serving"].key_pem, pkis["ca"].cert_pem)
    with ThreadedApp(_app(), context) as running:
        yield running


@pytest.fixture(scope="module")
def wrong_ip_server(pkis: dict[str, pki.CertKey]) -> Iterator[ThreadedApp]:
    with ThreadedApp(_app(), server_context(pkis["wrong_ip"].cert_pem, pkis["wrong_ip"].key_pem)) as running:
        yield running


def send(endpoint: str, request: Request, tls: cmd.TlsConfig, timeout: float = 5.0) -> cmd.HttpResult:
    async def go() -> cmd.HttpResult:
        async with Transport() as transport:
            return await transport.send(endpoint, request, tls, timeout)
    return asyncio.run(go())


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_user_agent_is_client_gos_default_for_kubeadm_v1_34() -> None:
    assert user_agent() == "kubeadm/v1.34.0 (linux/amd64) kubernetes/f28b4c9"
    assert user_agent("kubelet").startswith("kubelet/v1.34.0 ")


def test_query_is_encoded_as_go_url_values() -> None:
    url = build_url("127.0.0.1:6443", "/api/v1/namespaces/kube-system/secrets",
                    {"fieldSelector": "type=bootstrap.kubernetes.io/token"})
    assert str(url) == ("https://127.0.0.1:6443/api/v1/namespaces/kube-system/secrets"
                        "?fieldSelector=type%3Dbootstrap.kubernetes.io%2Ftoken")


@pytest.mark.parametrize("mode, expected", [
    pytest.param("insecure", None, id="valid: insecure skips verification"),
    pytest.param("right-ca", None, id="valid: chain and IP SAN verify against the given CA"),
    pytest.param("wrong-ca", "tls: failed to verify certificate: x509: certificate signed by unknown authority",
                 id="invalid: another CA"),
    pytest.param("system", "tls: failed to verify certificate: x509: certificate signed by unknown authority",
                 id="invalid: host trust store does not know the cluster CA"),
])
def test_tls_modes(server: ThreadedApp, pkis: dict[str, pki.CertKey], mode: str, expected: str | None) -> None:
    tls = {"insecure": cmd.TlsConfig(insecure=True), "right-ca": cmd.TlsConfig(ca_pem=pkis["ca"].cert_pem),
           "wrong-ca": cmd.TlsConfig(ca_pem=pkis["other"].cert_pem), "system": cmd.TlsConfig()}[mode]
    result = send(server.endpoint, Request.build("GET", "/json"), tls)
    if expected is None:
        assert isinstance(result, Response) and result.status == 200 and result.body["kind"] == "Thing"
    else:
        assert result == cmd.TransportFailure(message=expected)


def test_host_name_mismatch_names_the_certificates_ip_sans(wrong_ip_server: ThreadedApp,
                                                           pkis: dict[str, pki.CertKey]) -> None:
    result = send(wrong_ip_server.endpoint, Request.build("GET", "/json"), cmd.TlsConfig(ca_pem=pkis["ca"].cert_pem))
    assert result == cmd.TransportFailure(
        message="tls: failed to verify certificate: x509: certificate is valid for 10.0.0.1, not 127.0.0.1")


def test_connection_refused_is_gos_dial_error() -> None:
    port = closed_port()
    result = send(f"127.0.0.1:{port}", Request.build("GET", "/json"), cmd.TlsConfig(insecure=True))
    assert result == cmd.TransportFailure(message=f"dial tcp 127.0.0.1:{port}: connect: connection refused")


def test_timeout_is_client_timeout_text(server: ThreadedApp) -> None:
    result = send(server.endpoint, Request.build("GET", "/slow"), cmd.TlsConfig(insecure=True), timeout=0.3)
    assert result == cmd.TransportFailure(message=CLIENT_TIMEOUT_CONNECTING)


def test_unparsable_ca_is_refused_before_dialing() -> None:
    result = send("127.0.0.1:1", Request.build("GET", "/"), cmd.TlsConfig(ca_pem=b"not a certificate"))
    assert result == cmd.TransportFailure(message="unable to load root certificates: unable to parse bytes as PEM block")


@pytest.mark.parametrize("endpoint, message", [
    pytest.param("127.0.0.1:99999", "dial tcp: address 99999: invalid port", id="invalid: port beyond 65535"),
    pytest.param("127.0.0.1:abc", 'invalid port ":abc" after host', id="invalid: port not a number"),
    pytest.param("127.0.0.1:-1", 'invalid port ":-1" after host', id="invalid: negative port"),
])
def test_an_unusable_port_is_gos_error_before_dialing(endpoint: str, message: str) -> None:
    assert send(endpoint, Request.build("GET", "/"), cmd.TlsConfig(insecure=True)) == cmd.TransportFailure(
        message=message)


@pytest.mark.parametrize("endpoint, split", [
    pytest.param("127.0.0.1:6443", ("127.0.0.1", 6443), id="valid: host and port"),
    pytest.param("[::1]:6443", ("::1", 6443), id="valid: IPv6"),
    pytest.param("127.0.0.1:", ("127.0.0.1", 443), id="valid: an empty port is https's"),
])
def test_usable_endpoints_split_as_go_dials_them(endpoint: str, split: tuple[str, int]) -> None:
    assert goerrors.port_error(endpoint) is None and goerrors.split_endpoint(endpoint) == split


def test_request_carries_user_agent_query_and_body(server: ThreadedApp) -> None:
    request = Request.build("POST", "/json?timeout=10s", body={"a": 1})
    result = send(server.endpoint, request, cmd.TlsConfig(insecure=True))
    assert isinstance(result, Response)
    assert result.body["ua"] == user_agent() and result.body["query"] == {"timeout": "10s"}
    assert json.loads(result.body["body"]) == {"a": 1}


def test_non_json_bodies_stay_text(server: ThreadedApp) -> None:
    result = send(server.endpoint, Request.build("GET", "/text"), cmd.TlsConfig(insecure=True))
    assert isinstance(result, Response) and result.body is None and result.text == "ok\n"


def test_client_certificate_is_presented_and_its_files_removed(server: ThreadedApp, pkis: dict[str, pki.CertKey],
                                                               tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    tls = cmd.TlsConfig(ca_pem=pkis["ca"].cert_pem, client_cert_pem=pkis["client"].cert_pem,
                        client_key_pem=pkis["client"].key_pem)
    result = send(server.endpoint, Request.build("GET", "/whoami"), tls)
    assert isinstance(result, Response) and result.body == {"subject": "CN=system:node:n1,O=system:nodes"}
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("name, timeout, expected", [
    pytest.param("changes", 5.0, 200, id="modified after the resourceVersion: the new object"),
    pytest.param("deleted", 5.0, 404, id="deleted: 404"),
    pytest.param("quiet", 0.5, None, id="no event before the timeout: None"),
    pytest.param("bookmark", 0.5, None, id="bookmarks are not changes"),
])
def test_watch_reports_the_first_change(server: ThreadedApp, name: str, timeout: float, expected: int | None) -> None:
    async def go() -> Any:
        async with Transport() as transport:
            return await transport.watch(server.endpoint, Request.build("GET", f"/apis/x/v1/things/{name}"),
                                         cmd.TlsConfig(insecure=True), "7", timeout)
    result = asyncio.run(go())
    if expected is None:
        assert result is None
    else:
        assert isinstance(result, Response) and result.status == expected
    if expected == 200:
        assert result.body["metadata"]["resourceVersion"] == "99"


def test_watch_of_an_unreachable_server_is_a_transport_failure() -> None:
    port = closed_port()

    async def go() -> Any:
        async with Transport() as transport:
            return await transport.watch(f"127.0.0.1:{port}", Request.build("GET", "/apis/x/v1/things/a"),
                                         cmd.TlsConfig(insecure=True), "1", 2.0)
    assert asyncio.run(go()) == cmd.TransportFailure(message=f"dial tcp 127.0.0.1:{port}: connect: connection refused")


# --- node files ------------------------------------------------------------------------------------

def test_node_files_live_under_the_root_with_their_modes(tmp_path: Any) -> None:
    fs = NodeFS(str(tmp_path))
    fs.write(C.KUBELET_CONF_PATH, b"conf", 0o600)
    fs.write(C.DEFAULT_CA_CERT_PATH, b"ca", 0o644)
    real = tmp_path / "etc/kubernetes/kubelet.conf"
    assert real.read_bytes() == b"conf" and stat.S_IMODE(real.stat().st_mode) == 0o600
    assert fs.snapshot() == {C.KUBELET_CONF_PATH: b"conf", C.DEFAULT_CA_CERT_PATH: b"ca"}
    fs.remove(C.KUBELET_CONF_PATH)
    fs.remove(C.KUBELET_CONF_PATH)  # a missing file is fine
    assert fs.read(C.KUBELET_CONF_PATH) is None and fs.read("/etc/kubernetes") is None
    (tmp_path / "etc/kubernetes/.tmp-abc").write_bytes(b"half")
    assert list(fs.snapshot()) == [C.DEFAULT_CA_CERT_PATH]


def test_host_paths_are_read_where_they_are(tmp_path: Any) -> None:
    outside = tmp_path / "discovery.conf"
    outside.write_bytes(b"kubeconfig")
    fs = NodeFS(str(tmp_path / "root"), host_paths=[str(outside)])
    assert fs.read(str(outside)) == b"kubeconfig" and fs.read("/discovery.conf") is None


# --- the executor ----------------------------------------------------------------------------------

def _idle_kubelet() -> Any:
    """A kubelet workflow that becomes healthy and then waits (no cluster needed)."""
    yield cmd.Mark(milestone="kubelet-healthy")
    yield cmd.Mark(milestone="csr-created", attrs={"name": "csr-abc", "server": "s"})
    yield cmd.Sleep(seconds=30)


def test_port_10250_is_in_use_only_while_the_kubelet_runs(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sim.emulate.client.bootstrap", lambda config: _idle_kubelet())
    client = NodeClient(fs=NodeFS(str(tmp_path)))

    async def go() -> list[Any]:
        seen = [client.inspect().ports_in_use]
        await client.execute(cmd.WriteFile(path=C.KUBELET_CONF_PATH, data=b"x"), "kubeadm")
        await client.execute(cmd.StartKubelet(node_name="n1"), "kubeadm")
        await asyncio.sleep(0.05)
        facts = await client.execute(cmd.InspectNode(), "kubeadm")
        state = await client.execute(cmd.KubeletStatus(), "kubeadm")
        await client.execute(cmd.StopKubelet(), "kubeadm")
        return [*seen, facts.ports_in_use, facts.files, state, client.inspect().ports_in_use,
                await client.execute(cmd.KubeletStatus(), "kubeadm")]

    before, during, files, state, after, stopped = asyncio.run(go())
    assert before == frozenset() and during == frozenset({C.KUBELET_PORT}) and after == frozenset()
    assert dict(files) == {C.KUBELET_CONF_PATH: b"x"}
    assert state == cmd.KubeletState(running=True, healthy=True, csr_name="csr-abc", csr_server="s")
    assert stopped == cmd.KubeletState(running=False, healthy=False, csr_name="csr-abc", csr_server="s")


def test_logs_follow_verbosity_and_streams(tmp_path: Any) -> None:
    import io
    out, err = io.StringIO(), io.StringIO()
    client = NodeClient(fs=NodeFS(str(tmp_path)), verbosity=1, stdout=out, stderr=err)

    async def go() -> None:
        for line in (cmd.Log(text="a"), cmd.Log(text="b", verbosity=1), cmd.Log(text="c", verbosity=2),
                     cmd.Log(text="d", stream="stderr")):
            await client.execute(line, "kubeadm")
        await client.execute(cmd.Log(text="journal", stream="kubelet"), "kubelet")
    asyncio.run(go())
    assert out.getvalue() == "a\nb\n" and err.getvalue() == "d\n"
    assert ("kubelet", "kubelet", "journal") in client.logs


def test_crypto_commands_use_os_randomness(tmp_path: Any) -> None:
    client = NodeClient(fs=NodeFS(str(tmp_path)))

    async def go() -> tuple[Any, Any, Any]:
        key = await client.execute(cmd.GenerateKey(key_type="ecdsa"), "kubelet")
        other = await client.execute(cmd.GenerateKey(key_type="ecdsa"), "kubelet")
        csr = await client.execute(cmd.CreateCSR(key=key, common_name="system:node:n1",
                                                 organizations=("system:nodes",)), "kubelet")
        return key, other, csr
    key, other, csr = asyncio.run(go())
    assert key.private_numbers() != other.private_numbers()
    parsed = x509.load_pem_x509_csr(csr)
    assert parsed.is_signature_valid and parsed.subject.rfc4514_string() == "CN=system:node:n1,O=system:nodes"
