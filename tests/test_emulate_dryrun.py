"""Dry-run joins against ``joinsim serve``: kubeadm's dry-run output, real reads, no objects, no node files.

Upstream: cmd/kubeadm/app/cmd/phases/join/kubelet.go (the dry-run branch),
cmd/kubeadm/app/util/apiclient/dryrun.go, cmd/kubeadm/app/util/dryrun/dryrun.go.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

import pytest

from sim.emulate.dryrun import REAL_OBJECT_MISSING
from sim.protocol.join import STACK_TRACE_HINT, WORKER_SUCCESS
from tests.emulate_support import joinsim
from tests.serve_support import Served, serve

CONFIG = """apiVersion: kubeadm.k8s.io/v1beta4
kind: JoinConfiguration
dryRun: true
discovery:
  bootstrapToken:
    apiServerEndpoint: {endpoint}
    token: {token}
    caCertHashes: [{pin}]
nodeRegistration:
  name: {name}
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from serve(tmp_path_factory.mktemp("dryrun"))


def join_argv(cluster: Served, root: Path, name: str, *extra: str, pin: str | None = None) -> list[str]:
    return ["join", cluster.endpoint, "--token", cluster.server.token, "--discovery-token-ca-cert-hash",
            pin or cluster.server.ca_pin, "--node-name", name, "--root", str(root), *extra]


def announced(out: str) -> list[tuple[str, str, str]]:
    """Return every (verb, resource, name) the dry-run client announced, in order."""
    return re.findall(r'\[dryrun\] Would perform action (\w+) on resource "(\w+)" in API group "core/v1"\n'
                      r'\[dryrun\] Resource name "([^"]*)"', out)


def files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_a_dry_run_reads_for_real_and_prints_what_it_would_do(cluster: Served, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    revision = cluster.call(lambda: cluster.server.plane.store.revision)

    code, out, err = joinsim(capsys, *join_argv(cluster, tmp_path, "dry-node", "--dry-run"))

    assert code == 0, err
    assert re.fullmatch(r"W\d{4} \d\d:\d\d:\d\d\.\d{6} +\d+ constants\.go:614\] Using dry-run directory "
                        r"/etc/kubernetes/tmp/kubeadm-join-dryrun\d{9}\n", err)
    directory = err.split("Using dry-run directory ")[1].strip()
    assert out.startswith("[preflight] Running pre-flight checks\n") and out.endswith(WORKER_SUCCESS + "\n")
    assert announced(out) == [("GET", "configmaps", "cluster-info"), ("GET", "configmaps", "cluster-info"),
                              ("GET", "configmaps", "kubeadm-config"), ("GET", "configmaps", "kube-proxy"),
                              ("GET", "configmaps", "kubelet-config"), ("GET", "nodes", "dry-node")]
    assert out.count(REAL_OBJECT_MISSING) == 2  # kube-proxy (forbidden to the token) and the Node (absent)
    assert "kubeadm.alpha.kubernetes.io/cri-socket: dry-run-cri-socket\n" in out  # kubeadm's placeholder Node
    lines = out.splitlines()
    start = lines.index("[kubelet-start] Would stop the kubelet")
    assert lines[start:start + 8] == [
        "[kubelet-start] Would stop the kubelet",
        f'[kubelet-start] Writing kubelet configuration to file "{directory}/config.yaml"',
        f'[kubelet-start] Writing kubelet environment file with flags to file "{directory}/kubeadm-flags.env"',
        "[kubelet-start] Would start the kubelet",
        f'[dryrun] Wrote certificates and kubeconfig files to the "{directory}" directory',
        "[dryrun] The certificates or kubeconfig files would not be printed due to their sensitive nature",
        f'[dryrun] Please examine the "{directory}" directory for details about what would be written',
        '[dryrun] Would write file "/var/lib/kubelet/config.yaml" with content:']
    assert '[dryrun] Would write file "/var/lib/kubelet/kubeadm-flags.env" with content:\nKUBELET_KUBEADM_ARGS=' in out
    assert "Starting the kubelet" not in out and "Waiting for the kubelet" not in out

    relative = directory.lstrip("/")
    assert files_under(tmp_path) == {f"{relative}/ca.crt", f"{relative}/config.yaml", f"{relative}/kubeadm-flags.env"}
    assert (tmp_path / relative / "ca.crt").read_bytes() == cluster.server.plane.ca.cert_pem
    assert cluster.call(lambda: cluster.server.plane.store.revision) == revision  # nothing created or changed
    assert cluster.request("GET", "/api/v1/nodes/dry-node", admin=True)[0] == 404

    code, out, _ = joinsim(capsys, *join_argv(cluster, tmp_path, "dry-node"))
    assert code == 0 and out.endswith(WORKER_SUCCESS + "\n")  # the dry run left nothing that fails preflight


def test_a_dry_run_fails_as_the_join_would(cluster: Served, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = joinsim(capsys, *join_argv(cluster, tmp_path, "dry-bad", "--dry-run", pin="sha256:" + "00" * 32))
    assert code == 1
    assert err.splitlines()[1:] == [
        "error execution phase preflight: couldn't validate the identity of the API Server: cluster CA found in "
        f'cluster-info ConfigMap is invalid: none of the public keys "{cluster.server.ca_pin}" are pinned',
        STACK_TRACE_HINT]
    assert announced(out) == [("GET", "configmaps", "cluster-info")]
    assert not (tmp_path / "etc/kubernetes/pki").exists() and not (tmp_path / "var").exists()


def test_dry_run_in_the_configuration_file(cluster: Served, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "join.yaml"
    config.write_text(CONFIG.format(endpoint=cluster.endpoint, token=cluster.server.token, pin=cluster.server.ca_pin,
                                    name="dry-config"))
    code, out, _ = joinsim(capsys, "join", "--config", str(config), "--root", str(tmp_path / "root"))
    assert code == 0 and "[kubelet-start] Would start the kubelet\n" in out
    assert not (tmp_path / "root/etc/kubernetes/pki").exists()
