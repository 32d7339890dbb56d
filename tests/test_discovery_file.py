"""Check file and HTTPS discovery (cmd/kubeadm/app/discovery/file/file.go, https/https.go)."""

from __future__ import annotations

import random

import pytest

from sim.protocol import constants as C
from sim.protocol import kubeconfig, pki
from sim.protocol.commands import HttpRequest, TlsConfig, TransportFailure
from sim.protocol.discovery import CLUSTER_INFO_PATH, Discovered
from sim.protocol.discovery_file import discover_from_file
from sim.protocol.errors import DiscoveryError
from sim.protocol.http import Response
from sim.protocol.objects import configmap
from tests.workflow_support import START, HttpScript, Run, run_workflow

PATH = "/etc/kubernetes/discovery.conf"
ENDPOINT = "10.0.0.1:6443"
SERVER = f"https://{ENDPOINT}"
URL = f"{SERVER}{CLUSTER_INFO_PATH}?timeout=10s"
WRAP = "couldn't validate the identity of the API Server: "
FORBIDDEN_WARNING = ("[discovery] Could not access the cluster-info ConfigMap for refreshing the cluster-info "
                     "information, but the TLS cert is valid so proceeding...")
REFUSED = f"dial tcp {ENDPOINT}: connect: connection refused"

CA = pki.create_ca(now=START, rng=random.Random(1))
OTHER_CA = pki.create_ca(now=START, rng=random.Random(2), key_type="ecdsa")


def user_file(*, server: str = SERVER, ca: bytes = CA.cert_pem, token: str = "", insecure: bool = False,
              ca_file: str = "") -> str:
    """Write a discovery kubeconfig as an admin would hand it out: one cluster, one context, maybe a token."""
    return kubeconfig.render(kubeconfig.Kubeconfig(
        clusters={"kubernetes": kubeconfig.Cluster(server=server, ca_data=ca, insecure=insecure, ca_file=ca_file)},
        users={"joiner": kubeconfig.User(token=token)},
        contexts={"joiner@kubernetes": kubeconfig.Context("kubernetes", "joiner")},
        current_context="joiner@kubernetes"))


ANONYMOUS = user_file()


def cluster_info(server: str = SERVER, ca: bytes = CA.cert_pem) -> Response:
    data = {C.CLUSTER_INFO_KUBECONFIG_KEY: kubeconfig.cluster_info_kubeconfig(server, ca)}
    return Response(status=200, body=configmap(C.CLUSTER_INFO_NAME, C.CLUSTER_INFO_NAMESPACE, data), server="cp-1")


def status(code: int, reason: str, message: str) -> Response:
    return Response(status=code, server="cp-1", body={"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                                      "message": message, "reason": reason, "code": code})


FORBIDDEN = status(403, "Forbidden", 'configmaps "cluster-info" is forbidden: User "system:anonymous" cannot get '
                                     'resource "configmaps" in API group "" in the namespace "kube-public"')
NOT_FOUND = status(404, "NotFound", 'configmaps "cluster-info" not found')
UNAUTHORIZED = status(401, "Unauthorized", "Unauthorized")


def answer(response: Response | TransportFailure) -> HttpScript:
    def http(t: float, request: HttpRequest) -> Response | TransportFailure:
        assert request.endpoint == ENDPOINT and request.request.target == f"{CLUSTER_INFO_PATH}?timeout=10s"
        return response
    return http


def trust(request: HttpRequest) -> tuple[bool, bytes | None, bool]:
    """Summarise a request's TLS settings: (skip verification, CA to verify with, presents a client cert)."""
    return request.tls.insecure, request.tls.ca_pem or None, bool(request.tls.client_cert_pem)


def discover(http: HttpScript, text: str | None = ANONYMOUS, location: str = PATH, timeout: float = 300) -> Run:
    files = {} if text is None else {PATH: text.encode()}
    return run_workflow(discover_from_file(location, timeout), http=http, files=files)


# --- reading and checking the file ----------------------------------------------------------------

@pytest.mark.parametrize("text, location, error", [
    pytest.param(None, PATH, f"open {PATH}: no such file or directory", id="invalid: the file is missing"),
    pytest.param(None, f"file://{PATH}", f"open {PATH}: no such file or directory",
                 id="invalid: a file:// URL is read as a path"),
    pytest.param("", PATH, "the provided kubeconfig file must have at least one Cluster defined",
                 id="invalid: an empty file"),
    pytest.param("apiVersion: v1\nkind: Config\nclusters: null\n", PATH,
                 "the provided kubeconfig file must have at least one Cluster defined", id="invalid: no clusters"),
])
def test_unusable_files_fail_before_any_request(text: str | None, location: str, error: str) -> None:
    run = discover(answer(cluster_info()), text, location)
    assert isinstance(run.error, DiscoveryError)
    assert run.error_text == WRAP + error
    assert [path for _, path in run.reads] == [PATH]
    assert run.requests == []


def test_a_file_without_a_current_context_is_malformed() -> None:
    text = kubeconfig.render(kubeconfig.Kubeconfig(clusters={"kubernetes": kubeconfig.Cluster(server=SERVER)}))
    run = discover(answer(cluster_info()), text)
    assert run.error_text.startswith(WRAP + "the provided kubeconfig file is malformed: "), run.error_text
    assert run.requests == []


def test_a_file_that_does_not_parse_is_wrapped() -> None:
    run = discover(answer(cluster_info()), "clusters: [")
    assert run.error_text.startswith(WRAP + "yaml: "), run.error_text


# --- refreshing from cluster-info ------------------------------------------------------------------

def test_the_file_is_trusted_and_cluster_info_read_with_its_tls_settings() -> None:
    run = discover(answer(cluster_info()))
    assert run.error is None, run.error
    found: Discovered = run.result
    assert found == Discovered(kubeconfig_text=ANONYMOUS, server=SERVER, ca_pem=CA.cert_pem, pinned=True,
                               served_by="cp-1", has_credentials=False)
    (t, request), = run.requests
    assert trust(request) == (False, CA.cert_pem, False)
    assert request.request.header("Authorization") is None  # no credentials: anonymous
    assert not [log for _, log in run.logs if log.verbosity == 0]


def test_forbidden_counts_as_success() -> None:
    run = discover(answer(FORBIDDEN))
    assert run.error is None, run.error
    assert run.result.kubeconfig_text == ANONYMOUS and run.result.ca_pem == CA.cert_pem
    assert run.request_times == [0]
    assert [(log.text, log.verbosity) for _, log in run.logs] == [(FORBIDDEN_WARNING, 0)]


def test_the_ca_is_copied_from_cluster_info_when_the_file_has_none() -> None:
    run = discover(answer(cluster_info(ca=OTHER_CA.cert_pem)), user_file(ca=b""))
    assert run.error is None, run.error
    assert run.result.ca_pem == OTHER_CA.cert_pem
    assert trust(run.requests[0][1]) == (False, None, False)  # the host's trust store verified this fetch


def test_the_files_own_ca_wins_over_cluster_info() -> None:
    run = discover(answer(cluster_info(ca=OTHER_CA.cert_pem)))
    assert run.result.ca_pem == CA.cert_pem


def test_a_different_server_in_cluster_info_only_warns() -> None:
    run = discover(answer(cluster_info(server="https://cp.example.test:6443")))
    assert run.error is None, run.error
    assert run.result.server == SERVER
    assert [(log.text, log.verbosity) for _, log in run.logs] == [(
        f'[discovery] the API Server endpoint "{SERVER}" in use is different from the endpoint '
        '"https://cp.example.test:6443" which defined in the cluster-info ConfigMap', 0)]


def test_a_cluster_info_without_kubeconfig_leaves_the_file_as_it_is() -> None:
    empty = Response(status=200, body=configmap(C.CLUSTER_INFO_NAME, C.CLUSTER_INFO_NAMESPACE, {}), server="cp-1")
    run = discover(answer(empty), user_file(ca=b""))
    assert run.error is None, run.error
    assert run.result.ca_pem == b"" and run.result.kubeconfig_text == user_file(ca=b"")
    assert all(log.verbosity == 1 for _, log in run.logs)


def test_credentials_in_the_file_are_used_for_the_request() -> None:
    text = user_file(token="abcdef.0123456789abcdef")
    run = discover(answer(cluster_info()), text)
    assert run.result.has_credentials is True
    assert run.requests[0][1].request.header("Authorization") == "Bearer abcdef.0123456789abcdef"


def test_a_client_certificate_in_the_file_is_presented() -> None:
    text = kubeconfig.render(kubeconfig.Kubeconfig(
        clusters={"kubernetes": kubeconfig.Cluster(server=SERVER, ca_data=CA.cert_pem)},
        users={"joiner": kubeconfig.User(client_cert_data=b"CERT", client_key_data=b"KEY")},
        contexts={"joiner@kubernetes": kubeconfig.Context("kubernetes", "joiner")}, current_context="joiner@kubernetes"))
    run = discover(answer(cluster_info()), text)
    tls = run.requests[0][1].tls
    assert (tls.client_cert_pem, tls.client_key_pem) == (b"CERT", b"KEY")
    assert run.result.has_credentials is True


def test_an_insecure_file_is_not_pinned() -> None:
    run = discover(answer(cluster_info()), user_file(ca=b"", insecure=True))
    assert run.requests[0][1].tls.insecure is True
    assert run.result.pinned is False


@pytest.mark.parametrize("response, timeout, error, times", [
    pytest.param(NOT_FOUND, 300, 'Abort reading the cluster-info ConfigMap after timeout of 5m0s: configmaps '
                 '"cluster-info" not found', [5.0 * i for i in range(60)], id="invalid: 404 until the default timeout"),
    pytest.param(TransportFailure(message=REFUSED), 60, 'Abort reading the cluster-info ConfigMap after timeout of '
                 f'1m0s: Get "{URL}": {REFUSED}', [5.0 * i for i in range(12)], id="invalid: refused until a 1m timeout"),
    pytest.param(UNAUTHORIZED, 12.5, "Abort reading the cluster-info ConfigMap after timeout of 12.5s: Unauthorized",
                 [0, 5, 10], id="invalid: 401 is retried, unlike 403"),
])
def test_errors_are_retried_until_the_timeout(response: Response | TransportFailure, timeout: float, error: str,
                                              times: list[float]) -> None:
    run = discover(answer(response), timeout=timeout)
    assert run.error_text == WRAP + error
    assert run.request_times == times
    assert run.now == timeout


def test_a_later_success_ends_the_retries() -> None:
    run = discover(lambda t, r: cluster_info() if t >= 12 else NOT_FOUND)
    assert run.error is None, run.error
    assert run.request_times == [0, 5, 10, 15]


def test_a_ca_file_reference_is_read_and_embedded() -> None:
    ca_path = "/etc/kubernetes/pki/ca.crt"
    text = user_file(ca=b"", ca_file=ca_path)
    run = run_workflow(discover_from_file(PATH, 300), http=answer(cluster_info()),
                       files={PATH: text.encode(), ca_path: CA.cert_pem})
    assert [path for _, path in run.reads] == [PATH, ca_path]
    assert run.requests[0][1].tls.ca_pem == CA.cert_pem
    assert run.result.ca_pem == CA.cert_pem


def test_a_cluster_info_kubeconfig_without_a_cluster_is_an_error() -> None:
    data = {C.CLUSTER_INFO_KUBECONFIG_KEY: "apiVersion: v1\nkind: Config\n"}
    response = Response(status=200, body=configmap(C.CLUSTER_INFO_NAME, C.CLUSTER_INFO_NAMESPACE, data), server="cp-1")
    run = discover(answer(response))
    assert run.error_text.startswith(WRAP + "malformed kubeconfig in the cluster-info ConfigMap: ")


# --- HTTPS ----------------------------------------------------------------------------------------

HTTPS_URL = "https://discovery.example.test/join/cluster.conf"


def https(file_response: Response | TransportFailure) -> HttpScript:
    def http(t: float, request: HttpRequest) -> Response | TransportFailure:
        if request.purpose == "discovery-file":
            return file_response
        return cluster_info()
    return http


def test_https_discovery_fetches_the_file_with_the_hosts_trust_store() -> None:
    run = run_workflow(discover_from_file(HTTPS_URL, 300), http=https(Response(status=200, text=ANONYMOUS, server="web")))
    assert run.error is None, run.error
    (_, fetch), (_, refresh) = run.requests
    assert fetch.endpoint == "discovery.example.test:443" and fetch.request.target == "/join/cluster.conf"
    assert fetch.request.method == "GET" and fetch.tls == TlsConfig()
    assert refresh.endpoint == ENDPOINT and trust(refresh) == (False, CA.cert_pem, False)
    assert run.result.kubeconfig_text == ANONYMOUS and run.result.served_by == "cp-1"
    assert run.reads == []


@pytest.mark.parametrize("url, endpoint", [
    pytest.param("https://discovery.example.test:8443/c.conf", "discovery.example.test:8443",
                 id="valid: a port is kept"),
    pytest.param("https://[fd00::1]/c.conf", "[fd00::1]:443", id="valid: an IPv6 host without a port dials 443"),
    pytest.param("https://[fd00::1]:8443/c.conf", "[fd00::1]:8443", id="valid: an IPv6 host's port is kept"),
])
def test_https_discovery_dials_the_urls_port_or_443(url: str, endpoint: str) -> None:
    run = run_workflow(discover_from_file(url, 300), http=https(Response(status=200, text=ANONYMOUS)))
    assert run.requests[0][1].endpoint == endpoint


def test_a_server_without_a_port_is_dialled_on_443_and_named_as_written() -> None:
    def refuse(t: float, request: HttpRequest) -> TransportFailure:
        assert request.endpoint == "cp.example.test:443"
        return TransportFailure(message="dial tcp 10.0.0.9:443: connect: connection refused")

    run = discover(refuse, user_file(server="https://cp.example.test"), timeout=1)
    assert run.error_text.endswith(
        f'Get "https://cp.example.test{CLUSTER_INFO_PATH}?timeout=10s": dial tcp 10.0.0.9:443: connect: '
        "connection refused"), run.error_text


def test_https_discovery_keeps_the_port_and_query() -> None:
    url = "https://discovery.example.test:8443/cluster.conf?node=a"
    run = run_workflow(discover_from_file(url, 300), http=https(Response(status=200, text=ANONYMOUS)))
    fetch = run.requests[0][1]
    assert fetch.endpoint == "discovery.example.test:8443" and fetch.request.target == "/cluster.conf?node=a"


@pytest.mark.parametrize("response, error", [
    pytest.param(Response(status=404, text="404 page not found"), "error trying to fetch discovery kubeconfig over "
                 f"HTTPS from {HTTPS_URL}, received status 404", id="invalid: not found"),
    pytest.param(Response(status=302, text=""), "error trying to fetch discovery kubeconfig over HTTPS from "
                 f"{HTTPS_URL}, received status 302", id="invalid: any status but 200"),
    pytest.param(TransportFailure(message="tls: failed to verify certificate: x509: certificate signed by unknown "
                                          "authority"),
                 f'Get "{HTTPS_URL}": tls: failed to verify certificate: x509: certificate signed by unknown authority',
                 id="invalid: the host does not trust the web server"),
    pytest.param(Response(status=200, text="apiVersion: v1\nkind: Config\n"),
                 "the provided kubeconfig file must have at least one Cluster defined",
                 id="invalid: the fetched file goes through the same checks"),
])
def test_https_discovery_errors(response: Response | TransportFailure, error: str) -> None:
    run = run_workflow(discover_from_file(HTTPS_URL, 300), http=https(response))
    assert isinstance(run.error, DiscoveryError)
    assert run.error_text == WRAP + error
    assert len(run.requests) == 1
