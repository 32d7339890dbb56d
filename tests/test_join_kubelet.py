"""Check kubeadm's ``kubelet-start`` phase against cmd/kubeadm/app/cmd/phases/join/kubelet.go and the kubelet waiter.

The phase runs under a small scripted executor (``Node`` below) where the
test decides when the kubelet turns healthy and when kubelet.conf appears;
whole joins in the harness check the same behaviour end to end.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Generator

import pytest

from sim.control.plane import ControlPlane
from sim.harness import DEFAULT_START, Harness
from sim.protocol import commands as cmd
from sim.protocol import constants as C
from sim.protocol import kubeconfig, pins, pki
from sim.protocol.discovery import Discovered, tls_bootstrap_kubeconfig
from sim.protocol.errors import JoinsimError, TLSBootstrapError
from sim.protocol.http import Response
from sim.protocol.join_kubelet import DEADLINE_EXCEEDED, HEALTHZ_URL, JOIN_FAIL_MESSAGE, kubelet_start
from sim.protocol.join_state import JoinState
from sim.protocol.joinconfig import JoinConfiguration

ENDPOINT = "10.0.0.1:6443"
SERVER = f"https://{ENDPOINT}"
TOKEN = "abcdef.0123456789abcdef"
START = datetime(2026, 1, 1, tzinfo=timezone.utc)
CA = pki.create_ca(now=START, rng=random.Random(1), key_type="ecdsa")
OTHER_CA = pki.create_ca(now=START, rng=random.Random(2), key_type="ecdsa")
HEALTHZ_ERROR = ("The HTTP call equal to 'curl -sSL http://127.0.0.1:10248/healthz' returned error: "
                 "Get \"http://127.0.0.1:10248/healthz\": dial tcp 127.0.0.1:10248: connect: connection refused\n")
WAITING = "[kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap"


NODE_CERT = pki.create_client_cert(CA, common_name="system:node:node-1", organizations=("system:nodes",), now=START,
                                   rng=random.Random(3), key_type="ecdsa")
KUBELET_FILES = {C.KUBELET_CONF_PATH: kubeconfig.kubelet_kubeconfig(SERVER, CA.cert_pem).encode(),
                 C.KUBELET_CLIENT_CURRENT_PATH: NODE_CERT.cert_pem + NODE_CERT.key_pem}
"""What a bootstrapped kubelet leaves: kubelet.conf and the rotating cert/key file."""


@dataclass
class Node:
    """Carry out the phase's commands; the kubelet turns healthy and writes its files at scripted times."""

    files: dict[str, bytes] = field(default_factory=dict)
    healthy_at: float | None = 0.0
    bootstrapped_at: float | None = 0.0
    node_object: dict[str, Any] | None = None
    node_get: Response | None = None
    """What the Node GET answers instead of node_object (an error, say)."""
    t: float = 0.0
    kubelet_started_at: float | None = None
    journal: list[tuple[float, str, str]] = field(default_factory=list)
    """(time, operation, detail) for every file operation, request and kubelet action."""
    modes: dict[str, int] = field(default_factory=dict)
    logs: list[tuple[float, str]] = field(default_factory=list)
    marks: list[tuple[float, str]] = field(default_factory=list)

    def run(self, phase: Generator[cmd.Command, Any, None]) -> JoinsimError | None:
        value: Any = None
        for _ in range(100_000):
            try:
                command = phase.send(value)
            except StopIteration:
                return None
            except JoinsimError as err:
                return err
            value = self.execute(command)
        raise AssertionError("the phase did not finish")

    def _since_start(self, at: float | None) -> bool:
        return at is not None and self.kubelet_started_at is not None and self.t >= self.kubelet_started_at + at

    def execute(self, c: cmd.Command) -> Any:
        if isinstance(c, cmd.Sleep):
            self.t += c.seconds
            return None
        if isinstance(c, cmd.ReadClock):
            return START + timedelta(seconds=self.t)
        if isinstance(c, cmd.ReadFile):
            self.journal.append((self.t, "read", c.path))
            if self._since_start(self.bootstrapped_at) and c.path in KUBELET_FILES:
                return KUBELET_FILES[c.path]
            return self.files.get(c.path)
        if isinstance(c, cmd.WriteFile):
            self.journal.append((self.t, "write", c.path))
            self.files[c.path] = c.data
            self.modes[c.path] = c.mode
            return None
        if isinstance(c, cmd.RemoveFile):
            self.journal.append((self.t, "remove", c.path))
            self.files.pop(c.path, None)
            return None
        if isinstance(c, cmd.StopKubelet):
            self.journal.append((self.t, "kubelet", "stop"))
            return None
        if isinstance(c, cmd.StartKubelet):
            self.journal.append((self.t, "kubelet", f"start {c.node_name}"))
            self.kubelet_started_at = self.t
            return None
        if isinstance(c, cmd.KubeletStatus):
            self.journal.append((self.t, "healthz", ""))
            return cmd.KubeletState(running=True, healthy=self._since_start(self.healthy_at))
        if isinstance(c, cmd.HttpRequest):
            self.journal.append((self.t, c.request.method, c.request.path))
            if c.request.method == "GET":
                if self.node_get is not None:
                    return self.node_get
                if self.node_object is None:
                    return Response(status=404, body={"kind": "Status", "code": 404, "reason": "NotFound"})
                return Response(status=200, body=self.node_object)
            assert c.tls.client_cert_pem is not None, "the annotation uses the node's new identity"
            return Response(status=200, body={})
        if isinstance(c, cmd.Log):
            self.logs.append((self.t, c.text))
            return None
        if isinstance(c, cmd.Mark):
            self.marks.append((self.t, c.milestone))
            return None
        raise AssertionError(f"unexpected command {c!r}")

    def times(self, operation: str, detail: str) -> list[float]:
        return [t for t, op, d in self.journal if op == operation and d == detail]

    def printed(self) -> list[str]:
        return [text for _, text in self.logs]


def state(ca_pem: bytes = CA.cert_pem) -> JoinState:
    found = Discovered(kubeconfig_text="", server=SERVER, ca_pem=ca_pem, pinned=True, served_by="control-plane")
    return JoinState(discovered=found, bootstrap_kubeconfig=tls_bootstrap_kubeconfig(found, TOKEN),
                     kubelet_config="apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n")


def cfg(**overrides: Any) -> JoinConfiguration:
    settings: dict[str, Any] = dict(node_name="node-1", api_server_endpoint=ENDPOINT, token=TOKEN,
                                    unsafe_skip_ca_verification=True)
    settings.update(overrides)
    return JoinConfiguration(**settings)


# --- the healthz wait ---------------------------------------------------------------------

def test_kubelet_never_healthy_fails_after_4_minutes_with_kubeadm_text() -> None:
    node = Node(healthy_at=None)
    error = node.run(kubelet_start(cfg(), state()))
    assert isinstance(error, TLSBootstrapError) and str(error) == HEALTHZ_ERROR
    polls = node.times("healthz", "")
    assert polls == [i * 0.5 for i in range(480)]
    assert node.t == 240.0
    printed = node.printed()
    assert printed[-3:] == [
        "[kubelet-check] Waiting for a healthy kubelet at http://127.0.0.1:10248/healthz. This can take up to 4m0s",
        "[kubelet-check] The kubelet is not healthy after 4m0s",
        JOIN_FAIL_MESSAGE.format(error=HEALTHZ_ERROR),
    ]
    assert "\t- 'journalctl -xeu kubelet'" in printed[-1] and HEALTHZ_URL == "http://127.0.0.1:10248/healthz"
    assert node.times("read", C.KUBELET_CONF_PATH) == []


@pytest.mark.parametrize(
    "healthy_at, timeout, printed",
    [
        pytest.param(0.0, 240.0, "[kubelet-check] The kubelet is healthy after 0s", id="valid: healthy at once"),
        pytest.param(1.2, 240.0, "[kubelet-check] The kubelet is healthy after 1.5s", id="valid: next 500 ms tick"),
        pytest.param(None, 3.0, "[kubelet-check] The kubelet is not healthy after 3s",
                     id="invalid: custom kubeletHealthCheck timeout"),
    ],
)
def test_healthz_is_polled_every_500ms(healthy_at: float | None, timeout: float, printed: str) -> None:
    node = Node(healthy_at=healthy_at)
    node.run(kubelet_start(cfg(kubelet_health_check_timeout=timeout), state()))
    assert printed in node.printed()
    polls = node.times("healthz", "")
    assert all(b - a == 0.5 for a, b in zip(polls, polls[1:]))


# --- the TLS bootstrap wait ---------------------------------------------------------------

@pytest.mark.parametrize("timeout", [300.0, 10.0, 2.5],
                         ids=["invalid: default 5m0s", "invalid: 10s", "invalid: 2.5s, between ticks"])
def test_tls_bootstrap_timeout_is_context_deadline_exceeded_after_exactly_the_timeout(timeout: float) -> None:
    node = Node(bootstrapped_at=None)
    error = node.run(kubelet_start(cfg(tls_bootstrap_timeout=timeout), state()))
    assert isinstance(error, TLSBootstrapError) and str(error) == DEADLINE_EXCEEDED == "context deadline exceeded"
    begun = next(t for t, text in node.logs if text == WAITING)
    reads = [t - begun for t in node.times("read", C.KUBELET_CONF_PATH)]
    assert reads == [float(i) for i in range(int(-(-timeout // 1)))]
    assert node.t - begun == timeout
    assert node.printed()[-1] == JOIN_FAIL_MESSAGE.format(error="context deadline exceeded")
    assert C.BOOTSTRAP_KUBELET_CONF_PATH not in node.files


def test_kubelet_conf_found_on_the_next_1s_poll() -> None:
    node = Node(bootstrapped_at=7.3)
    assert node.run(kubelet_start(cfg(), state())) is None
    begun = next(t for t, text in node.logs if text == WAITING)
    reads = [t - begun for t in node.times("read", C.KUBELET_CONF_PATH)]
    assert reads[:9] == [float(i) for i in range(9)]
    assert (8.0 + begun, "kubelet-conf-loaded") in node.marks
    assert node.times("PATCH", "/api/v1/nodes/node-1") == [8.0 + begun]


def test_kubelet_conf_pointing_at_a_missing_certificate_is_not_ready() -> None:
    node = Node(bootstrapped_at=None, files={C.KUBELET_CONF_PATH: KUBELET_FILES[C.KUBELET_CONF_PATH]})
    error = node.run(kubelet_start(cfg(tls_bootstrap_timeout=3.0), state()))
    assert str(error) == "context deadline exceeded"
    # Each poll reads the certificate and then the key, both from kubelet-client-current.pem.
    assert node.times("read", C.KUBELET_CLIENT_CURRENT_PATH) == [0.0, 0.0, 1.0, 1.0, 2.0, 2.0]


# --- files --------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "scenario",
    ["valid: success", "invalid: kubelet never healthy", "invalid: TLS bootstrap times out",
     "invalid: Ready node of the same name"],
)
def test_bootstrap_kubelet_conf_is_written_first_and_removed_last(scenario: str) -> None:
    node = Node(healthy_at=None if "healthy" in scenario else 0.0,
                bootstrapped_at=None if "times out" in scenario else 0.0,
                node_object={"status": {"conditions": [{"type": "Ready", "status": "True"}]}}
                if "Ready" in scenario else None)
    error = node.run(kubelet_start(cfg(tls_bootstrap_timeout=5.0), state()))
    assert (error is None) == scenario.startswith("valid")
    writes = [(op, d) for _, op, d in node.journal if d == C.BOOTSTRAP_KUBELET_CONF_PATH]
    assert writes == [("write", C.BOOTSTRAP_KUBELET_CONF_PATH), ("remove", C.BOOTSTRAP_KUBELET_CONF_PATH)]
    assert node.journal[0] == (0.0, "write", C.BOOTSTRAP_KUBELET_CONF_PATH)
    assert node.journal[-1][1:] == ("remove", C.BOOTSTRAP_KUBELET_CONF_PATH)
    assert C.BOOTSTRAP_KUBELET_CONF_PATH not in node.files


def test_bootstrap_kubelet_conf_carries_the_discovered_server_ca_and_token() -> None:
    node = Node()
    node.run(kubelet_start(cfg(), state()))
    written = [d for _, op, d in node.journal if op == "write"]
    assert written == [C.BOOTSTRAP_KUBELET_CONF_PATH, C.DEFAULT_CA_CERT_PATH, C.KUBELET_CONFIG_PATH,
                       C.KUBELET_FLAGS_ENV_PATH]
    assert node.modes[C.KUBELET_CONFIG_PATH] == node.modes[C.KUBELET_FLAGS_ENV_PATH] == 0o644
    assert node.files[C.KUBELET_FLAGS_ENV_PATH] == (
        b'KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix:///var/run/containerd/containerd.sock '
        b'--node-labels="\n')


@pytest.mark.parametrize(
    "existing, expected",
    [
        pytest.param(None, CA.cert_pem, id="valid: missing CA file is written"),
        pytest.param(OTHER_CA.cert_pem, OTHER_CA.cert_pem, id="valid: existing CA file is left alone"),
        pytest.param(b"", b"", id="valid: an empty file still counts as present"),
    ],
)
def test_ca_file_is_written_only_when_missing(existing: bytes | None, expected: bytes) -> None:
    node = Node(files={} if existing is None else {C.DEFAULT_CA_CERT_PATH: existing})
    assert node.run(kubelet_start(cfg(), state())) is None
    assert node.files[C.DEFAULT_CA_CERT_PATH] == expected
    wrote = node.times("write", C.DEFAULT_CA_CERT_PATH)
    assert (wrote != []) == (existing is None)
    if existing is None:
        assert node.modes[C.DEFAULT_CA_CERT_PATH] == 0o644


def test_ca_file_goes_to_the_configured_path() -> None:
    node = Node()
    node.run(kubelet_start(cfg(ca_cert_path="/opt/pki/ca.crt"), state()))
    assert node.files["/opt/pki/ca.crt"] == CA.cert_pem and C.DEFAULT_CA_CERT_PATH not in node.files


# --- the duplicate-node check ---------------------------------------------------------------

@pytest.mark.parametrize(
    "existing, refused",
    [
        pytest.param(None, False, id="valid: no Node of that name"),
        pytest.param({"status": {"conditions": [{"type": "Ready", "status": "False"}]}}, False,
                     id="valid: NotReady Node of that name"),
        pytest.param({"status": {}}, False, id="valid: Node without conditions"),
        pytest.param({"status": {"conditions": [{"type": "Ready", "status": "True"}]}}, True,
                     id="invalid: Ready Node of that name"),
    ],
)
def test_ready_node_of_the_same_name_is_refused_before_the_kubelet_starts(
    existing: dict[str, Any] | None, refused: bool
) -> None:
    node = Node(node_object=existing)
    error = node.run(kubelet_start(cfg(), state()))
    if refused:
        assert str(error) == ('a Node with name "node-1" and status "Ready" already exists in the cluster. You must '
                              "delete the existing Node or change the name of this new joining Node")
        assert node.kubelet_started_at is None
    else:
        assert error is None and node.kubelet_started_at is not None


@pytest.mark.parametrize(
    "answer, cause",
    [
        pytest.param(Response(status=429, text="Too many requests, please try again later.\n"),
                     "the server has received too many requests and has asked us to try again later (get nodes node-1)",
                     id="invalid: a bare 429 gets client-go's generic text"),
        pytest.param(Response(status=403, body={"kind": "Status", "code": 403, "message": 'nodes "node-1" is forbidden'}),
                     'nodes "node-1" is forbidden', id="invalid: a Status keeps its message"),
    ],
)
def test_a_failed_node_check_names_its_cause(answer: Response, cause: str) -> None:
    node = Node(node_get=answer)
    error = node.run(kubelet_start(cfg(), state()))
    assert str(error) == f'cannot get Node "node-1": {cause}'
    assert node.kubelet_started_at is None


# --- end to end in the harness ----------------------------------------------------------------

def cluster(seed: int = 1, *, start_delay: float = 0.5, **options: Any) -> tuple[ControlPlane, str, Harness]:
    rng = random.Random(seed)
    plane, token, _ = ControlPlane.bootstrap(now=DEFAULT_START, rng=rng, endpoint=ENDPOINT, ca_key_type="ecdsa",
                                             **options)
    return plane, token.token, Harness(plane, rng=rng, kubelet_start_delay=start_delay)


def join_cfg(plane: ControlPlane, token: str, **overrides: Any) -> JoinConfiguration:
    return cfg(token=token, unsafe_skip_ca_verification=False, ca_cert_hashes=(pins.certificate_pin(plane.ca.cert),),
               **overrides)


def test_harness_join_with_a_kubelet_that_never_starts() -> None:
    plane, token, harness = cluster(start_delay=1000.0)
    node = harness.join(join_cfg(plane, token))
    harness.run()
    assert node.outcome is not None
    assert node.outcome.error == "error execution phase kubelet-start: " + HEALTHZ_ERROR
    stdout = [(line.t, line.text) for line in node.logs if line.stream == "stdout"]
    assert stdout[-1] == (240.0, JOIN_FAIL_MESSAGE.format(error=HEALTHZ_ERROR))
    assert C.BOOTSTRAP_KUBELET_CONF_PATH not in node.files
    assert plane.store.list("certificatesigningrequests") == []


def test_harness_join_times_out_waiting_for_tls_bootstrap_after_exactly_the_timeout() -> None:
    plane, token, harness = cluster(autoapprove=False)
    node = harness.join(join_cfg(plane, token, tls_bootstrap_timeout=42.0))
    harness.run()
    assert node.outcome is not None
    assert node.outcome.error == "error execution phase kubelet-start: context deadline exceeded"
    begun = next(line.t for line in node.logs if line.text == WAITING)
    failed = next(line.t for line in node.logs if line.stream == "stderr")
    assert failed - begun == 42.0
    assert C.BOOTSTRAP_KUBELET_CONF_PATH not in node.files
    assert node.outcome.csr_name.startswith("csr-")


def test_harness_join_success_leaves_kubelet_conf_and_removes_the_bootstrap_file() -> None:
    plane, token, harness = cluster()
    node = harness.join(join_cfg(plane, token))
    harness.run()
    assert node.outcome is not None and node.outcome.joined, node.outcome
    assert C.BOOTSTRAP_KUBELET_CONF_PATH not in node.files
    assert C.KUBELET_CONF_PATH in node.files and node.files[C.DEFAULT_CA_CERT_PATH] == plane.ca.cert_pem
    registered = plane.store.get("nodes", "", "node-1")
    assert registered is not None
    assert registered["metadata"]["annotations"][C.CRI_SOCKET_ANNOTATION] == C.DEFAULT_CRI_SOCKET
