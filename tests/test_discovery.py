"""Check token discovery (cmd/kubeadm/app/discovery/token/token.go) with real JWS, pins and CAs.

The control plane is a script: each test says what ``kube-public/cluster-info``
answers at each virtual time, separately for the insecure first fetch and the
pinned second fetch, and checks the outcome, the exact error text and when
each request went out.
"""

from __future__ import annotations

import random
from typing import Any, Callable, Mapping

import pytest

from sim.protocol import constants as C
from sim.protocol import jws, kubeconfig, pins, pki
from sim.protocol.commands import HttpRequest, TlsConfig, TransportFailure
from sim.protocol.discovery import (
    CLUSTER_INFO_PATH, NO_CREDENTIALS, Discovered, TokenDiscovery, discover, fetch_cluster_info,
    retrieve_validated_config_info, tls_bootstrap_kubeconfig,
)
from sim.protocol.errors import DiscoveryError
from sim.protocol.http import Response
from sim.protocol.objects import configmap
from tests.workflow_support import START, HttpScript, Run, run_workflow

# Upstream's test CA has serial number 0, which Go accepts and cryptography warns about.
pytestmark = pytest.mark.filterwarnings("ignore:Parsed a serial number which wasn't positive")

ENDPOINT = "10.0.0.1:6443"
SERVER = "https://cp.example.test:6443"  # cluster-info's server (the controlPlaneEndpoint), unlike ENDPOINT
TOKEN_ID, TOKEN_SECRET = "abcdef", "0123456789abcdef"
TOKEN = f"{TOKEN_ID}.{TOKEN_SECRET}"
URL = f"https://{ENDPOINT}{CLUSTER_INFO_PATH}?timeout=10s"
WRAP = "couldn't validate the identity of the API Server: "
TOKEN_INVALID = (f'token id "{TOKEN_ID}" is invalid for this cluster or it has expired. '
                 'Use "kubeadm token create" on the control-plane node to create a new valid token')
NO_JWS = f'could not find a JWS signature in the cluster-info ConfigMap for token ID "{TOKEN_ID}"'
BAD_JWS = "failed to verify JWS signature of received cluster info object, can't trust this API Server"
NO_KUBECONFIG = ("there is no kubeconfig key in the cluster-info ConfigMap. "
                 "This API Server isn't set up for token bootstrapping, can't connect")
SECOND_DIFFERS = "the second kubeconfig from the cluster-info ConfigMap (using validated TLS) was different from the first"
UNKNOWN_AUTHORITY = "tls: failed to verify certificate: x509: certificate signed by unknown authority"
REFUSED = f"dial tcp {ENDPOINT}: connect: connection refused"

CA = pki.create_ca(now=START, rng=random.Random(1))  # RSA, as kubeadm init makes it
OTHER_CA = pki.create_ca(now=START, rng=random.Random(2), key_type="ecdsa")
PIN = pins.certificate_pin(CA.cert)
OTHER_PIN = pins.certificate_pin(OTHER_CA.cert)
KUBECONFIG = kubeconfig.cluster_info_kubeconfig(SERVER, CA.cert_pem)


def sign(content: str, token_id: str = TOKEN_ID, secret: str = TOKEN_SECRET) -> str:
    return jws.compute_detached_signature(content, token_id, secret)


SIGNED = {C.CLUSTER_INFO_KUBECONFIG_KEY: KUBECONFIG, C.JWS_SIGNATURE_KEY_PREFIX + TOKEN_ID: sign(KUBECONFIG)}
UNSIGNED = {C.CLUSTER_INFO_KUBECONFIG_KEY: KUBECONFIG}


def signed(content: str, **extra: str) -> dict[str, str]:
    return {C.CLUSTER_INFO_KUBECONFIG_KEY: content, C.JWS_SIGNATURE_KEY_PREFIX + TOKEN_ID: sign(content), **extra}


def status(code: int, reason: str, message: str) -> Response:
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "code": code}
    return Response(status=code, body=body, server="cp-1")


NOT_FOUND = status(404, "NotFound", 'configmaps "cluster-info" not found')
FORBIDDEN = status(403, "Forbidden", 'configmaps "cluster-info" is forbidden: User "system:anonymous" cannot get '
                                     'resource "configmaps" in API group "" in the namespace "kube-public"')

# What cluster-info answers: ConfigMap data, a whole response, a transport failure, or a function of time.
Answer = Mapping[str, str] | Response | TransportFailure
Scripted = Answer | Callable[[float], Answer]


def _answer(scripted: Scripted, t: float) -> Response | TransportFailure:
    value = scripted(t) if callable(scripted) else scripted
    if isinstance(value, (Response, TransportFailure)):
        return value
    return Response(status=200, body=configmap(C.CLUSTER_INFO_NAME, C.CLUSTER_INFO_NAMESPACE, value), server="cp-1")


def serve(first: Scripted, second: Scripted | None = None) -> HttpScript:
    """Answer the insecure fetch with ``first`` and the pinned fetch with ``second`` (default: the same)."""
    def http(t: float, request: HttpRequest) -> Response | TransportFailure:
        assert request.request.method == "GET" and request.request.target == f"{CLUSTER_INFO_PATH}?timeout=10s"
        assert request.endpoint == ENDPOINT
        return _answer(first if request.tls.insecure or second is None else second, t)
    return http


def after(when: float, before: Answer, then: Answer) -> Callable[[float], Answer]:
    return lambda t: then if t >= when else before


def cfg(*hashes: str, token: str = TOKEN, unsafe: bool = False) -> TokenDiscovery:
    return TokenDiscovery(api_server_endpoint=ENDPOINT, token=token, ca_cert_hashes=hashes,
                          unsafe_skip_ca_verification=unsafe)


def run_discover(config: TokenDiscovery, http: HttpScript, timeout: float = C.DISCOVERY_TIMEOUT, **kw: Any) -> Run:
    return run_workflow(discover(config, timeout), http=http, **kw)


def polls(until: float, every: float = 5.0) -> list[float]:
    """Return the attempt times of a poll that never succeeds: 0, every, ... below ``until``."""
    return [i * every for i in range(int(until / every - 1e-9) + 1)]


# --- upstream: cmd/kubeadm/app/discovery/token/token_test.go TestRetrieveValidatedConfigInfo ---

UPSTREAM_CA_CERT = b"""-----BEGIN CERTIFICATE-----
MIICyDCCAbCgAwIBAgIBADANBgkqhkiG9w0BAQsFADAVMRMwEQYDVQQDEwprdWJl
cm5ldGVzMB4XDTE5MTEyMDAwNDk0MloXDTI5MTExNzAwNDk0MlowFTETMBEGA1UE
AxMKa3ViZXJuZXRlczCCASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEBAMqQ
ctECzA8yFSuVYupOUYgrTmfQeKe/9BaDWagaq7ow9+I2IvsfWFvlrD8QQr8sea6q
xjq7TV67Vb4RxBaoYDA+yI5vIcujWUxULun64lu3Q6iC1sj2UnmUpIdgazRXXEkZ
vxA6EbAnoxA0+lBOn1CZWl23IQ4s70o2hZ7wIp/vevB88RRRjqtvgc5elsjsbmDF
LS7L1Zuye8c6gS93bR+VjVmSIfr1IEq0748tIIyXjAVCWPVCvuP41MlfPc/JVpZD
uD2+pO6ZYREcdAnOf2eD4/eLOMKko4L1dSFy9JKM5PLnOC0Zk0AYOd1vS8DTAfxj
XPEIY8OBYFhlsxf4TE8CAwEAAaMjMCEwDgYDVR0PAQH/BAQDAgKkMA8GA1UdEwEB
/wQFMAMBAf8wDQYJKoZIhvcNAQELBQADggEBAH/OYq8zyl1+zSTmuow3yI/15PL1
dl8hB7IKnZNWmC/LTdm/+noh3Sb1IdRv6HkKg/GUn0UMuRUngLhju3EO4ozJPQcX
quaxzgmTKNWJ6ErDvRvWhGX0ZcbdBfZv+dowyRqzd5nlJ49hC+NrtFFQq6P05BYn
7SemguqeXmXwIj2Sa+1DeR6lRm9o8shAYjnyThUFqaMn18kI3SANJ5vk/3DFrPEO
CKC9EzFku2kuxg2dM12PbRGZQ2o0K6HEZgrrIKTPOy3ocb8r9M0aSFhjOV/NqGA4
SaupXSW6XfvIi/UHoIbU3pNcsnUJGnQfQvip95XKk/gqcUr+m50vxgumxtA=
-----END CERTIFICATE-----"""
UPSTREAM_CA_HASH = "sha256:98be2e6d4d8a89aa308fb15de0c07e2531ce549c68dec1687cdd5c06f0826658"
# buildSecureBootstrapKubeConfig("127.0.0.1", caCert, "somecluster"), as clientcmd.Write lays it out.
UPSTREAM_KUBECONFIG = kubeconfig.render(kubeconfig.Kubeconfig(
    clusters={"somecluster": kubeconfig.Cluster(server="https://127.0.0.1", ca_data=UPSTREAM_CA_CERT)},
    contexts={"token-bootstrap-client@somecluster": kubeconfig.Context("somecluster", "token-bootstrap-client")},
    current_context="token-bootstrap-client@somecluster"))
UP_ID, UP_SECRET = "123456", "abcdef1234567890"
UP_TOKEN = f"{UP_ID}.{UP_SECRET}"
UP_SIGNED = {C.CLUSTER_INFO_KUBECONFIG_KEY: UPSTREAM_KUBECONFIG,
             C.JWS_SIGNATURE_KEY_PREFIX + UP_ID: sign(UPSTREAM_KUBECONFIG, UP_ID, UP_SECRET)}
TOKEN_FORM = r'"\\A([a-z0-9]{6})\\.([a-z0-9]{16})\\z"'

UPSTREAM_CASES = [
    pytest.param(UP_TOKEN, (UPSTREAM_CA_HASH,), after(0.06, {C.CLUSTER_INFO_KUBECONFIG_KEY: UPSTREAM_KUBECONFIG}, UP_SIGNED),
                 None, id="valid: retrieve a valid kubeconfig with CA verification and delayed JWS signature"),
    pytest.param(UP_TOKEN, (UPSTREAM_CA_HASH,), UP_SIGNED, None,
                 id="valid: retrieve a valid kubeconfig with CA verification"),
    pytest.param(UP_TOKEN, (), UP_SIGNED, None, id="valid: retrieve a valid kubeconfig without CA verification"),
    pytest.param("foo.bar", (), UP_SIGNED,
                 f'could not construct token string for token: foo.bar: the bootstrap token "foo.bar" was not of the '
                 f'form {TOKEN_FORM}', id="invalid: token format is invalid"),
    pytest.param(UP_TOKEN, (), NOT_FOUND, 'failed to request the cluster-info ConfigMap: configmaps "cluster-info" not found',
                 id="invalid: missing cluster-info ConfigMap"),
    pytest.param(UP_TOKEN, (), {C.CLUSTER_INFO_KUBECONFIG_KEY: "foo", C.JWS_SIGNATURE_KEY_PREFIX + UP_ID: "bar"}, BAD_JWS,
                 id="invalid: wrong JWS signature"),
    pytest.param(UP_TOKEN, (), {C.CLUSTER_INFO_KUBECONFIG_KEY: "foo"},
                 'could not find a JWS signature in the cluster-info ConfigMap for token ID "123456"',
                 id="invalid: missing key for JWSSignatureKeyPrefix"),
    pytest.param(UP_TOKEN, ("foo",), UP_SIGNED,
                 'invalid discovery token CA certificate hash: invalid hash, expected "format:hex-value". '
                 'Known format(s) are: sha256', id="invalid: wrong CA cert hash"),
]


@pytest.mark.parametrize("token, hashes, answer, error", UPSTREAM_CASES)
def test_upstream_retrieve_validated_config_info(token: str, hashes: tuple[str, ...], answer: Scripted,
                                                 error: str | None) -> None:
    """Mirror upstream's table, with its 500 ms timeout, 20 ms interval and signature patched in at 60 ms."""
    config = TokenDiscovery(api_server_endpoint="127.0.0.1:6443", token=token, ca_cert_hashes=hashes)

    def http(t: float, request: HttpRequest) -> Response | TransportFailure:
        return _answer(answer, t)

    run = run_workflow(retrieve_validated_config_info(config, timeout=0.5, interval=0.02), http=http)
    if error is not None:
        assert isinstance(run.error, DiscoveryError)
        assert run.error_text == error  # unwrapped: discover() adds the prefix
        return
    assert run.error is None, run.error
    found = run.result
    assert found.kubeconfig_text == UPSTREAM_KUBECONFIG
    assert found.server == "https://127.0.0.1"
    assert found.ca_pem == UPSTREAM_CA_CERT
    assert found.pinned is bool(hashes)


def test_upstream_ca_hash_is_the_pin_of_the_upstream_ca() -> None:
    assert pins.certificate_pin(pki.parse_certs_pem(UPSTREAM_CA_CERT)[0]) == UPSTREAM_CA_HASH


def test_upstream_delayed_signature_is_found_on_the_first_poll_after_the_patch() -> None:
    config = TokenDiscovery(api_server_endpoint="127.0.0.1:6443", token=UP_TOKEN, ca_cert_hashes=(UPSTREAM_CA_HASH,))
    answer = after(0.06, {C.CLUSTER_INFO_KUBECONFIG_KEY: UPSTREAM_KUBECONFIG}, UP_SIGNED)
    run = run_workflow(retrieve_validated_config_info(config, timeout=0.5, interval=0.02),
                       http=lambda t, r: _answer(answer, t))
    assert run.request_times == pytest.approx([0, 0.02, 0.04, 0.06, 0.06])


# --- joinsim's table: every step of section 4.2, wrapped as discovery.For wraps it -----------

BUNDLE = OTHER_CA.cert_pem + CA.cert_pem
BUNDLE_KUBECONFIG = kubeconfig.cluster_info_kubeconfig(SERVER, BUNDLE)
NAMED_ONLY = kubeconfig.render(kubeconfig.Kubeconfig(clusters={"somecluster": kubeconfig.Cluster(server=SERVER)}))
BAD_CA_KUBECONFIG = kubeconfig.cluster_info_kubeconfig(SERVER, b"not a certificate")

VALID = [
    pytest.param(cfg(PIN), serve(SIGNED), [0, 0], id="valid: pinned CA, one insecure and one verified fetch"),
    pytest.param(cfg(unsafe=True), serve(SIGNED), [0], id="valid: unsafe skip makes no second fetch"),
    pytest.param(cfg(PIN), serve(after(12, UNSIGNED, SIGNED)), [0, 5, 10, 15, 15],
                 id="valid: the JWS appears after three polls and the next poll picks it up"),
    pytest.param(cfg(PIN), serve(after(7, NOT_FOUND, SIGNED)), [0, 5, 10, 10],
                 id="valid: cluster-info missing at first, retried every 5s"),
    pytest.param(cfg(PIN), serve(after(3, TransportFailure(message=REFUSED), SIGNED)), [0, 5, 5],
                 id="valid: a refused connection is retried"),
    pytest.param(cfg(OTHER_PIN, PIN), serve(SIGNED), [0, 0], id="valid: several pins, one matches"),
    pytest.param(cfg(PIN.upper().replace("SHA256", "sha256")), serve(SIGNED), [0, 0],
                 id="valid: upper-case hex pins match"),
    pytest.param(cfg("SHA256:" + PIN.split(":")[1]), serve(SIGNED), [0, 0], id="valid: the format label is case-insensitive"),
    pytest.param(cfg(PIN), serve(signed(BUNDLE_KUBECONFIG)), [0, 0],
                 id="valid: a CA bundle of two certificates where the second is pinned"),
    pytest.param(cfg(PIN, unsafe=True), serve(SIGNED), [0, 0], id="valid: pins are enforced even with unsafe skip"),
    pytest.param(cfg(PIN), serve(signed(KUBECONFIG, **{C.JWS_SIGNATURE_KEY_PREFIX + "zzzzzz": "junk"})), [0, 0],
                 id="valid: other tokens' signatures are ignored"),
]


@pytest.mark.parametrize("config, http, times", VALID)
def test_discover_succeeds(config: TokenDiscovery, http: HttpScript, times: list[float]) -> None:
    run = run_discover(config, http)
    assert run.error is None, run.error
    found: Discovered = run.result
    content = found.kubeconfig_text
    assert content in (KUBECONFIG, BUNDLE_KUBECONFIG)
    assert found.server == SERVER  # from cluster-info, not the endpoint the user gave
    assert found.ca_pem == kubeconfig.load(content).clusters[""].ca_data
    assert found.pinned is bool(config.ca_cert_hashes)
    assert found.served_by == "cp-1"
    assert run.request_times == times
    insecure = [r.tls for _, r in run.requests if r.tls.insecure]
    secure = [r.tls for _, r in run.requests if not r.tls.insecure]
    assert insecure and all(tls == TlsConfig(insecure=True) for tls in insecure)
    assert secure == ([TlsConfig(ca_pem=found.ca_pem)] if found.pinned else [])


INVALID = [
    pytest.param(cfg(PIN, token="abcdef.0123456789ABCDEF"), serve(SIGNED),
                 f'could not construct token string for token: abcdef.0123456789ABCDEF: the bootstrap token '
                 f'"abcdef.0123456789ABCDEF" was not of the form {TOKEN_FORM}', [], 0,
                 id="invalid: a malformed token fails before any request"),
    pytest.param(cfg(PIN), serve(NOT_FOUND),
                 'failed to request the cluster-info ConfigMap: configmaps "cluster-info" not found', polls(300), 300,
                 id="invalid: cluster-info never appears, the 404 is reported at the timeout"),
    pytest.param(cfg(PIN), serve(FORBIDDEN), f"failed to request the cluster-info ConfigMap: {FORBIDDEN.body['message']}",
                 polls(300), 300, id="invalid: anonymous access to cluster-info is forbidden"),
    pytest.param(cfg(PIN), serve(TransportFailure(message=REFUSED)),
                 f'failed to request the cluster-info ConfigMap: Get "{URL}": {REFUSED}', polls(300), 300,
                 id="invalid: connection refused, formatted as Go's url.Error"),
    pytest.param(cfg(PIN), serve(UNSIGNED), NO_JWS, polls(300), 300,
                 id="invalid: the JWS for the token never appears"),
    pytest.param(cfg(PIN), serve({**UNSIGNED, C.JWS_SIGNATURE_KEY_PREFIX + "zzzzzz": sign(KUBECONFIG, "zzzzzz")}),
                 NO_JWS, polls(300), 300, id="invalid: only another token's JWS is present"),
    pytest.param(cfg(PIN), serve(after(100, NOT_FOUND, UNSIGNED)), NO_JWS, polls(300), 300,
                 id="invalid: the last recorded error wins (404, then no JWS)"),
    pytest.param(cfg(PIN), serve(after(100, UNSIGNED, TransportFailure(message=REFUSED))),
                 f'failed to request the cluster-info ConfigMap: Get "{URL}": {REFUSED}', polls(300), 300,
                 id="invalid: the last recorded error wins (no JWS, then refused)"),
    pytest.param(cfg(PIN), serve({**UNSIGNED, C.JWS_SIGNATURE_KEY_PREFIX + TOKEN_ID: ""}), TOKEN_INVALID, [0], 0,
                 id="invalid: an empty JWS value stops the poll and fails at once"),
    pytest.param(cfg(PIN), serve({C.JWS_SIGNATURE_KEY_PREFIX + TOKEN_ID: sign(KUBECONFIG)}), NO_KUBECONFIG, [0], 0,
                 id="invalid: no kubeconfig key"),
    pytest.param(cfg(PIN), serve({C.CLUSTER_INFO_KUBECONFIG_KEY: "", C.JWS_SIGNATURE_KEY_PREFIX + TOKEN_ID: sign("")}),
                 NO_KUBECONFIG, [0], 0, id="invalid: an empty kubeconfig value"),
    pytest.param(cfg(PIN), serve({**UNSIGNED, C.JWS_SIGNATURE_KEY_PREFIX + TOKEN_ID: sign(KUBECONFIG, secret="x" * 16)}),
                 BAD_JWS, [0], 0, id="invalid: JWS made with another token secret"),
    pytest.param(cfg(PIN), serve({C.CLUSTER_INFO_KUBECONFIG_KEY: kubeconfig.cluster_info_kubeconfig(
                     "https://evil.example:6443", CA.cert_pem), C.JWS_SIGNATURE_KEY_PREFIX + TOKEN_ID: sign(KUBECONFIG)}),
                 BAD_JWS, [0], 0, id="invalid: the kubeconfig was changed after signing"),
    pytest.param(cfg(PIN), serve({**UNSIGNED, C.JWS_SIGNATURE_KEY_PREFIX + TOKEN_ID: sign(KUBECONFIG) + "="}),
                 BAD_JWS, [0], 0, id="invalid: a JWS with an extra character"),
    pytest.param(cfg("foo"), serve(SIGNED), 'invalid discovery token CA certificate hash: invalid hash, expected '
                 '"format:hex-value". Known format(s) are: sha256', [0], 0, id="invalid: CA hash without a format"),
    pytest.param(cfg("md5:" + "0" * 64), serve(SIGNED), 'invalid discovery token CA certificate hash: unknown hash '
                 'format "md5". Known format(s) are: sha256', [0], 0, id="invalid: CA hash with an unknown format"),
    pytest.param(cfg("sha256:abcd"), serve(SIGNED), 'invalid discovery token CA certificate hash: invalid hash '
                 '"sha256:abcd", expected a 32 byte SHA-256 hash, found 2 bytes', [0], 0,
                 id="invalid: CA hash too short"),
    pytest.param(cfg(PIN, "bogus"), serve(SIGNED), 'invalid discovery token CA certificate hash: invalid hash, expected '
                 '"format:hex-value". Known format(s) are: sha256', [0], 0,
                 id="invalid: one bad hash fails even when another would match"),
    pytest.param(cfg("foo"), serve(NOT_FOUND),
                 'failed to request the cluster-info ConfigMap: configmaps "cluster-info" not found', polls(300), 300,
                 id="invalid: hashes are parsed only after the first fetch succeeds"),
    pytest.param(cfg(OTHER_PIN), serve(SIGNED), 'cluster CA found in cluster-info ConfigMap is invalid: none of the '
                 f'public keys "{PIN}" are pinned', [0], 0, id="invalid: wrong CA cert hash"),
    pytest.param(cfg("sha256:" + "0" * 64), serve(signed(BUNDLE_KUBECONFIG)), 'cluster CA found in cluster-info '
                 f'ConfigMap is invalid: none of the public keys "{OTHER_PIN}:{PIN}" are pinned', [0], 0,
                 id="invalid: a bundle where no certificate is pinned names every key"),
    pytest.param(cfg(PIN), serve(signed(BAD_CA_KUBECONFIG)), 'failed to parse cluster CA from the cluster-info '
                 'ConfigMap: data does not contain any valid RSA or ECDSA certificates', [0], 0,
                 id="invalid: the CA in cluster-info does not parse"),
    pytest.param(cfg(PIN), serve(SIGNED, signed(BUNDLE_KUBECONFIG)), SECOND_DIFFERS, [0, 0], 0,
                 id="invalid: the verified fetch returns a different kubeconfig"),
    pytest.param(cfg(PIN), serve(SIGNED, UNSIGNED), NO_JWS, [0] + polls(300), 300,
                 id="invalid: the verified fetch must also carry the JWS and polls again with a full timeout"),
    pytest.param(cfg(PIN), serve(SIGNED, TransportFailure(message=UNKNOWN_AUTHORITY)),
                 f'failed to request the cluster-info ConfigMap: Get "{URL}": {UNKNOWN_AUTHORITY}', [0] + polls(300), 300,
                 id="invalid: TLS fails on the verified fetch (a man in the middle)"),
    pytest.param(cfg(PIN), serve(SIGNED, after(50, TransportFailure(message=UNKNOWN_AUTHORITY), signed(KUBECONFIG))),
                 None, [0, 0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50], 50,
                 id="valid: the verified fetch recovers before its timeout"),
]


@pytest.mark.parametrize("config, http, error, times, end", INVALID)
def test_discover_fails_with_kubeadms_text(config: TokenDiscovery, http: HttpScript, error: str | None,
                                           times: list[float], end: float) -> None:
    run = run_discover(config, http)
    assert run.request_times == times
    assert run.now == end
    if error is None:
        assert run.error is None and run.result.pinned
        return
    assert isinstance(run.error, DiscoveryError)
    assert run.error_text == WRAP + error


@pytest.mark.parametrize("content, prefix", [
    pytest.param("clusters: [", "couldn't parse the kubeconfig file in the cluster-info ConfigMap: yaml: ",
                 id="invalid: signed but not YAML"),
    pytest.param("- just\n- a list\n", "couldn't parse the kubeconfig file in the cluster-info ConfigMap: ",
                 id="invalid: signed but not a kubeconfig object"),
    pytest.param(NAMED_ONLY, "malformed kubeconfig in the cluster-info ConfigMap: ",
                 id="invalid: no unnamed cluster and no current context"),
])
def test_discover_rejects_a_signed_but_unusable_kubeconfig(content: str, prefix: str) -> None:
    for config in (cfg(PIN), cfg(unsafe=True)):
        run = run_discover(config, serve(signed(content)))
        assert run.error_text.startswith(WRAP + prefix), run.error_text
        assert len(run.requests) == 1


@pytest.mark.parametrize("timeout, times", [
    pytest.param(12, [0, 5, 10], id="invalid: a 12s timeout polls at 0, 5 and 10"),
    pytest.param(2, [0], id="invalid: the interval is capped at a timeout shorter than 5s"),
    pytest.param(0.5, [0], id="invalid: a sub-second timeout"),
])
def test_discover_polls_until_its_timeout(timeout: float, times: list[float]) -> None:
    run = run_discover(cfg(PIN), serve(UNSIGNED), timeout=timeout)
    assert run.request_times == times
    assert run.now == timeout
    assert run.error_text == WRAP + NO_JWS


def test_slow_requests_are_followed_by_the_pending_tick() -> None:
    """A request that takes longer than the interval is retried at once, as Go's ticker does."""
    run = run_discover(cfg(PIN), serve(NOT_FOUND), timeout=30, latency=7)
    assert run.request_times == [0, 7, 14, 21, 28]
    assert run.now == 35  # the attempt in flight at the deadline is finished
    assert "not found" in run.error_text


def test_fetch_cluster_info_caps_the_interval_at_the_timeout() -> None:
    run = run_workflow(fetch_cluster_info(ENDPOINT, TlsConfig(insecure=True), TOKEN, interval=60, timeout=11),
                       http=serve(UNSIGNED))
    assert run.request_times == [0]
    assert run.now == 11
    assert run.error_text == NO_JWS


def test_discover_logs_and_marks_each_step() -> None:
    run = run_discover(cfg(PIN), serve(after(3, UNSIGNED, SIGNED)))
    assert run.log_texts == [
        f'[discovery] Created cluster-info discovery client, requesting info from "{ENDPOINT}"',
        f'[discovery] Waiting for the cluster-info ConfigMap to receive a JWS signature for token ID "{TOKEN_ID}"',
        f"[discovery] Retrying due to error: {NO_JWS}",
        f'[discovery] Waiting for the cluster-info ConfigMap to receive a JWS signature for token ID "{TOKEN_ID}"',
        f'[discovery] Requesting info from "{ENDPOINT}" again to validate TLS against the pinned public key',
        f'[discovery] Waiting for the cluster-info ConfigMap to receive a JWS signature for token ID "{TOKEN_ID}"',
        f'[discovery] Cluster info signature and contents are valid and TLS certificate validates against pinned '
        f'roots, will use API Server "{ENDPOINT}"',
    ]
    assert all(log.verbosity == 1 for _, log in run.logs)
    assert run.milestones == ["discovery-attempt", "discovery-attempt", "jws-verified", "pin-verified",
                              "discovery-attempt", "second-fetch"]
    assert [dict(m.attrs) for _, m in run.marks if m.milestone == "discovery-attempt"] == [
        {"secure": "false"}, {"secure": "false"}, {"secure": "true"}]
    assert [op for _, op in run.cpu] == ["jws-verify", "pin"]


def test_unpinned_discovery_logs_that_no_pinning_was_specified() -> None:
    run = run_discover(cfg(unsafe=True), serve(SIGNED))
    assert run.log_texts[-1] == ('[discovery] Cluster info signature and contents are valid and no TLS pinning was '
                                 f'specified, will use API Server "{ENDPOINT}"')
    assert "pin-verified" not in run.milestones and [op for _, op in run.cpu] == ["jws-verify"]


def test_discover_reports_a_non_status_error_body_as_client_go_does() -> None:
    """A plain 503 from a load balancer: client-go builds the text from the status code and the request."""
    run = run_discover(cfg(PIN), serve(Response(status=503, text="upstream unavailable", server="lb")), timeout=1)
    assert run.error_text == WRAP + ("failed to request the cluster-info ConfigMap: the server is currently unable to "
                                     "handle the request (get configmaps cluster-info)")


# --- bootstrap-kubelet.conf: what discovery.For builds from the result ------------------------

def discovered(ca_pem: bytes = CA.cert_pem, has_credentials: bool = False) -> Discovered:
    return Discovered(kubeconfig_text="original", server=SERVER, ca_pem=ca_pem, pinned=True, served_by="cp-1",
                      has_credentials=has_credentials)


def test_tls_bootstrap_kubeconfig_uses_the_discovered_server_and_ca_with_the_token() -> None:
    text = tls_bootstrap_kubeconfig(discovered(), TOKEN)
    config = kubeconfig.load(text)
    assert config.current_context == "tls-bootstrap-token-user@kubernetes"
    assert config.clusters == {"kubernetes": kubeconfig.Cluster(server=SERVER, ca_data=CA.cert_pem)}
    assert config.users == {"tls-bootstrap-token-user": kubeconfig.User(token=TOKEN)}
    assert text == kubeconfig.token_kubeconfig(SERVER, CA.cert_pem, TOKEN)


@pytest.mark.parametrize("found, token, error", [
    pytest.param(discovered(), "", NO_CREDENTIALS, id="invalid: no token and no credentials in the discovered file"),
    pytest.param(discovered(ca_pem=b""), TOKEN, "could not get CA certificate from discovery kubeconfig: "
                 "data does not contain any valid RSA or ECDSA certificates", id="invalid: no CA to trust"),
])
def test_tls_bootstrap_kubeconfig_errors_are_not_wrapped(found: Discovered, token: str, error: str) -> None:
    with pytest.raises(DiscoveryError) as info:
        tls_bootstrap_kubeconfig(found, token)
    assert str(info.value) == error


def test_tls_bootstrap_kubeconfig_keeps_a_file_with_credentials() -> None:
    assert tls_bootstrap_kubeconfig(discovered(has_credentials=True), "") == "original"


def test_tls_bootstrap_kubeconfig_checks_the_ca_even_for_a_file_with_credentials() -> None:
    with pytest.raises(DiscoveryError, match="^could not get CA certificate from discovery kubeconfig: "):
        tls_bootstrap_kubeconfig(discovered(ca_pem=b"", has_credentials=True), "")
