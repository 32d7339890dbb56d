"""Test ``joinsim serve``'s HTTPS server: start-up, TLS identities, robustness, watches, tables, controllers, CLI."""

from __future__ import annotations

import argparse
import asyncio
import base64
import http.client
import io
import json
import socket
import ssl
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from sim.emulate import join_cli, serve_cli
from sim.emulate.server import EmulatedServer, running_server
from sim.emulate.server_thread import ServerThread
from sim.emulate.state import StateLocked
from sim.protocol import constants as C
from sim.protocol import kubeconfig, pins, pki, tokens
from sim.protocol.join import WORKER_SUCCESS
from sim.protocol.objects import format_time
from tests.serve_support import CSR_PATH, Served, csr_object, options, serve, token_secret

MIB = 1024 * 1024


@pytest.fixture()
def served(tmp_path: Path) -> Iterator[Served]:
    yield from serve(tmp_path / "cluster")


# --- start-up ---------------------------------------------------------------------------------

def test_first_start_writes_the_pki_and_an_admin_conf_for_the_real_port(served: Served) -> None:
    server = served.server
    host, port = served.host_port
    assert (host, server.url) == ("127.0.0.1", f"https://127.0.0.1:{port}") and port != 0
    assert tokens.is_valid_bootstrap_token(server.token)
    ca = x509.load_pem_x509_certificate(Path(server.pki.ca_file()).read_bytes())
    assert server.ca_pin == pins.certificate_pin(ca)

    conf = kubeconfig.load(Path(server.admin_conf).read_bytes())
    assert conf.current_cluster().server == server.url
    user = conf.current_user()
    assert user is not None
    admin = x509.load_pem_x509_certificate(user.client_cert_data)
    assert [a.value for a in admin.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == \
        [C.KUBEADM_CLUSTER_ADMINS]

    serving = x509.load_pem_x509_certificate(Path(server.pki.serving_files()[0]).read_bytes())
    sans = serving.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in sans.get_values_for_type(x509.DNSName)
    assert {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)} >= {"127.0.0.1"}
    assert server.init_lines and server.notes == []


@pytest.mark.parametrize("kubeconfig_name, groups", [
    ("admin.conf", C.KUBEADM_CLUSTER_ADMINS),
    ("super-admin.conf", C.MASTERS_GROUP),
], ids=["valid: admin.conf (kubeadm:cluster-admins)", "valid: super-admin.conf (system:masters)"])
def test_admin_kubeconfigs_authenticate_with_their_client_certificates(served: Served, kubeconfig_name: str,
                                                                       groups: str) -> None:
    context = served.context_for(str(Path(served.server.pki.root) / kubeconfig_name))
    code, body = served.request("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                                {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
                                context=context)
    assert code == 201 and groups in body["status"]["userInfo"]["groups"]
    assert served.request("GET", "/api/v1/namespaces/kube-system/secrets", context=context)[0] == 200


def test_a_client_certificate_from_another_ca_fails_the_handshake(served: Served, tmp_path: Path) -> None:
    now = datetime.now(timezone.utc)
    other = pki.create_ca(now=now, key_type="ecdsa", common_name="other")
    client = pki.create_client_cert(other, common_name="mallory", organizations=["system:masters"], now=now,
                                    key_type="ecdsa")
    (tmp_path / "c.crt").write_bytes(client.cert_pem)
    (tmp_path / "c.key").write_bytes(client.key_pem)
    context = ssl.create_default_context(cafile=served.server.pki.ca_file())
    context.load_cert_chain(tmp_path / "c.crt", tmp_path / "c.key")
    with pytest.raises((ssl.SSLError, ConnectionError)):
        served.request("GET", "/api/v1/namespaces/kube-system/secrets", context=context)


def test_a_second_server_on_the_same_directory_is_refused(served: Served) -> None:
    async def second() -> None:
        async with running_server(options(served.server.pki.root)):
            pass
    with pytest.raises(StateLocked, match="in use by another joinsim serve"):
        asyncio.run(second())


def test_a_port_in_use_is_gos_listen_error(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        with pytest.raises(OSError) as refused:
            asyncio.run(EmulatedServer(options(tmp_path, port=port)).start())
    assert str(refused.value) == f"listen tcp 127.0.0.1:{port}: bind: address already in use"


def test_a_port_out_of_range_is_gos_listen_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert serve_cli.run(serve_args("--dir", str(tmp_path), "--port", "99999")) == 1
    assert capsys.readouterr().err.startswith("listen tcp: address 99999: invalid port\n")


# --- robustness -----------------------------------------------------------------------------

CM_PATH = "/api/v1/namespaces/default/configmaps"


@pytest.mark.parametrize("method, path, raw, content_type, code, reason", [
    ("POST", CM_PATH, b"{", "application/json", 400, "BadRequest"),
    ("POST", CM_PATH, b"{}", "text/plain", 415, "UnsupportedMediaType"),
    ("POST", CM_PATH, b"\x00\x01", "application/vnd.kubernetes.protobuf", 415, "UnsupportedMediaType"),
    ("GET", "/no/such/path", None, None, 404, "NotFound"),
    ("PROPFIND", "/api/v1/nodes", None, None, 405, "MethodNotAllowed"),
    ("DELETE", "/api/v1/namespaces/default/configmaps/none", None, None, 404, "NotFound"),
], ids=["invalid: malformed JSON", "invalid: wrong content type", "invalid: protobuf of an unknown kind",
        "invalid: unknown path", "invalid: unknown method", "invalid: delete of a missing object"])
def test_bad_requests_get_the_control_planes_status_never_a_500(
        served: Served, method: str, path: str, raw: bytes | None, content_type: str | None, code: int,
        reason: str) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    status, body = served.request(method, path, raw=raw, headers=headers, admin=True)
    assert (status, body["kind"], body["reason"], body["code"]) == (code, "Status", reason, code)


def test_a_method_http_does_not_know_is_a_400_from_the_http_layer_and_serving_goes_on(served: Served) -> None:
    """aiohttp's parser (llhttp) only accepts registered HTTP methods; Go's accepts any token (modelled gap)."""
    status, body = served.request("FROB", "/api/v1/nodes", admin=True)
    assert status == 400 and "Invalid method" in body
    assert served.request("GET", "/version")[0] == 200


def test_an_invalid_csr_pem_is_422(served: Served) -> None:
    csr = csr_object("bad")
    csr["spec"]["request"] = base64.b64encode(b"not a pem").decode()
    status, body = served.request("POST", CSR_PATH, csr, token=served.server.token)
    assert (status, body["reason"]) == (422, "Invalid")


def test_a_body_over_3_mib_is_413_without_reading_the_rest(served: Served) -> None:
    """Announce 100 MiB, send 3 MiB + 1 byte: the server answers 413 at once and closes the connection."""
    host, port = served.host_port
    head = (f"POST {CM_PATH} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {100 * MIB}\r\n\r\n").encode()
    started = time.monotonic()
    with socket.create_connection((host, port), timeout=10) as raw:
        with served.admin.wrap_socket(raw, server_hostname=host) as tls:
            tls.sendall(head + b" " * (C.MAX_REQUEST_BODY_BYTES + 1))
            reply = b""
            while chunk := tls.recv(65536):
                reply += chunk
    status_line, _, rest = reply.partition(b"\r\n")
    body = json.loads(rest.split(b"\r\n\r\n", 1)[1])
    assert status_line == b"HTTP/1.1 413 Request Entity Too Large"
    assert (body["reason"], body["message"]) == ("RequestEntityTooLarge",
                                                 f"Request entity too large: limit is {C.MAX_REQUEST_BODY_BYTES}")
    assert time.monotonic() - started < 5


def test_an_oversized_anonymous_write_is_still_forbidden_first(served: Served) -> None:
    status, body = served.request("POST", CM_PATH, raw=b" " * (C.MAX_REQUEST_BODY_BYTES + 10),
                                  headers={"Content-Type": "application/json"})
    assert (status, body["reason"]) == (403, "Forbidden")


def test_200_concurrent_clients_are_all_served(served: Served) -> None:
    context = ssl.create_default_context(cafile=served.server.pki.ca_file())
    url = served.server.url

    async def client(session_index: int) -> list[int]:
        connector = aiohttp.TCPConnector(ssl=context, limit=1)
        async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:
            codes = []
            for path in ("/version", "/api/v1/namespaces/kube-public/configmaps/cluster-info", "/healthz"):
                async with session.get(url + path) as response:
                    await response.read()
                    codes.append(response.status)
            return codes

    async def main() -> list[list[int]]:
        return await asyncio.gather(*(client(i) for i in range(200)))
    results = asyncio.run(main())
    assert results == [[200, 200, 200]] * 200


# --- watches ----------------------------------------------------------------------------------

class WatchReader:
    """Read a watch stream's JSON lines in a thread, so the test can act while it runs."""

    def __init__(self, served: Served, path: str) -> None:
        self.conn = served.connection(admin=True, timeout=15)
        self.conn.request("GET", path)
        self.response = self.conn.getresponse()
        self.events: list[dict[str, Any]] = []
        self.ended = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            while line := self.response.readline():
                self.events.append(json.loads(line))
        except (OSError, http.client.HTTPException, ValueError, AttributeError):
            pass  # closed under the reader (http.client drops its file object on close)
        self.ended.set()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.events) < count and time.monotonic() < deadline and not self.ended.is_set():
            time.sleep(0.02)
        return self.events

    def close(self) -> None:
        if self.conn.sock is not None:
            try:
                self.conn.sock.shutdown(socket.SHUT_RDWR)  # unblocks the reader
            except OSError:
                pass
        self.conn.close()
        self._thread.join(5)


def test_a_watch_streams_the_csr_from_creation_to_certificate(served: Served) -> None:
    code, listing = served.request("GET", CSR_PATH, admin=True)
    rv = listing["metadata"]["resourceVersion"]
    reader = WatchReader(served, f"{CSR_PATH}?watch=true&resourceVersion={rv}&timeoutSeconds=10")
    try:
        assert reader.response.status == 200 and reader.response.getheader("Content-Type") == "application/json"
        assert reader.response.getheader("Transfer-Encoding") == "chunked"
        assert served.request("POST", CSR_PATH, csr_object("w1"), token=served.server.token)[0] == 201
        events = reader.wait_for(3)
    finally:
        reader.close()
    assert [e["type"] for e in events[:3]] == ["ADDED", "MODIFIED", "MODIFIED"]
    assert all(e["object"]["metadata"]["name"] == "w1" for e in events)
    assert events[2]["object"]["status"]["certificate"]


def test_a_watch_without_resource_version_starts_with_the_current_objects(served: Served) -> None:
    reader = WatchReader(served, "/api/v1/namespaces/kube-public/configmaps?watch=1&timeoutSeconds=1")
    try:
        assert reader.ended.wait(5)
    finally:
        reader.close()
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in reader.events] == [("ADDED", "cluster-info")]


def test_a_watch_ends_after_timeout_seconds(served: Served) -> None:
    started = time.monotonic()
    reader = WatchReader(served, f"{CSR_PATH}?watch=true&resourceVersion=1&timeoutSeconds=1")
    try:
        assert reader.ended.wait(5)
    finally:
        reader.close()
    assert 0.9 <= time.monotonic() - started < 4


def test_a_forbidden_watch_is_a_403_status(served: Served) -> None:
    status, body = served.request("GET", f"{CSR_PATH}?watch=true")
    assert (status, body["reason"]) == (403, "Forbidden")
    assert 'User "system:anonymous" cannot watch resource "certificatesigningrequests"' in body["message"]


def test_shutdown_ends_open_watches_cleanly(tmp_path: Path) -> None:
    gen = serve(tmp_path)
    served = next(gen)
    reader = WatchReader(served, f"{CSR_PATH}?watch=true&resourceVersion=1&timeoutSeconds=60")
    started = time.monotonic()
    try:
        time.sleep(0.2)
        with pytest.raises(StopIteration):
            next(gen)
        assert reader.ended.wait(5)
    finally:
        reader.close()
    assert time.monotonic() - started < 5


# --- server-side printing -----------------------------------------------------------------------

TABLE = ("application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,"
         "application/json")


def test_lists_and_objects_are_tables_when_kubectl_asks(served: Served) -> None:
    assert served.request("POST", CSR_PATH, csr_object("w2"), token=served.server.token)[0] == 201
    status, table = served.request("GET", CSR_PATH, admin=True, headers={"Accept": TABLE})
    assert (status, table["kind"], table["apiVersion"]) == (200, "Table", "meta.k8s.io/v1")
    assert [c["name"] for c in table["columnDefinitions"]] == \
        ["Name", "Age", "SignerName", "Requestor", "RequestedDuration", "Condition"]
    (row,) = table["rows"]
    assert row["cells"][0] == "w2" and row["cells"][3].startswith("system:bootstrap:")
    assert row["cells"][5] in ("Pending", "Approved", "Approved,Issued")
    assert row["object"]["kind"] == "PartialObjectMetadata"

    status, one = served.request("GET", "/api/v1/nodes/control-plane?includeObject=Object", admin=True,
                                 headers={"Accept": TABLE})
    assert one["rows"][0]["cells"][:3] == ["control-plane", "Ready", "control-plane"]
    assert one["rows"][0]["object"]["kind"] == "Node"


def test_errors_stay_status_objects_when_a_table_is_asked_for(served: Served) -> None:
    status, body = served.request("GET", "/api/v1/namespaces/kube-system/secrets", headers={"Accept": TABLE})
    assert (status, body["kind"]) == (403, "Status")


# --- controllers on real time, and a whole join -------------------------------------------------

def test_the_token_cleaner_deletes_an_expired_token_on_time(served: Served) -> None:
    expires = format_time(datetime.now(timezone.utc) + timedelta(seconds=1))
    secret = token_secret("zzzzzz.0123456789abcdef", expiration=expires)
    assert served.request("POST", "/api/v1/namespaces/kube-system/secrets", secret, admin=True)[0] == 201
    deadline = time.monotonic() + 5
    path = "/api/v1/namespaces/kube-system/secrets/bootstrap-token-zzzzzz"
    while served.request("GET", path, admin=True)[0] == 200 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert served.request("GET", path, admin=True)[0] == 404


def test_joinsim_join_joins_the_served_cluster(served: Served, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="joinsim")
    join_cli.add_parsers(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["join", served.server.endpoint, "--token", served.server.token,
                              "--discovery-token-ca-cert-hash", served.server.ca_pin, "--root", str(tmp_path / "n"),
                              "--node-name", "worker-1"])
    capsys.readouterr()
    assert join_cli.run(args) == 0
    assert capsys.readouterr().out.endswith(WORKER_SUCCESS + "\n")
    status, node = served.request("GET", "/api/v1/nodes/worker-1", admin=True)
    assert status == 200 and node["metadata"]["name"] == "worker-1"


def test_the_1_22_profile_is_served_and_kept_across_restarts(tmp_path: Path) -> None:
    first = serve(tmp_path, kubernetes_version="1.22")
    served = next(first)
    assert served.request("GET", "/version")[1]["gitVersion"] == "v1.22.17"
    assert served.request("GET", "/api/v1/namespaces/kube-system/configmaps/kubelet-config-1.22",
                          token=served.server.token)[0] == 200
    next(first, None)
    again = serve(tmp_path, kubernetes_version="current")
    served = next(again)
    try:
        assert served.request("GET", "/version")[1]["gitVersion"] == "v1.22.17"
        assert any("--kubernetes-version 1.22; keeping it" in note for note in served.server.notes)
    finally:
        next(again, None)


# --- the command line -----------------------------------------------------------------------------

def serve_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="joinsim")
    serve_cli.add_parsers(parser.add_subparsers(dest="command"))
    return parser.parse_args(["serve", *argv])


def test_flags_become_options() -> None:
    args = serve_args("--dir", "d", "--bind", "127.0.0.2", "--port", "0", "--token", "abcdef.0123456789abcdef",
                      "--ttl", "1h30m", "--no-autoapprove", "--no-public-cluster-info", "--ca-key", "ecdsa",
                      "--kubernetes-version", "1.22")
    got = serve_cli.options_from_args(args)
    assert (got.dir, got.bind, got.port, got.token, got.ttl, got.autoapprove, got.public_cluster_info,
            got.ca_key_type, got.kubernetes_version, got.log) == \
        ("d", "127.0.0.2", 0, "abcdef.0123456789abcdef", 5400.0, False, False, "ecdsa", "1.22", None)
    defaults = serve_cli.options_from_args(serve_args())
    assert (defaults.dir, defaults.bind, defaults.port, defaults.ttl, defaults.ca_key_type) == \
        (serve_cli.DEFAULT_DIR, "127.0.0.1", 6443, 86400.0, None)


def test_a_bad_ttl_is_refused_with_gos_duration_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        serve_args("--ttl", "1x")
    assert 'invalid argument "1x" for "--ttl" flag: time: unknown unit "x" in duration "1x"' in \
        capsys.readouterr().err


def test_a_malformed_token_fails_like_kubeadm(tmp_path: Path) -> None:
    err = io.StringIO()
    code = asyncio.run(serve_cli.serve(options(tmp_path, token="not-a-token"), stdout=io.StringIO(), stderr=err))
    assert code == 1
    assert err.getvalue().startswith('the bootstrap token "not-a-token" was not of the form')


def test_the_default_rsa_cluster_starts_and_serves(tmp_path: Path) -> None:
    """``joinsim serve`` without --ca-key or a seed: kubeadm's RSA keys drawn from the OS's randomness."""
    with ServerThread(options(tmp_path, ca_key_type=None)) as server:
        assert server.plane is not None
        assert isinstance(server.plane.ca.cert.public_key(), rsa.RSAPublicKey)
        assert server.ca_pin == pins.certificate_pin(server.plane.ca.cert)
