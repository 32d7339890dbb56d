"""Test what kubeadm reset removes and that a reset node passes preflight again."""

from __future__ import annotations

import pytest

from sim.protocol.preflight import NodeFacts, run_checks, worker_checks
from sim.protocol.reset import (
    KUBECONFIG_FILES, MANUAL_CLEANUP_INSTRUCTIONS, RESET_NOTES, ResetPlan, apply_reset,
    is_control_plane_node, reset_plan,
)

FRESH = NodeFacts.healthy_worker("node-1")
KEPT = {  # reset does not touch these (PROTOCOL section 10, "What reset does not touch")
    "/etc/cni/net.d/10-flannel.conflist": b"cni",
    "/root/.kube/config": b"kubeconfig",
    "/etc/kubernetes/tmp/kubeadm-kubelet-config/config.yaml": b"tmp",
    "/etc/hosts": b"hosts",
}
WORKER_STATE = {
    "/etc/kubernetes/kubelet.conf": b"kubeconfig",
    "/etc/kubernetes/pki/ca.crt": b"ca",
    "/var/lib/kubelet/config.yaml": b"config",
    "/var/lib/kubelet/kubeadm-flags.env": b"flags",
    "/var/lib/kubelet/pki/kubelet-client-current.pem": b"pem",
}
CP_STATE = WORKER_STATE | {
    "/etc/kubernetes/admin.conf": b"x",
    "/etc/kubernetes/super-admin.conf": b"x",
    "/etc/kubernetes/controller-manager.conf": b"x",
    "/etc/kubernetes/scheduler.conf": b"x",
    "/etc/kubernetes/manifests/kube-apiserver.yaml": b"pod",
    "/etc/kubernetes/manifests/etcd.yaml": b"pod",
    "/etc/kubernetes/pki/etcd/ca.crt": b"x",
    "/var/lib/etcd/member/snap/db": b"db",
}
WORKER = FRESH.with_changes(files=WORKER_STATE | KEPT, ports_in_use=frozenset({22, 10248, 10250}))
CONTROL_PLANE = FRESH.with_changes(
    files=CP_STATE | KEPT, ports_in_use=frozenset({22, 2379, 2380, 2381, 6443, 10248, 10250, 10257, 10259}))


def test_kubeconfig_files_match_cleanupnode() -> None:
    assert KUBECONFIG_FILES == (
        "/etc/kubernetes/admin.conf", "/etc/kubernetes/super-admin.conf", "/etc/kubernetes/kubelet.conf",
        "/etc/kubernetes/bootstrap-kubelet.conf", "/etc/kubernetes/controller-manager.conf",
        "/etc/kubernetes/scheduler.conf",
    )


@pytest.mark.parametrize(
    ("facts", "control_plane", "expected"),
    [
        pytest.param(
            WORKER, False,
            ResetPlan(
                remove_etcd_member=False, etcd_data_dir="/var/lib/etcd",
                dirs_to_clean=("/etc/kubernetes/manifests", "/var/lib/kubelet", "/etc/kubernetes/pki"),
                files_to_delete=KUBECONFIG_FILES, removed=tuple(sorted(WORKER_STATE)),
                ports_freed=frozenset({10248, 10250}),
                lines=(
                    "[reset] Deleted contents of the etcd data directory: /var/lib/etcd",
                    "[reset] Stopping the kubelet service",
                    '[reset] Unmounting mounted directories in "/var/lib/kubelet"',
                    "[reset] Deleting contents of directories: [/etc/kubernetes/manifests /var/lib/kubelet "
                    "/etc/kubernetes/pki]",
                    "[reset] Deleting files: [/etc/kubernetes/admin.conf /etc/kubernetes/super-admin.conf "
                    "/etc/kubernetes/kubelet.conf /etc/kubernetes/bootstrap-kubelet.conf "
                    "/etc/kubernetes/controller-manager.conf /etc/kubernetes/scheduler.conf]",
                ),
            ),
            id="valid: worker after a join",
        ),
        pytest.param(
            CONTROL_PLANE, True,
            ResetPlan(
                remove_etcd_member=True, etcd_data_dir="/var/lib/etcd",
                dirs_to_clean=("/etc/kubernetes/manifests", "/var/lib/kubelet", "/etc/kubernetes/pki"),
                files_to_delete=KUBECONFIG_FILES, removed=tuple(sorted(CP_STATE)),
                ports_freed=frozenset({2379, 2380, 2381, 6443, 10248, 10250, 10257, 10259}),
                lines=reset_plan(WORKER, control_plane=False).lines,
            ),
            id="valid: control plane also loses etcd data and its static pods' ports",
        ),
    ],
)
def test_reset_plan(facts: NodeFacts, control_plane: bool, expected: ResetPlan) -> None:
    assert reset_plan(facts, control_plane=control_plane) == expected


@pytest.mark.parametrize(
    ("cert_dir", "cleanup_tmp_dir", "dirs", "removed"),
    [
        pytest.param("/etc/kubernetes/pki", True,
                     ("/etc/kubernetes/manifests", "/var/lib/kubelet", "/etc/kubernetes/pki", "/etc/kubernetes/tmp"),
                     set(WORKER_STATE) | {"/etc/kubernetes/tmp/kubeadm-kubelet-config/config.yaml"},
                     id="valid: --cleanup-tmp-dir also empties /etc/kubernetes/tmp"),
        pytest.param("/srv/pki", False, ("/etc/kubernetes/manifests", "/var/lib/kubelet", "/srv/pki"),
                     set(WORKER_STATE) - {"/etc/kubernetes/pki/ca.crt"} | {"/srv/pki/ca.crt"},
                     id="valid: a non-default certificate dir is emptied instead"),
    ],
)
def test_reset_plan_options(cert_dir: str, cleanup_tmp_dir: bool, dirs: tuple[str, ...], removed: set[str]) -> None:
    facts = WORKER.with_changes(files=dict(WORKER.files) | {"/srv/pki/ca.crt": b"x"})
    plan = reset_plan(facts, control_plane=False, cert_dir=cert_dir, cleanup_tmp_dir=cleanup_tmp_dir)
    assert plan.dirs_to_clean == dirs
    assert set(plan.removed) == removed


@pytest.mark.parametrize(
    ("facts", "remaining_files", "remaining_ports"),
    [
        pytest.param(WORKER, KEPT, frozenset({22}), id="valid: worker keeps only what reset does not touch"),
        pytest.param(CONTROL_PLANE, KEPT, frozenset({22}), id="valid: control plane role is guessed from manifests"),
        pytest.param(FRESH, {}, frozenset(), id="valid: reset of a clean host changes nothing"),
    ],
)
def test_apply_reset(facts: NodeFacts, remaining_files: dict[str, bytes], remaining_ports: frozenset[int]) -> None:
    after = apply_reset(facts)
    assert dict(after.files) == remaining_files
    assert after.ports_in_use == remaining_ports
    assert after.kubelet_service_enabled == facts.kubelet_service_enabled  # stopped, not disabled


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        pytest.param(CONTROL_PLANE, True, id="valid: kube-apiserver manifest marks a control plane"),
        pytest.param(WORKER, False, id="valid: worker has no manifests"),
    ],
)
def test_is_control_plane_node(facts: NodeFacts, expected: bool) -> None:
    assert is_control_plane_node(facts) is expected


@pytest.mark.parametrize(
    "facts",
    [pytest.param(WORKER, id="valid: worker rejoins after reset"),
     pytest.param(CONTROL_PLANE, id="valid: former control plane rejoins as a worker after reset")],
)
def test_reset_then_rejoin_passes(facts: NodeFacts) -> None:
    assert not run_checks(worker_checks(facts, discovery_endpoint="10.0.0.1:6443"), frozenset()).ok
    after = apply_reset(facts)
    assert worker_checks(after, discovery_endpoint="10.0.0.1:6443") == []


def test_reset_notes_in_order() -> None:
    assert RESET_NOTES == (
        "The reset process does not clean CNI configuration. To do so, you must remove /etc/cni/net.d",
        "The reset process does not reset or clean up iptables rules or IPVS tables.\n"
        'If you wish to reset iptables, you must do so manually by using the "iptables" command.\n\n'
        "If your cluster was setup to utilize IPVS, run ipvsadm --clear (or similar)\n"
        "to reset your system's IPVS tables.",
        "The reset process does not clean your kubeconfig files and you must remove them manually.\n"
        "Please, check the contents of the $HOME/.kube/config file.",
    )
    assert "does not perform cleanup of CNI plugin configuration" in MANUAL_CLEANUP_INSTRUCTIONS
