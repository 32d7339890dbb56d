"""Run ``kubeadm join`` as a workflow of typed commands (DESIGN rule 2).

How this works: ``join(cfg)`` is a generator. It validates the configuration,
then runs kubeadm's phases in order (``cmd/kubeadm/app/cmd/join.go``):
preflight (node checks, then discovery, then reading kubeadm-config),
control-plane-prepare, check-etcd, kubelet-start (which starts the kubelet and
waits for its TLS bootstrap), etcd-join, control-plane-join and
wait-control-plane; the control-plane-only phases live in
``join_control_plane.py``. A failing phase ends the join with kubeadm's text
``error execution phase <phase>: <cause>``. The result is a ``JoinOutcome``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Generator

import yaml

from sim.protocol import constants as C
from sim.protocol import discovery_file, pins, preflight, preflight_control_plane, x509verify
from sim.protocol.commands import Command, InspectNode, KubeletState, KubeletStatus, Log, Mark
from sim.protocol.discovery import Discovered, TokenDiscovery, discover, tls_bootstrap_kubeconfig
from sim.protocol.errors import JoinsimError, ValidationError
from sim.protocol.join_kubelet import kubelet_start
from sim.protocol.join_control_plane import (
    check_etcd, control_plane_prepare, etcd_join, mark_control_plane, wait_control_plane,
)
from sim.protocol.join_state import JoinState, api_get
from sim.protocol.joinconfig import JoinConfiguration, validate

WORKER_SUCCESS = """
This node has joined the cluster:
* Certificate signing request was sent to apiserver and a response was received.
* The Kubelet was informed of the new secure connection details.

Run 'kubectl get nodes' on the control-plane to see this node join the cluster.
"""

CONTROL_PLANE_SUCCESS = """
This node has joined the cluster and a new control plane instance was created:

* Certificate signing request was sent to apiserver and approval was received.
* The Kubelet was informed of the new secure connection details.
* Control plane label and taint were applied to the new node.
* The Kubernetes control plane instances scaled up.
* A new etcd member was added to the local/stacked etcd cluster.

To start administering your cluster from this node, you need to run the following as a regular user:

	mkdir -p $HOME/.kube
	sudo cp -i /etc/kubernetes/admin.conf $HOME/.kube/config
	sudo chown $(id -u):$(id -g) $HOME/.kube/config

Run 'kubectl get nodes' to see this node join the cluster.
"""

STACK_TRACE_HINT = "To see the stack trace of this error execute with --v=5 or higher"


@dataclass(frozen=True, slots=True, kw_only=True)
class JoinOutcome:
    """Report how a join ended and whom the node ended up trusting."""

    joined: bool
    node_name: str
    control_plane: bool = False
    phase: str = ""
    """The phase that failed ("" when the join succeeded or validation failed)."""
    error: str = ""
    """kubeadm's error text, as it prints it on stderr (without the stack-trace hint)."""
    trusted_ca_pin: str = ""
    """SPKI pin of the CA the node trusts after discovery ("" if discovery did not finish)."""
    pinned: bool = False
    discovery_server: str = ""
    csr_name: str = ""
    csr_server: str = ""


class PhaseError(JoinsimError):
    """Fail one phase; ``str()`` is kubeadm's ``error execution phase`` text."""

    def __init__(self, phase: str, cause: BaseException | str) -> None:
        super().__init__(f"error execution phase {phase}: {cause}")
        self.phase = phase


Phase = tuple[str, Callable[[JoinConfiguration, JoinState], Generator[Command, Any, None]]]


def phases(cfg: JoinConfiguration) -> list[Phase]:
    """List the phases that run for this configuration, in kubeadm's order."""
    out: list[Phase] = [("preflight", run_preflight)]
    if cfg.control_plane:
        out += control_plane_prepare()
        out.append(("check-etcd", check_etcd))
    out.append(("kubelet-start", kubelet_start))
    if cfg.control_plane:
        out += [("etcd-join", etcd_join), ("control-plane-join/mark-control-plane", mark_control_plane),
                ("wait-control-plane", wait_control_plane)]
    return out


def join(cfg: JoinConfiguration) -> Generator[Command, Any, JoinOutcome]:
    """Join a node to a cluster; return the outcome (never raises for protocol failures)."""
    state = JoinState()
    try:
        validate(cfg)
    except ValidationError as err:
        yield Log(text=f"error: {err}", stream="stderr")
        return _outcome(cfg, state, joined=False, error=str(err))
    for name, run in phases(cfg):
        yield Mark(milestone="phase", attrs={"name": name})
        try:
            yield from run(cfg, state)
        except JoinsimError as err:
            failure = err if isinstance(err, PhaseError) else PhaseError(name, err)
            yield Log(text=str(failure), stream="stderr")
            yield Log(text=STACK_TRACE_HINT, stream="stderr")
            yield from _kubelet_report(state)
            return _outcome(cfg, state, joined=False, phase=failure.phase, error=str(failure))
    yield from _kubelet_report(state)
    yield Log(text=CONTROL_PLANE_SUCCESS if cfg.control_plane else WORKER_SUCCESS)
    yield Mark(milestone="joined")
    return _outcome(cfg, state, joined=True)


def run_preflight(cfg: JoinConfiguration, state: JoinState) -> Generator[Command, Any, None]:
    """Run the node checks, then discovery, then read the cluster's kubeadm configuration."""
    yield Log(text="[preflight] Running pre-flight checks")
    facts: preflight.NodeFacts = yield InspectNode()
    endpoint = cfg.api_server_endpoint if cfg.uses_token_discovery else None
    # The CA file check is for worker joins only (a control-plane join brings its own CA).
    ca_path = "" if cfg.control_plane else cfg.ca_cert_path
    results = preflight.worker_checks(facts, ca_cert_path=ca_path, discovery_endpoint=endpoint)
    report = preflight.run_checks(results, preflight.parse_ignore_errors(cfg.ignore_preflight_errors))
    for line in report.lines:
        yield Log(text=line, stream="stderr" if report.error else "stdout")
    if report.error is not None:
        raise report.error

    found = yield from _discover(cfg)
    state.discovered = found
    state.bootstrap_kubeconfig = tls_bootstrap_kubeconfig(found, cfg.effective_tls_bootstrap_token)
    state.trusted_ca_pin = pins.certificate_pin(x509verify.parse_certs_pem(found.ca_pem)[0])
    yield Mark(milestone="discovered", attrs={"pinned": str(found.pinned).lower(), "server": found.served_by})

    yield Log(text='[preflight] Reading configuration from the "kubeadm-config" ConfigMap in namespace "kube-system"...')
    yield Log(text="[preflight] Use 'kubeadm init phase upload-config --config your-config-file' to re-upload it.")
    configmaps = "/api/v1/namespaces/kube-system/configmaps/"
    result = yield from api_get(state, configmaps + C.KUBEADM_CONFIG_CONFIGMAP)
    if isinstance(result, str):
        raise JoinsimError(f"unable to fetch the kubeadm-config ConfigMap: {result}")
    proxy = yield from api_get(state, configmaps + C.KUBE_PROXY_CONFIGMAP)
    if isinstance(proxy, str):
        yield Log(text=f"[preflight] WARNING: unable to fetch the kube-proxy ConfigMap: {proxy}", verbosity=1)
    kubelet_cm = yield from api_get(state, configmaps + cfg.kubelet_config_configmap)
    if isinstance(kubelet_cm, str):
        raise JoinsimError(f"failed to get config map: {kubelet_cm}")
    state.kubelet_config = str((kubelet_cm.get("data") or {}).get("kubelet", ""))
    if cfg.control_plane:
        yield Log(text="[preflight] Running pre-flight checks before initializing the new control plane instance")
        cp_results = preflight_control_plane.control_plane_checks(
            facts, bind_port=cfg.bind_port, certificate_key_given=bool(cfg.certificate_key),
            has_control_plane_endpoint=_has_control_plane_endpoint(result))
        cp_report = preflight.run_checks(cp_results, preflight.parse_ignore_errors(cfg.ignore_preflight_errors))
        for line in cp_report.lines:
            yield Log(text=line, stream="stderr" if cp_report.error else "stdout")
        if cp_report.error is not None:
            raise cp_report.error


def _has_control_plane_endpoint(kubeadm_config: Any) -> bool:
    """Say whether the uploaded ClusterConfiguration names a stable ``controlPlaneEndpoint``.

    kubeadm reads it from the ``kubeadm-config`` ConfigMap before its second
    preflight pass (cmd/kubeadm/app/cmd/phases/join/preflight.go).
    """
    text = ((kubeadm_config or {}).get("data") or {}).get(C.CLUSTER_CONFIGURATION_KEY, "")
    try:
        doc = yaml.safe_load(text) if isinstance(text, str) else None
    except yaml.YAMLError:
        return False
    return isinstance(doc, dict) and bool(doc.get("controlPlaneEndpoint"))


def _discover(cfg: JoinConfiguration) -> Generator[Command, Any, Discovered]:
    """Choose token or file/HTTPS discovery, as ``discovery.For`` does."""
    if cfg.discovery_file:
        return (yield from discovery_file.discover_from_file(cfg.discovery_file, cfg.discovery_timeout))
    token = TokenDiscovery(api_server_endpoint=cfg.api_server_endpoint, token=cfg.token,
                           ca_cert_hashes=cfg.ca_cert_hashes,
                           unsafe_skip_ca_verification=cfg.unsafe_skip_ca_verification)
    return (yield from discover(token, cfg.discovery_timeout))


def _kubelet_report(state: JoinState) -> Generator[Command, Any, None]:
    """Ask the node which CSR the kubelet sent and where, for the outcome."""
    if not state.kubelet_started:
        return
    status: KubeletState = yield KubeletStatus()
    state.csr_name, state.csr_server = status.csr_name, status.csr_server


def _outcome(cfg: JoinConfiguration, state: JoinState, *, joined: bool, phase: str = "", error: str = "") -> JoinOutcome:
    found = state.discovered
    return JoinOutcome(
        joined=joined, node_name=cfg.node_name, control_plane=cfg.control_plane, phase=phase, error=error,
        trusted_ca_pin=state.trusted_ca_pin, pinned=found.pinned if found else False,
        discovery_server=found.served_by if found else "", csr_name=state.csr_name, csr_server=state.csr_server,
    )

