"""Check the kubelet's TLS bootstrap (client-go's certificate manager) against certificate_manager.go and csr.go.

Most cases run ``kubelet.bootstrap`` under a small scripted executor (``Node``
below) whose API answers each test chooses; the rest run a whole join in the
harness against a control plane that does not auto-approve, with an admin
denying, failing, deleting or replacing the CSR.
"""

from __future__ import annotations

import base64
import json
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Generator

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from sim.control.plane import ControlPlane
from sim.harness import DEFAULT_START, Harness
from sim.protocol import commands as cmd
from sim.protocol import constants as C
from sim.protocol import keys, kubeconfig, pins, pki
from sim.protocol.http import Request, Response
from sim.protocol.joinconfig import JoinConfiguration
from sim.protocol.kubelet import KubeletConfig, KubeletOutcome, backoff_delays, bootstrap

SIGNER = C.KUBE_APISERVER_CLIENT_KUBELET_SIGNER
SERVER = "https://10.0.0.1:6443"
ENDPOINT = "10.0.0.1:6443"
TOKEN = "abcdef.0123456789abcdef"
START = datetime(2026, 1, 1, tzinfo=timezone.utc)
CA = pki.create_ca(now=START, rng=random.Random(1), key_type="ecdsa")
CSR_PATH = "/apis/certificates.k8s.io/v1/certificatesigningrequests"
UNAUTHORIZED = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": "Unauthorized",
                "reason": "Unauthorized", "code": 401}


# --- backoff ------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1, 42, 2024], ids=lambda s: f"valid: seed {s}")
def test_backoff_is_four_jittered_doublings_then_a_flat_32s(seed: int) -> None:
    delays = backoff_delays(random.Random(seed))
    got = [next(delays) for _ in range(30)]
    draws = random.Random(seed)
    expected = [base * (1 + 0.1 * draws.random()) for base in (2.0, 4.0, 8.0, 16.0)]
    assert got[:4] == pytest.approx(expected, rel=0, abs=1e-12)
    for base, delay in zip((2.0, 4.0, 8.0, 16.0), got):
        assert base <= delay <= base * 1.1
    assert got[4:] == [32.0] * 26


def test_backoff_is_deterministic_for_a_seed_and_differs_across_seeds() -> None:
    def first(seed: int) -> list[float]:
        gen = backoff_delays(random.Random(seed))
        return [next(gen) for _ in range(6)]

    assert first(7) == first(7)
    assert first(7)[:4] != first(8)[:4]


# --- a scripted executor ------------------------------------------------------------------

Watcher = Callable[["Node", cmd.WatchObject], Any]


@dataclass
class Node:
    """Carry out the kubelet's commands on a virtual clock, against API answers the test scripts."""

    files: dict[str, bytes] = field(default_factory=dict)
    create: Callable[["Node", Request], cmd.HttpResult] | None = None
    watch: Watcher | None = None
    t: float = 0.0
    logs: list[tuple[float, str, str]] = field(default_factory=list)
    marks: list[tuple[float, str, dict[str, str]]] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)
    requests: list[tuple[float, cmd.HttpRequest]] = field(default_factory=list)
    watches: list[cmd.WatchObject] = field(default_factory=list)
    written: list[str] = field(default_factory=list)
    created: list[dict[str, Any]] = field(default_factory=list)

    def run(self, workflow: Generator[cmd.Command, Any, KubeletOutcome], *, limit: int = 10_000) -> KubeletOutcome:
        value: Any = None
        for _ in range(limit):
            try:
                command = workflow.send(value)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            value = self.execute(command)
        raise AssertionError("the workflow did not finish")

    def execute(self, c: cmd.Command) -> Any:
        if isinstance(c, cmd.Sleep):
            self.sleeps.append(c.seconds)
            self.t += c.seconds
            return None
        if isinstance(c, cmd.ReadClock):
            return START + timedelta(seconds=self.t)
        if isinstance(c, cmd.ReadFile):
            return self.files.get(c.path)
        if isinstance(c, cmd.WriteFile):
            self.files[c.path] = c.data
            self.written.append(c.path)
            return None
        if isinstance(c, cmd.GenerateKey):
            return keys.generate_private_key(c.key_type)
        if isinstance(c, cmd.CreateCSR):
            return pki.build_csr(c.key, common_name=c.common_name, organizations=c.organizations)
        if isinstance(c, cmd.Log):
            self.logs.append((self.t, c.stream, c.text))
            return None
        if isinstance(c, cmd.Mark):
            self.marks.append((self.t, c.milestone, dict(c.attrs)))
            return None
        if isinstance(c, cmd.HttpRequest):
            self.requests.append((self.t, c))
            if c.purpose == "csr-create":
                assert self.create is not None
                return self.create(self, c.request)
            return Response(status=201, body={}, server="control-plane")
        if isinstance(c, cmd.WatchObject):
            self.watches.append(c)
            assert self.watch is not None
            return self.watch(self, c)
        raise AssertionError(f"unexpected command {c!r}")

    def milestones(self, name: str) -> list[float]:
        return [t for t, m, _ in self.marks if m == name]

    def kubelet_logs(self) -> list[str]:
        return [text for _, stream, text in self.logs if stream == "kubelet"]


def boot_files() -> dict[str, bytes]:
    return {C.BOOTSTRAP_KUBELET_CONF_PATH: kubeconfig.token_kubeconfig(SERVER, CA.cert_pem, TOKEN).encode()}


def accept(node: Node, request: Request) -> Response:
    """Answer a CSR create as kube-apiserver does: name from generateName, uid, resourceVersion."""
    body = json.loads(request.body)
    body["metadata"] = {"name": f"csr-{len(node.created):05d}", "uid": f"uid-{len(node.created)}",
                        "resourceVersion": str(100 + len(node.created))}
    node.created.append(body)
    return Response(status=201, body=body, server="control-plane")


def with_conditions(obj: dict[str, Any], *conditions: dict[str, str], certificate: bytes | None = None,
                    uid: str | None = None) -> dict[str, Any]:
    new = dict(obj, metadata=dict(obj["metadata"], resourceVersion=str(int(obj["metadata"]["resourceVersion"]) + 1)))
    if uid is not None:
        new["metadata"]["uid"] = uid
    status: dict[str, Any] = {"conditions": list(conditions)}
    if certificate is not None:
        status["certificate"] = base64.b64encode(certificate).decode()
    new["status"] = status
    return new


def cond(type_: str, reason: str = "R", message: str = "M", status: str = "True") -> dict[str, str]:
    return {"type": type_, "status": status, "reason": reason, "message": message}


def sign(node: Node) -> bytes:
    request = pki.parse_csr_pem(base64.b64decode(node.created[-1]["spec"]["request"]))
    return pki.cert_pem(pki.sign_csr(CA, request, usages=C.KUBELET_CLIENT_USAGES_ECDSA,
                                     now=START + timedelta(seconds=node.t)))


def answer(kind: str) -> Watcher:
    """Build a watch that delivers one change of the given kind after 3 s."""
    def watch(node: Node, c: cmd.WatchObject) -> Any:
        node.t += 3.0
        obj = node.created[-1]
        if kind == "denied":
            return Response(status=200, body=with_conditions(obj, cond("Denied", "KubectlDeny", "no thanks")))
        if kind == "failed":
            return Response(status=200, body=with_conditions(obj, cond("Approved"), cond(
                "Failed", C.SIGNER_VALIDATION_FAILURE_REASON, "subject organization is not system:nodes")))
        if kind == "deleted":
            return Response(status=404, body={"kind": "Status", "code": 404})
        if kind == "uid-changed":
            return Response(status=200, body=with_conditions(obj, uid="another-uid"))
        if kind == "issued":
            return Response(status=200, body=with_conditions(obj, cond("Approved"), certificate=sign(node)))
        raise AssertionError(kind)
    return watch


def config(**overrides: Any) -> KubeletConfig:
    settings: dict[str, Any] = dict(node_name="node-1", rng=random.Random(3), max_attempts=1)
    settings.update(overrides)
    return KubeletConfig(**settings)


# --- one attempt's verdicts ---------------------------------------------------------------

@pytest.mark.parametrize(
    "kind, error",
    [
        pytest.param("denied", "cannot watch on the certificate signing request: certificate signing request is "
                               "denied, reason: KubectlDeny, message: no thanks", id="invalid: denied"),
        pytest.param("failed", "cannot watch on the certificate signing request: certificate signing request failed, "
                               "reason: SignerValidationFailure, message: subject organization is not system:nodes",
                     id="invalid: failed by the signer"),
        pytest.param("deleted", 'cannot watch on the certificate signing request: csr "csr-00000" was deleted',
                     id="invalid: deleted while waiting"),
        pytest.param("uid-changed", 'cannot watch on the certificate signing request: csr "csr-00000" changed UIDs',
                     id="invalid: replaced by another CSR of the same name"),
    ],
)
def test_terminal_csr_states_end_the_attempt_with_client_go_text(kind: str, error: str) -> None:
    node = Node(files=boot_files(), create=accept, watch=answer(kind))
    outcome = node.run(bootstrap(config()))
    assert outcome == KubeletOutcome(bootstrapped=False, csr_name="", csr_server="", error=error)
    assert node.kubelet_logs() == [f"{SIGNER}: certificate request was not signed: {error}"]
    assert C.KUBELET_CLIENT_CURRENT_PATH not in node.files
    assert node.milestones("csr-created") == [0.0] and node.milestones("csr-issued") == []


def test_issued_certificate_is_stored_and_the_node_registered() -> None:
    node = Node(files=boot_files(), create=accept, watch=answer("issued"))
    outcome = node.run(bootstrap(config(max_attempts=0)))
    assert outcome == KubeletOutcome(bootstrapped=True, csr_name="csr-00000", csr_server="control-plane")
    stored = node.files[C.KUBELET_CLIENT_CURRENT_PATH]
    assert stored.startswith(b"-----BEGIN CERTIFICATE-----") and b"PRIVATE KEY-----" in stored
    assert node.files[f"{C.KUBELET_PKI_DIR}/kubelet-client-2026-01-01-00-00-03.pem"] == stored
    cert = x509.load_pem_x509_certificate(stored)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "system:node:node-1"
    conf = kubeconfig.load(node.files[C.KUBELET_CONF_PATH])
    assert conf.current_cluster().server == SERVER
    user = conf.current_user()
    assert user is not None and user.client_cert_path == user.client_key_path == C.KUBELET_CLIENT_CURRENT_PATH
    assert [m for _, m, _ in node.marks] == ["kubelet-healthy", "csr-created", "csr-issued", "certificate-stored",
                                            "node-registered", "node-ready"]
    purposes = [c.purpose for _, c in node.requests]
    assert purposes == ["csr-create", "node-register", "node-ready"]
    register = node.requests[1][1]
    assert register.tls.client_cert_pem is not None and register.request.header("Authorization") is None


def test_csr_create_request_is_what_the_certificate_manager_sends() -> None:
    node = Node(files=boot_files(), create=accept, watch=answer("denied"))
    node.run(bootstrap(config()))
    _, create = node.requests[0]
    assert (create.endpoint, create.request.method, create.request.path) == (ENDPOINT, "POST", CSR_PATH)
    assert create.request.header("Authorization") == f"Bearer {TOKEN}"
    assert create.tls.ca_pem == CA.cert_pem and create.tls.client_cert_pem is None
    body = node.created[0]
    assert body["metadata"]["name"] == "csr-00000"
    assert body["spec"]["signerName"] == SIGNER
    assert body["spec"]["usages"] == ["digital signature", "client auth"]
    assert "expirationSeconds" not in body["spec"]
    request = pki.parse_csr_pem(base64.b64decode(body["spec"]["request"]))
    assert request.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "system:node:node-1"
    assert [a.value for a in request.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == ["system:nodes"]
    watch = node.watches[0]
    assert watch.request.path == f"{CSR_PATH}/csr-00000" and watch.resource_version == "100"
    assert watch.timeout == C.KUBELET_CSR_ATTEMPT_TIMEOUT == 900.0


def test_each_attempt_has_15_minutes_then_times_out() -> None:
    def silent(node: Node, c: cmd.WatchObject) -> None:
        node.t += c.timeout
        return None

    node = Node(files=boot_files(), create=accept, watch=silent)
    outcome = node.run(bootstrap(config()))
    assert outcome.error == "timed out waiting for the condition"
    assert node.logs[-1] == (900.0, "kubelet",
                             f"{SIGNER}: certificate request was not signed: timed out waiting for the condition")
    assert [w.timeout for w in node.watches] == [900.0]


def test_a_watch_that_returns_early_keeps_the_remaining_deadline() -> None:
    def pending_then_silent(node: Node, c: cmd.WatchObject) -> Any:
        if len(node.watches) == 1:
            node.t += 100.0
            return Response(status=200, body=with_conditions(node.created[-1]))
        node.t += c.timeout
        return None

    node = Node(files=boot_files(), create=accept, watch=pending_then_silent)
    outcome = node.run(bootstrap(config()))
    assert outcome.error == "timed out waiting for the condition"
    assert [w.timeout for w in node.watches] == [900.0, 800.0]
    assert node.watches[1].resource_version == "101"


def test_transport_failure_while_watching_retries_after_a_second() -> None:
    def flaky(node: Node, c: cmd.WatchObject) -> Any:
        if len(node.watches) == 1:
            return cmd.TransportFailure(message="dial tcp 10.0.0.1:6443: connect: connection refused")
        return answer("issued")(node, c)

    node = Node(files=boot_files(), create=accept, watch=flaky)
    outcome = node.run(bootstrap(config(max_attempts=0)))
    assert outcome.bootstrapped and node.sleeps == [1.0]


# --- retries ------------------------------------------------------------------------------

def test_401_on_csr_create_retries_with_backoff_until_it_succeeds() -> None:
    def unauthorized_twice(node: Node, request: Request) -> Response:
        if len(node.requests) <= 2:
            return Response(status=401, body=UNAUTHORIZED)
        return accept(node, request)

    node = Node(files=boot_files(), create=unauthorized_twice, watch=answer("issued"))
    outcome = node.run(bootstrap(config(max_attempts=0, rng=random.Random(9))))
    assert outcome.bootstrapped and outcome.csr_name == "csr-00000"
    expected = backoff_delays(random.Random(9))
    assert node.sleeps == [next(expected), next(expected)]
    message = (f"{SIGNER}: Failed while requesting a signed certificate from the control plane: "
               "cannot create certificate signing request: Unauthorized")
    assert node.kubelet_logs() == [message, message]
    creates = [t for t, c in node.requests if c.purpose == "csr-create"]
    assert creates == pytest.approx([0.0, node.sleeps[0], node.sleeps[0] + node.sleeps[1]])


def test_every_attempt_uses_a_fresh_key_and_csr() -> None:
    node = Node(files=boot_files(), create=accept, watch=answer("denied"))
    node.run(bootstrap(config(max_attempts=3)))
    requests = [pki.parse_csr_pem(base64.b64decode(b["spec"]["request"])) for b in node.created]
    public = {r.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
              for r in requests}
    assert len(requests) == 3 and len(public) == 3


def test_after_five_attempts_the_kubelet_polls_every_32_seconds() -> None:
    node = Node(files=boot_files(), create=lambda n, r: Response(status=401, body=UNAUTHORIZED))
    outcome = node.run(bootstrap(config(max_attempts=8, rng=random.Random(5))))
    assert outcome.error == "cannot create certificate signing request: Unauthorized"
    expected = backoff_delays(random.Random(5))
    assert node.sleeps == [next(expected) for _ in range(7)]
    assert node.sleeps[4:] == [32.0, 32.0, 32.0]
    logs = node.kubelet_logs()
    assert logs[5] == (f"{SIGNER}: Reached backoff limit, still unable to rotate certs: "
                       "timed out waiting for the condition")
    assert len(logs) == 9


# --- start-up -----------------------------------------------------------------------------

def test_existing_kubelet_conf_without_bootstrap_file_is_used_as_is() -> None:
    original = b"apiVersion: v1\nkind: Config\n"
    node = Node(files={C.KUBELET_CONF_PATH: original})
    outcome = node.run(bootstrap(config(start_delay=2.0)))
    assert outcome == KubeletOutcome(bootstrapped=False, error="")
    assert node.requests == [] and node.written == [] and node.files == {C.KUBELET_CONF_PATH: original}
    assert node.marks == [(2.0, "kubelet-healthy", {})]


def test_missing_bootstrap_kubeconfig_stops_the_kubelet_before_it_is_healthy() -> None:
    node = Node()
    outcome = node.run(bootstrap(config()))
    message = ("failed to run Kubelet: unable to load bootstrap kubeconfig: "
               "stat /etc/kubernetes/bootstrap-kubelet.conf: no such file or directory")
    assert outcome == KubeletOutcome(bootstrapped=False, error=message)
    assert node.logs == [(0.0, "kubelet", message)]
    assert node.marks == [] and node.requests == []


def test_valid_kubelet_conf_is_kept_even_with_a_bootstrap_file() -> None:
    cert = pki.create_client_cert(CA, common_name="system:node:node-1", organizations=("system:nodes",), now=START,
                                  rng=random.Random(2), key_type="ecdsa")
    conf = kubeconfig.cert_kubeconfig(SERVER, CA.cert_pem, cert_pem=cert.cert_pem, key_pem=cert.key_pem)
    node = Node(files={**boot_files(), C.KUBELET_CONF_PATH: conf.encode()}, create=accept, watch=answer("issued"))
    node.run(bootstrap(config()))
    assert [c.purpose for _, c in node.requests] == ["node-register", "node-ready"]


# --- the same verdicts through the harness, with an admin acting on the CSR ----------------

def admin(plane: ControlPlane, method: str, path: str, body: Any = None) -> Response:
    return plane.handle(Request.build(method, path, body=body, client=plane.admin_subject()), DEFAULT_START)


def deny(plane: ControlPlane, harness: Harness, name: str) -> None:
    plane.approve_csr(name, harness.now, deny=True)


def fail(plane: ControlPlane, harness: Harness, name: str) -> None:
    obj = plane.store.get("certificatesigningrequests", "", name)
    assert obj is not None
    obj["status"] = {"conditions": [cond("Failed", "Broken", "the signer is broken")]}
    assert admin(plane, "PUT", f"{CSR_PATH}/{name}/status", obj).ok


def delete(plane: ControlPlane, harness: Harness, name: str) -> None:
    assert admin(plane, "DELETE", f"{CSR_PATH}/{name}").ok


def replace(plane: ControlPlane, harness: Harness, name: str) -> None:
    obj = plane.store.get("certificatesigningrequests", "", name)
    assert obj is not None
    delete(plane, harness, name)
    again = {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
             "metadata": {"name": name}, "spec": obj["spec"]}
    assert admin(plane, "POST", CSR_PATH, again).status == 201


@pytest.mark.parametrize(
    "act, error",
    [
        pytest.param(deny, "certificate signing request is denied, reason: KubectlDeny, "
                           "message: This CSR was denied by kubectl certificate deny.",
                     id="invalid: kubectl certificate deny"),
        pytest.param(fail, "certificate signing request failed, reason: Broken, message: the signer is broken",
                     id="invalid: Failed condition set through /status"),
        pytest.param(delete, 'csr "{name}" was deleted', id="invalid: kubectl delete csr"),
        pytest.param(replace, 'csr "{name}" changed UIDs', id="invalid: deleted and created again at once"),
    ],
)
def test_admin_actions_on_the_csr_reach_the_waiting_kubelet(
    act: Callable[[ControlPlane, Harness, str], None], error: str
) -> None:
    rng = random.Random(4)
    plane, token, _ = ControlPlane.bootstrap(now=DEFAULT_START, rng=rng, endpoint=ENDPOINT, autoapprove=False,
                                             ca_key_type="ecdsa")
    harness = Harness(plane, rng=rng)
    node = harness.join(JoinConfiguration(node_name="node-1", api_server_endpoint=ENDPOINT, token=token.token,
                                          ca_cert_hashes=(pins.certificate_pin(plane.ca.cert),)))
    harness.run(until=4.0)
    first = node.csr_name
    assert first.startswith("csr-") and len(first) == 9
    harness.call_later(1.0, lambda: act(plane, harness, first))
    harness.run(until=20.0)
    text = error.format(name=first)
    logs = [(line.t, line.text) for line in node.logs if line.stream == "kubelet"]
    assert logs[0] == (5.0, f"{SIGNER}: certificate request was not signed: "
                            f"cannot watch on the certificate signing request: {text}")
    created = [t for t, m, _ in node.marks if m == "csr-created"]
    assert created[0] == 0.5 and 7.0 <= created[1] <= 7.2
    assert node.csr_name != first


def test_pending_csr_times_out_after_15_minutes_in_the_harness() -> None:
    rng = random.Random(4)
    plane, token, _ = ControlPlane.bootstrap(now=DEFAULT_START, rng=rng, endpoint=ENDPOINT, autoapprove=False,
                                             ca_key_type="ecdsa")
    harness = Harness(plane, rng=rng)
    node = harness.join(JoinConfiguration(node_name="node-1", api_server_endpoint=ENDPOINT, token=token.token,
                                          ca_cert_hashes=(pins.certificate_pin(plane.ca.cert),)))
    harness.run(until=1000.0)
    logs = [(line.t, line.text) for line in node.logs if line.stream == "kubelet"]
    assert logs == [(900.5, f"{SIGNER}: certificate request was not signed: timed out waiting for the condition")]
    created = [t for t, m, _ in node.marks if m == "csr-created"]
    assert created[0] == 0.5 and 902.5 <= created[1] <= 902.7
