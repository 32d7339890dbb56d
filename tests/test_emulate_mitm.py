"""Put ``joinsim mitm`` between ``joinsim join`` and ``joinsim serve``: what pinning and the token protect.

Upstream texts checked here: cmd/kubeadm/app/discovery/token/token.go (JWS and
pin failures), wrapped by discovery.go and the phase runner.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import os
import re
import signal
import socket
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest
from cryptography import x509

from sim.emulate import mitm_cli
from sim.emulate.client import run_join
from sim.emulate.mitm import CLUSTER_INFO_PATH, MitmOptions, MitmProxy
from sim.emulate.mitm_capture import CSR_COLLECTION
from sim.emulate.mitm_rewrite import Signatures, rewrite_cluster_info
from sim.protocol import constants as C
from sim.protocol import jws, kubeconfig, pki, x509verify
from sim.protocol.join import JoinOutcome
from sim.protocol.joinconfig import JoinConfiguration
from tests.emulate_support import ServiceThread
from tests.serve_support import HttpsClient, Served, csr_object, serve

PIN_ERROR = ("error execution phase preflight: couldn't validate the identity of the API Server: cluster CA found in "
             'cluster-info ConfigMap is invalid: none of the public keys "{pin}" are pinned')
JWS_ERROR = ("error execution phase preflight: couldn't validate the identity of the API Server: failed to verify JWS "
             "signature of received cluster info object, can't trust this API Server")
NO_SIGNATURE_ERROR = ("error execution phase preflight: couldn't validate the identity of the API Server: could not "
                      'find a JWS signature in the cluster-info ConfigMap for token ID "{token_id}"')


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from serve(tmp_path_factory.mktemp("upstream"))


def proxy_for(upstream: Served, *, token: str | None = None,
              signatures: Signatures = Signatures.REPLAY) -> ServiceThread:
    """Return a proxy (to enter with ``with``) in front of ``upstream``, with an ECDSA CA (fast)."""
    return ServiceThread(MitmProxy(MitmOptions(listen_host="127.0.0.1", listen_port=0, upstream=upstream.endpoint,
                                               token=token, signatures=signatures, ca_key_type="ecdsa")))


def join_through(endpoint: str, token: str, root: Path, name: str, *, pin: str | None = None) -> JoinOutcome:
    cfg = JoinConfiguration(node_name=name, api_server_endpoint=endpoint, token=token, tls_bootstrap_token=token,
                            ca_cert_hashes=(pin,) if pin else (), unsafe_skip_ca_verification=pin is None,
                            discovery_timeout=1.0)
    outcome, _ = asyncio.run(run_join(cfg, str(root), stdout=io.StringIO(), stderr=io.StringIO()))
    return outcome


def upstream_csr_subjects(upstream: Served) -> list[str]:
    code, listing = upstream.request("GET", CSR_COLLECTION, admin=True)
    assert code == 200
    return [x509.load_pem_x509_csr(base64.b64decode(item["spec"]["request"])).subject.rfc4514_string()
            for item in listing["items"]]


# --- the attack ------------------------------------------------------------------------------------

def test_an_unpinned_join_through_the_proxy_trusts_its_ca_and_hands_it_the_csr(upstream: Served,
                                                                              tmp_path: Path) -> None:
    token = upstream.server.token
    with proxy_for(upstream, token=token) as proxy:
        outcome = join_through(proxy.endpoint, token, tmp_path, "victim")
        assert proxy.capture is not None
        captured = [(c.name, c.subject, c.bearer_token) for c in proxy.capture.captured]

    assert outcome.joined and not outcome.pinned
    assert outcome.trusted_ca_pin == proxy.ca_pin != upstream.server.ca_pin
    assert (tmp_path / "etc/kubernetes/pki/ca.crt").read_bytes() == proxy.ca.cert_pem
    conf = kubeconfig.load((tmp_path / "etc/kubernetes/kubelet.conf").read_bytes())
    assert conf.current_cluster().server == f"https://{proxy.endpoint}"
    issued = x509.load_pem_x509_certificate((tmp_path / C.KUBELET_CLIENT_CURRENT_PATH.lstrip("/")).read_bytes())
    assert x509verify.verify_chain(issued, [proxy.ca.cert], datetime.now(timezone.utc), key_usage="client auth") is None
    assert captured == [(outcome.csr_name, "CN=system:node:victim,O=system:nodes", token)]
    assert outcome.csr_server == proxy.endpoint
    assert proxy.tokens_seen == [token]
    assert "CN=system:node:victim,O=system:nodes" not in upstream_csr_subjects(upstream)
    how = {(method, path): answer for method, path, answer in proxy.requests}
    assert how[("GET", CLUSTER_INFO_PATH)] == "rewritten"
    assert how[("GET", "/api/v1/namespaces/kube-system/configmaps/kubeadm-config")] == "forwarded"
    assert how[("POST", CSR_COLLECTION)] == how[("POST", "/api/v1/nodes")] == "captured"


@pytest.mark.parametrize("attacker_token, signatures, pinned, expected", [
    pytest.param(True, Signatures.REPLAY, True, PIN_ERROR, id="invalid: pinned join, the attacker knows the token"),
    pytest.param(False, Signatures.REPLAY, False, JWS_ERROR, id="invalid: attacker without the token replays the JWS"),
    pytest.param(False, Signatures.DROP, False, NO_SIGNATURE_ERROR,
                 id="invalid: attacker without the token drops the JWS"),
])
def test_the_attack_fails_with_kubeadms_error(upstream: Served, tmp_path: Path, attacker_token: bool,
                                              signatures: Signatures, pinned: bool, expected: str) -> None:
    token = upstream.server.token
    with proxy_for(upstream, token=token if attacker_token else None, signatures=signatures) as proxy:
        outcome = join_through(proxy.endpoint, token, tmp_path, "victim-x",
                               pin=upstream.server.ca_pin if pinned else None)
        assert proxy.capture is not None and not proxy.capture.captured

    assert not outcome.joined and outcome.phase == "preflight"
    assert outcome.error == expected.format(pin=proxy.ca_pin, token_id=token.split(".")[0])
    assert not (tmp_path / "etc/kubernetes/pki/ca.crt").exists()


def test_a_pinned_join_straight_to_the_cluster_still_works(upstream: Served, tmp_path: Path) -> None:
    outcome = join_through(upstream.endpoint, upstream.server.token, tmp_path, "honest", pin=upstream.server.ca_pin)
    assert outcome.joined and outcome.pinned and outcome.trusted_ca_pin == upstream.server.ca_pin


# --- the forgery ---------------------------------------------------------------------------------------

TOKEN = "abcdef.0123456789abcdef"
ORIGINAL = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cluster-info", "namespace": "kube-public"},
            "data": {"kubeconfig": "apiVersion: v1\nkind: Config\n", "jws-kubeconfig-abcdef": "orig..sig",
                     "jws-kubeconfig-zzzzzz": "other..sig"}}
CA = pki.create_ca(now=datetime.now(timezone.utc), key_type="ecdsa")


@pytest.mark.parametrize("token, signatures, keys, summary", [
    pytest.param(TOKEN, Signatures.REPLAY, ["jws-kubeconfig-abcdef"], 're-signed for token id "abcdef"',
                 id="valid: token known, re-signed and the others removed"),
    pytest.param(None, Signatures.REPLAY, ["jws-kubeconfig-abcdef", "jws-kubeconfig-zzzzzz"],
                 "replayed 2 original signature(s) over the new kubeconfig", id="invalid: token unknown, replayed"),
    pytest.param(None, Signatures.DROP, [], "dropped 2 signature(s)", id="invalid: token unknown, dropped"),
])
def test_cluster_info_is_rewritten_to_the_proxys_ca_and_address(token: str | None, signatures: Signatures,
                                                                keys: list[str], summary: str) -> None:
    forged = rewrite_cluster_info(ORIGINAL, server="https://127.0.0.1:7443", ca_pem=CA.cert_pem, token=token,
                                  signatures=signatures)
    data = forged.configmap["data"]
    cluster = kubeconfig.load(data["kubeconfig"]).current_cluster()
    assert (cluster.server, cluster.ca_data) == ("https://127.0.0.1:7443", CA.cert_pem)
    assert sorted(k for k in data if k.startswith("jws-")) == keys and forged.summary == summary
    valid = jws.detached_token_is_valid(data.get("jws-kubeconfig-abcdef", ""), data["kubeconfig"], "abcdef",
                                        TOKEN.split(".")[1])
    assert valid is (token is not None)
    assert ORIGINAL["data"]["jws-kubeconfig-abcdef"] == "orig..sig"  # the input is left alone


def test_a_cluster_info_without_kubeconfig_passes_unchanged() -> None:
    bare = {"data": {"other": "x"}}
    assert rewrite_cluster_info(bare, server="https://x:1", ca_pem=CA.cert_pem, token=TOKEN).configmap == bare


# --- robustness -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def proxy(upstream: Served) -> Iterator[MitmProxy]:
    with proxy_for(upstream) as running:
        yield running


def send(proxy: MitmProxy, method: str, path: str, raw: bytes | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """Send one anonymous request to the proxy, trusting its CA; return the status and the decoded body."""
    ca_file = Path(tempfile.mkdtemp(prefix="joinsim-test-mitm-")) / "ca.crt"
    ca_file.write_bytes(proxy.ca.cert_pem)
    return HttpsClient(proxy.endpoint, str(ca_file), None).request(method, path, raw=raw, headers=headers)


OVERSIZED = b" " * (C.MAX_REQUEST_BODY_BYTES + 1)
BAD_PEM = dict(csr_object("bad"), spec=dict(csr_object("bad")["spec"], request=base64.b64encode(b"nope").decode()))


@pytest.mark.parametrize("method, path, raw, code, reason", [
    pytest.param("POST", CSR_COLLECTION, b"{", 400, "BadRequest", id="invalid: malformed JSON CSR"),
    pytest.param("POST", CSR_COLLECTION, json.dumps(BAD_PEM).encode(), 400, "BadRequest", id="invalid: CSR PEM"),
    pytest.param("GET", CSR_COLLECTION + "/none", None, 404, "NotFound", id="invalid: unknown CSR"),
    pytest.param("DELETE", CSR_COLLECTION + "/none", None, 405, "MethodNotAllowed", id="invalid: CSR method"),
    pytest.param("POST", "/api/v1/namespaces/default/configmaps", OVERSIZED, 413, "RequestEntityTooLarge",
                 id="invalid: body over 3 MiB"),
    pytest.param("GET", "/no/such/path", None, 403, "Forbidden", id="invalid: unknown path, forwarded (anonymous)"),
])
def test_bad_requests_get_a_status_never_a_500(proxy: MitmProxy, method: str, path: str, raw: bytes | None,
                                               code: int, reason: str) -> None:
    status, body = send(proxy, method, path, raw, {"Content-Type": "application/json"})
    assert (status, body["kind"], body["reason"]) == (code, "Status", reason)


def test_forwarded_answers_are_the_upstreams(proxy: MitmProxy, upstream: Served) -> None:
    assert send(proxy, "GET", "/version") == upstream.request("GET", "/version")
    code, body = send(proxy, "GET", "/api/v1/namespaces/kube-system/secrets")
    assert (code, body["reason"]) == (403, "Forbidden")


def test_an_unreachable_upstream_is_a_503_status(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"127.0.0.1:{probe.getsockname()[1]}"
    options = MitmOptions(listen_host="127.0.0.1", listen_port=0, upstream=closed, ca_key_type="ecdsa")
    with ServiceThread(MitmProxy(options)) as dead_end:
        code, body = send(dead_end, "GET", CLUSTER_INFO_PATH)
    assert (code, body["reason"]) == (503, "ServiceUnavailable")
    assert body["message"].startswith("error trying to reach service: ")


# --- command line --------------------------------------------------------------------------------

def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="joinsim")
    mitm_cli.add_parsers(parser.add_subparsers(dest="command"))
    return parser.parse_args(list(argv))


def test_flags_become_options() -> None:
    args = parse("mitm", "--listen", "[::1]:0", "--upstream", "10.0.0.1:6443", "--token", TOKEN, "--drop-signatures")
    options = mitm_cli.options_from_args(args)
    assert (options.listen_host, options.listen_port, options.upstream, options.token, options.signatures) == (
        "::1", 0, "10.0.0.1:6443", TOKEN, Signatures.DROP)


@pytest.mark.parametrize("argv, message", [
    pytest.param(["--listen", "127.0.0.1", "--upstream", "x:1"], "address 127.0.0.1: missing port in address",
                 id="invalid: listen without a port"),
    pytest.param(["--listen", ":0", "--upstream", "x:1", "--token", "nope"],
                 'the bootstrap token "nope" was not of the form', id="invalid: token"),
])
def test_bad_flags_are_refused(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    with pytest.raises(SystemExit):
        parse("mitm", *argv)
    assert message in capsys.readouterr().err


def test_the_command_prints_its_endpoint_and_stops_on_sigterm(upstream: Served) -> None:
    out, err = io.StringIO(), io.StringIO()
    options = MitmOptions(listen_host="127.0.0.1", listen_port=0, upstream=upstream.endpoint, ca_key_type="ecdsa")

    async def main() -> int:
        loop = asyncio.get_running_loop()
        loop.call_later(0.5, os.kill, os.getpid(), signal.SIGTERM)
        return await mitm_cli.mitm(options, stdout=out, stderr=err)
    assert asyncio.run(main()) == 0
    host, port = out.getvalue().strip().rsplit(":", 1)
    assert host == "127.0.0.1" and int(port) > 0
    assert re.match(r"\[mitm\] Listening on https://127\.0\.0\.1:\d+ for https://\S+, replaying cluster-info's "
                    r"original signatures; the proxy's CA is sha256:[0-9a-f]{64}\n", err.getvalue())
    assert err.getvalue().endswith("[mitm] Stopped (0 request(s), 0 token(s) seen)\n")


def test_joinsim_routes_mitm_to_this_module() -> None:
    from sim.cli import build_parser
    args = build_parser().parse_args(["mitm", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:6443"])
    assert args.run_command is mitm_cli.run
