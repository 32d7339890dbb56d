"""Plan and apply ``kubeadm reset`` on a modelled host, so a node can join again.

How this works: upstream reset (``cmd/kubeadm/app/cmd/reset.go``) runs the
phases ``preflight``, ``remove-etcd-member`` and ``cleanup-node``
(``cmd/kubeadm/app/cmd/phases/reset/*``). ``reset_plan`` lists what those
phases delete from a ``NodeFacts`` and the lines they print; ``apply_reset``
returns the host afterwards. Reset empties directories but keeps them, stops
the kubelet without disabling it, removes Kubernetes-managed containers, and
leaves CNI config, iptables/IPVS rules, ``$HOME/.kube/config``, the Node
object and bootstrap tokens alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.protocol.constants import (
    ADMIN_CONF_PATH, BOOTSTRAP_KUBELET_CONF_PATH, ETCD_CLIENT_PORT, ETCD_PEER_PORT,
    KUBE_API_SERVER_PORT, KUBE_CONTROLLER_MANAGER_PORT, KUBE_SCHEDULER_PORT, KUBELET_CONF_PATH,
    KUBELET_HEALTHZ_PORT, KUBELET_PORT, KUBERNETES_DIR,
)
from sim.protocol.preflight import DEFAULT_CERT_DIR, DEFAULT_ETCD_DATA_DIR, MANIFESTS_DIR, NodeFacts

# cmd/kubeadm/app/constants/constants.go (KubeletRunDirectory, TempDir, kubeconfig file names)
KUBELET_RUN_DIR = "/var/lib/kubelet"
KUBEADM_TMP_DIR = "/etc/kubernetes/tmp"
SUPER_ADMIN_CONF_PATH = f"{KUBERNETES_DIR}/super-admin.conf"
CONTROLLER_MANAGER_CONF_PATH = f"{KUBERNETES_DIR}/controller-manager.conf"
SCHEDULER_CONF_PATH = f"{KUBERNETES_DIR}/scheduler.conf"
# cmd/kubeadm/app/constants/constants.go EtcdMetricsPort
ETCD_METRICS_PORT = 2381
# cmd/kubeadm/app/cmd/phases/reset/cleanupnode.go resetConfigDir filesToClean, in order
KUBECONFIG_FILES = (
    ADMIN_CONF_PATH, SUPER_ADMIN_CONF_PATH, KUBELET_CONF_PATH, BOOTSTRAP_KUBELET_CONF_PATH,
    CONTROLLER_MANAGER_CONF_PATH, SCHEDULER_CONF_PATH,
)
# Ports held by the kubelet and by the static pods whose containers reset removes
# (constants.go KubeletPort, KubeletHealthzPort, control-plane and etcd ports).
KUBERNETES_PORTS = frozenset({
    KUBELET_PORT, KUBELET_HEALTHZ_PORT, KUBE_API_SERVER_PORT, KUBE_SCHEDULER_PORT,
    KUBE_CONTROLLER_MANAGER_PORT, ETCD_CLIENT_PORT, ETCD_PEER_PORT, ETCD_METRICS_PORT,
})
# cmd/kubeadm/app/cmd/reset.go (releases before manualCleanupInstructions): cniCleanupInstructions,
# then iptablesCleanupInstructions split into its iptables/IPVS and kubeconfig paragraphs.
RESET_NOTES: tuple[str, ...] = (
    "The reset process does not clean CNI configuration. To do so, you must remove /etc/cni/net.d",
    "The reset process does not reset or clean up iptables rules or IPVS tables.\n"
    'If you wish to reset iptables, you must do so manually by using the "iptables" command.\n\n'
    "If your cluster was setup to utilize IPVS, run ipvsadm --clear (or similar)\n"
    "to reset your system's IPVS tables.",
    "The reset process does not clean your kubeconfig files and you must remove them manually.\n"
    "Please, check the contents of the $HOME/.kube/config file.",
)
# cmd/kubeadm/app/cmd/reset.go manualCleanupInstructions: what current releases print instead
MANUAL_CLEANUP_INSTRUCTIONS = (
    "\nThe reset process does not perform cleanup of CNI plugin configuration,\n"
    "network filtering rules and kubeconfig files.\n\n"
    "For information on how to perform this cleanup manually, please see:\n"
    "    https://k8s.io/docs/reference/setup-tools/kubeadm/kubeadm-reset/\n\n"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ResetPlan:
    """Say what one ``kubeadm reset`` deletes and prints, before anything is touched.

    ``dirs_to_clean`` keep their order from cleanupnode.go and lose their
    contents only; ``files_to_delete`` are the six kubeconfig files;
    ``removed`` lists the host files that will actually disappear.
    """

    remove_etcd_member: bool
    etcd_data_dir: str
    dirs_to_clean: tuple[str, ...]
    files_to_delete: tuple[str, ...]
    removed: tuple[str, ...]
    ports_freed: frozenset[int]
    lines: tuple[str, ...]


def is_control_plane_node(facts: NodeFacts) -> bool:
    """Guess the node's role as kubeadm does, from its kube-apiserver static pod manifest."""
    return facts.exists(f"{MANIFESTS_DIR}/kube-apiserver.yaml")


def reset_plan(facts: NodeFacts, *, control_plane: bool, cert_dir: str = DEFAULT_CERT_DIR,
               etcd_data_dir: str = DEFAULT_ETCD_DATA_DIR, cleanup_tmp_dir: bool = False) -> ResetPlan:
    """List what reset removes from ``facts`` and what it prints (PROTOCOL section 10).

    Only a control-plane node removes its etcd member, but removeetcdmember.go
    falls back to the default data dir when it finds no etcd manifest, so the
    etcd data dir is emptied (and reported) on workers too; it is normally
    empty there.
    """
    # removeetcdmember.go, then cleanupnode.go: stop the kubelet, unmount, remove containers, clean
    dirs = (MANIFESTS_DIR, KUBELET_RUN_DIR, cert_dir) + ((KUBEADM_TMP_DIR,) if cleanup_tmp_dir else ())
    lines = (f"[reset] Deleted contents of the etcd data directory: {etcd_data_dir}",
             "[reset] Stopping the kubelet service",
             f'[reset] Unmounting mounted directories in "{KUBELET_RUN_DIR}"',
             f"[reset] Deleting contents of directories: [{' '.join(dirs)}]",
             f"[reset] Deleting files: [{' '.join(KUBECONFIG_FILES)}]")
    prefixes = tuple(d.rstrip("/") + "/" for d in dirs + (etcd_data_dir,))
    removed = tuple(sorted(p for p in facts.files if p in KUBECONFIG_FILES or p.startswith(prefixes)))
    return ResetPlan(
        remove_etcd_member=control_plane, etcd_data_dir=etcd_data_dir, dirs_to_clean=dirs,
        files_to_delete=KUBECONFIG_FILES, removed=removed,
        ports_freed=facts.ports_in_use & KUBERNETES_PORTS, lines=lines,
    )


def apply_reset(facts: NodeFacts, plan: ResetPlan | None = None) -> NodeFacts:
    """Return the host after reset: kubeadm's files gone, kubelet and static pods stopped.

    Without a ``plan``, one is made with the node's role guessed from its
    manifests. The kubelet service stays enabled: reset only stops it.
    """
    if plan is None:
        plan = reset_plan(facts, control_plane=is_control_plane_node(facts))
    gone = set(plan.removed)
    return facts.with_changes(
        files={p: data for p, data in facts.files.items() if p not in gone},
        ports_in_use=facts.ports_in_use - plan.ports_freed,
    )
