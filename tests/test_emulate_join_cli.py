"""Run ``joinsim join``, ``reset`` and ``token`` end to end against a control plane served over real HTTPS."""

from __future__ import annotations

import random
import socket
from datetime import datetime, timezone
from pathlib import Path
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import pytest
from cryptography import x509

from sim.control.plane import ControlPlane
from sim.emulate.dryrun import CONTROL_PLANE_UNSUPPORTED
from sim.emulate.join_cli import RESET_ABORTED, RESET_PROMPT, run_reset
from sim.protocol import constants as C
from sim.protocol import kubeconfig, x509verify
from sim.protocol.join import CONTROL_PLANE_SUCCESS, STACK_TRACE_HINT, WORKER_SUCCESS
from sim.protocol.reset import MANUAL_CLEANUP_INSTRUCTIONS
from sim.emulate.server import ServeOptions
from sim.emulate.server_thread import ServerThread
from tests.emulate_support import joinsim

CONFIG = """apiVersion: kubeadm.k8s.io/v1beta4
kind: JoinConfiguration
discovery:
  bootstrapToken:
    apiServerEndpoint: {endpoint}
    token: {token}
    caCertHashes: [{pin}]
timeouts:
  discovery: 1s
nodeRegistration:
  name: {name}
"""


@dataclass(frozen=True)
class Cluster:
    """What the tests need of a running ``joinsim serve``: where it is, its token, CA and admin.conf."""

    thread: ServerThread
    endpoint: str
    token: str
    pin: str
    ca: x509.Certificate
    ca_pem: bytes
    admin_conf: str

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on the server's loop, where its store may be read."""
        return self.thread.call(fn)

    def plane(self) -> ControlPlane:
        plane = self.thread.server.plane
        assert plane is not None
        return plane


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Serve a real emulated control plane on 127.0.0.1:0 in a thread for the whole module."""
    thread = ServerThread(ServeOptions(dir=str(tmp_path_factory.mktemp("serve")), port=0, seed=1, ca_key_type="ecdsa"))
    server = thread.start()
    try:
        assert server.plane is not None
        yield Cluster(thread=thread, endpoint=server.endpoint, token=server.token, pin=server.ca_pin,
                      ca=server.plane.ca.cert, ca_pem=server.plane.ca.cert_pem, admin_conf=server.admin_conf)
    finally:
        thread.stop()


def join_args(cluster: Cluster, root: Path, name: str, *extra: str, pin: str | None = None) -> list[str]:
    return ["join", cluster.endpoint, "--token", cluster.token, "--discovery-token-ca-cert-hash",
            pin or cluster.pin, "--root", str(root), "--node-name", name, *extra]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_join_writes_the_node_files_and_gets_a_certificate_from_the_cluster_ca(
        cluster: Cluster, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = joinsim(capsys, *join_args(cluster, tmp_path, "node-a"))

    assert (code, err) == (0, "")
    assert out.startswith("[preflight] Running pre-flight checks\n") and out.endswith(WORKER_SUCCESS + "\n")
    files = {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()}
    assert {"etc/kubernetes/kubelet.conf", "etc/kubernetes/pki/ca.crt", "var/lib/kubelet/config.yaml",
            "var/lib/kubelet/kubeadm-flags.env", "var/lib/kubelet/pki/kubelet-client-current.pem"} <= files
    assert "etc/kubernetes/bootstrap-kubelet.conf" not in files and not any(".tmp-" in f for f in files)
    assert (tmp_path / "etc/kubernetes/pki/ca.crt").read_bytes() == cluster.ca_pem

    issued = x509.load_pem_x509_certificate((tmp_path / "var/lib/kubelet/pki/kubelet-client-current.pem").read_bytes())
    assert x509verify.verify_chain(issued, [cluster.ca], datetime.now(timezone.utc),
                                   key_usage="client auth") is None
    assert issued.subject.rfc4514_string() == "CN=system:node:node-a,O=system:nodes"
    conf = kubeconfig.load((tmp_path / "etc/kubernetes/kubelet.conf").read_bytes())
    assert conf.current_cluster().server == f"https://{cluster.endpoint}"
    user = conf.current_user()
    assert user is not None and user.client_cert_path == C.KUBELET_CLIENT_CURRENT_PATH

    node = cluster.call(lambda: cluster.plane().store.get("nodes", "", "node-a"))
    assert node["metadata"]["annotations"][C.CRI_SOCKET_ANNOTATION] == C.DEFAULT_CRI_SOCKET


def test_a_second_join_fails_preflight_until_reset(cluster: Cluster, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert joinsim(capsys, *join_args(cluster, tmp_path, "node-b"))[0] == 0

    code, out, err = joinsim(capsys, *join_args(cluster, tmp_path, "node-b"))
    assert (code, out) == (1, "[preflight] Running pre-flight checks\n")
    assert err == (
        "[preflight] Some fatal errors occurred:\n"
        "\t[ERROR FileAvailable--etc-kubernetes-kubelet.conf]: /etc/kubernetes/kubelet.conf already exists\n"
        "\t[ERROR FileAvailable--etc-kubernetes-pki-ca.crt]: /etc/kubernetes/pki/ca.crt already exists\n"
        "[preflight] If you know what you are doing, you can make a check non-fatal with "
        "`--ignore-preflight-errors=...`\n"
        "error execution phase preflight: preflight checks failed\n" + STACK_TRACE_HINT + "\n")

    code, out, _ = joinsim(capsys, "reset", "--root", str(tmp_path), "--force")
    assert code == 0 and "[reset] Deleting files: [/etc/kubernetes/admin.conf" in out
    assert out.endswith(MANUAL_CLEANUP_INSTRUCTIONS)
    assert not (tmp_path / "etc/kubernetes/kubelet.conf").exists()
    assert not any(p.is_file() for p in (tmp_path / "var/lib/kubelet").rglob("*"))
    assert (tmp_path / "etc/kubernetes/pki").is_dir()  # reset empties directories, keeps them

    code, _, err = joinsim(capsys, *join_args(cluster, tmp_path, "node-b"))
    assert code == 1 and err.startswith(
        'error execution phase kubelet-start: a Node with name "node-b" and status "Ready" already exists')
    assert joinsim(capsys, "reset", "--root", str(tmp_path), "-f")[0] == 0
    assert joinsim(capsys, *join_args(cluster, tmp_path, "node-b2"))[0] == 0


def test_a_wrong_ca_hash_fails_with_kubeadms_pin_error(cluster: Cluster, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = joinsim(capsys, *join_args(cluster, tmp_path, "node-x", pin="sha256:" + "00" * 32))
    actual = cluster.pin
    assert code == 1
    assert err == ("error execution phase preflight: couldn't validate the identity of the API Server: cluster CA "
                   f'found in cluster-info ConfigMap is invalid: none of the public keys "{actual}" are pinned\n'
                   + STACK_TRACE_HINT + "\n")
    assert not (tmp_path / "etc/kubernetes/kubelet.conf").exists()


def test_an_unreachable_endpoint_fails_discovery_with_gos_dial_error(
        cluster: Cluster, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    endpoint = f"127.0.0.1:{closed_port()}"
    config = tmp_path / "join.yaml"
    config.write_text(CONFIG.format(endpoint=endpoint, token=cluster.token, name="node-y",
                                    pin=cluster.pin))
    code, _, err = joinsim(capsys, "join", "--config", str(config), "--root", str(tmp_path / "root"))
    assert code == 1
    assert err == ("error execution phase preflight: couldn't validate the identity of the API Server: failed to "
                   f'request the cluster-info ConfigMap: Get "https://{endpoint}/api/v1/namespaces/kube-public/'
                   f'configmaps/cluster-info?timeout=10s": dial tcp {endpoint}: connect: connection refused\n'
                   + STACK_TRACE_HINT + "\n")


def test_a_join_configuration_file_joins(cluster: Cluster, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "join.yaml"
    config.write_text(CONFIG.format(endpoint=cluster.endpoint, token=cluster.token, name="node-cfg",
                                    pin=cluster.pin))
    code, out, _ = joinsim(capsys, "join", "--config", str(config), "--root", str(tmp_path / "root"))
    assert code == 0 and out.endswith(WORKER_SUCCESS + "\n")
    assert cluster.call(lambda: cluster.plane().store.get("nodes", "", "node-cfg")) is not None


def test_a_control_plane_join_writes_static_pods_and_reset_removes_them(
        cluster: Cluster, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = cluster.call(lambda: cluster.plane().upload_certs(datetime.now(timezone.utc), random.Random(7)))
    code, out, err = joinsim(capsys, *join_args(cluster, tmp_path, "cp-2", "--control-plane", "--certificate-key", key))
    assert (code, err) == (0, "") and out.endswith(CONTROL_PLANE_SUCCESS + "\n")
    manifests = tmp_path / "etc/kubernetes/manifests"
    assert {p.name for p in manifests.iterdir()} == {"etcd.yaml", "kube-apiserver.yaml",
                                                     "kube-controller-manager.yaml", "kube-scheduler.yaml"}
    assert (tmp_path / "etc/kubernetes/pki/ca.key").exists() and (tmp_path / "etc/kubernetes/admin.conf").exists()

    code, out, _ = joinsim(capsys, "reset", "--root", str(tmp_path), "-f")
    assert code == 0 and not any(p.is_file() for p in tmp_path.rglob("*"))


def test_file_discovery_reads_the_kubeconfig_from_the_host(cluster: Cluster, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    discovery = tmp_path / "discovery.conf"
    discovery.write_text(kubeconfig.cluster_info_kubeconfig(f"https://{cluster.endpoint}", cluster.ca_pem))
    code, out, err = joinsim(capsys, "join", "--discovery-file", str(discovery), "--token", cluster.token,
                             "--root", str(tmp_path / "root"), "--node-name", "node-file")
    assert (code, err) == (0, "") and out.endswith(WORKER_SUCCESS + "\n")


@pytest.mark.parametrize("argv, config, message", [
    pytest.param(["--token", "abcdef.0123456789abcdef"], "", "can not mix '--config' with arguments [token]",
                 id="invalid: flags mixed with --config"),
    pytest.param([], "apiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\ndiscovery:\n  bootstrapToken:\n"
                     "    unsafeSkipCAVerification: \"yes\"\n",
                 "json: cannot unmarshal string into Go struct field BootstrapTokenDiscovery.discovery.bootstrapToken."
                 "unsafeSkipCAVerification of type bool", id="invalid: a field of the wrong type"),
    pytest.param(["--dry-run", "--control-plane", "--certificate-key", "00" * 32], None, CONTROL_PLANE_UNSUPPORTED,
                 id="invalid: a control-plane dry run"),
])
def test_invalid_invocations_fail_before_contacting_anything(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                             argv: list[str], config: str | None, message: str) -> None:
    extra = list(argv)
    if config is not None:
        path = tmp_path / "join.yaml"
        path.write_text(config or CONFIG.format(endpoint="127.0.0.1:1", token="abcdef.0123456789abcdef", name="n",
                                                pin="sha256:" + "00" * 32))
        extra += ["--config", str(path)]
    else:
        extra = ["127.0.0.1:1", "--token", "abcdef.0123456789abcdef", "--discovery-token-unsafe-skip-ca-verification",
                 *extra]
    code, out, err = joinsim(capsys, "join", *extra, "--root", str(tmp_path / "root"))
    assert (code, out) == (1, "") and err.startswith(message) and err.endswith(STACK_TRACE_HINT + "\n")
    assert not (tmp_path / "root").exists()


def test_reset_asks_before_deleting(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import io
    (tmp_path / "etc/kubernetes").mkdir(parents=True)
    (tmp_path / "etc/kubernetes/kubelet.conf").write_text("x")
    out = io.StringIO()
    assert run_reset(str(tmp_path), stdin=io.StringIO("n\n"), stdout=out) == 1
    assert out.getvalue().endswith(RESET_PROMPT)
    assert capsys.readouterr().err.startswith(RESET_ABORTED)
    assert (tmp_path / "etc/kubernetes/kubelet.conf").exists()
    assert run_reset(str(tmp_path), stdin=io.StringIO("y\n"), stdout=io.StringIO()) == 0
    assert not (tmp_path / "etc/kubernetes/kubelet.conf").exists()


# --- tokens ----------------------------------------------------------------------------------------

@pytest.fixture
def admin_conf(cluster: Cluster) -> str:
    return cluster.admin_conf


def test_token_create_list_delete(cluster: Cluster, admin_conf: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = joinsim(capsys, "token", "create", "tok123.0123456789abcdef", "--ttl", "2h", "--description",
                           "for the test", "--kubeconfig", admin_conf)
    assert (code, out) == (0, "tok123.0123456789abcdef\n")

    code, out, err = joinsim(capsys, "token", "list", "--kubeconfig", admin_conf)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == ["TOKEN", "TTL", "EXPIRES", "USAGES", "DESCRIPTION", "EXTRA", "GROUPS"]
    row = next(line for line in lines if line.startswith("tok123.0123456789abcdef"))
    assert row.split()[1] == "1h" and row.split()[3] == "authentication,signing"
    assert "for the test" in row and row.endswith(C.NODE_BOOTSTRAP_TOKEN_AUTH_GROUP)
    assert any(line.startswith(cluster.token) for line in lines)

    code, _, err = joinsim(capsys, "token", "create", "tok123.0123456789abcdef", "--kubeconfig", admin_conf)
    assert code == 1 and err == f'a token with id "tok123" already exists\n{STACK_TRACE_HINT}\n'

    assert joinsim(capsys, "token", "delete", "tok123", "--kubeconfig", admin_conf)[:2] == (
        0, 'bootstrap token "tok123" deleted\n')
    code, _, err = joinsim(capsys, "token", "delete", "tok123.0123456789abcdef", "--kubeconfig", admin_conf)
    assert code == 1 and err == ('failed to delete bootstrap token "tok123": secrets "bootstrap-token-tok123" not found\n'
                                 f"{STACK_TRACE_HINT}\n")


def test_a_printed_join_command_joins(cluster: Cluster, admin_conf: str, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = joinsim(capsys, "token", "create", "--print-join-command", "--kubeconfig", admin_conf)
    pin = cluster.pin
    assert code == 0 and out.startswith(f"kubeadm join {cluster.endpoint} --token ")
    assert out.endswith(f" --discovery-token-ca-cert-hash {pin} \n")
    argv = out.split()[1:]
    code, out, _ = joinsim(capsys, *argv, "--root", str(tmp_path / "root"), "--node-name", "node-printed")
    assert code == 0 and out.endswith(WORKER_SUCCESS + "\n")


@pytest.mark.parametrize("argv, message", [
    pytest.param(["create", "--ttl", "bogus"], 'invalid argument "bogus" for "--ttl" flag: time: invalid duration '
                 '"bogus"', id="invalid: ttl"),
    pytest.param(["create", "--usages", "signing,bogus"], "invalid bootstrap token usage string: bogus, valid usage "
                 "options: signing,authentication", id="invalid: usage"),
    pytest.param(["create", "--certificate-key", "ab"], "cannot use --certificate-key without --print-join-command",
                 id="invalid: certificate key without the join command"),
    pytest.param(["delete"], "missing argument; 'token delete' is missing token of form", id="invalid: no token"),
    pytest.param(["delete", "nope"], "given token didn't match pattern", id="invalid: not a token"),
])
def test_token_errors(admin_conf: str, capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    code, _, err = joinsim(capsys, "token", *argv, "--kubeconfig", admin_conf)
    assert code == 1 and err.startswith(message) and err.endswith(STACK_TRACE_HINT + "\n")


def test_token_commands_need_a_readable_kubeconfig(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.conf"
    code, _, err = joinsim(capsys, "token", "list", "--kubeconfig", str(missing))
    assert code == 1 and err.startswith(f"failed to load admin kubeconfig: open {missing}: no such file or directory\n")


def test_token_generate_prints_a_fresh_token(capsys: pytest.CaptureFixture[str]) -> None:
    from sim.protocol.tokens import is_valid_bootstrap_token
    first, second = joinsim(capsys, "token", "generate")[1], joinsim(capsys, "token", "generate")[1]
    assert is_valid_bootstrap_token(first.strip()) and first != second

