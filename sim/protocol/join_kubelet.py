"""Run the ``kubelet-start`` phase: hand the node to the kubelet and wait for its TLS bootstrap.

Follows ``cmd/kubeadm/app/cmd/phases/join/kubelet.go``: write
bootstrap-kubelet.conf and the CA, refuse to continue if a Ready Node of the
same name exists, write the kubelet's config, restart it, wait for
``/healthz`` (every 500 ms, up to 4 min), then poll every 1 s (up to 5 min)
until kubelet.conf and the certificate it points to load. bootstrap-kubelet.conf
is removed afterwards, also on failure.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generator

from sim.protocol import constants as C
from sim.protocol import kubeconfig
from sim.protocol.commands import (
    Command, KubeletState, KubeletStatus, Log, Mark, ReadClock, ReadFile, RemoveFile, StartKubelet, StopKubelet,
    WriteFile,
)
from sim.protocol.discovery import response_error
from sim.protocol.errors import JoinsimError, TLSBootstrapError, go_quote, wrap
from sim.protocol.join_state import JoinState, api_call
from sim.protocol.joinconfig import JoinConfiguration
from sim.protocol.kubelet import load_kubelet_identity
from sim.protocol.poll import go_duration, poll_until_timeout

HEALTHZ_URL = f"http://127.0.0.1:{C.KUBELET_HEALTHZ_PORT}/healthz"
JOIN_FAIL_MESSAGE = """
Unfortunately, an error has occurred:
	{error}

This error is likely caused by:
	- The kubelet is not running
	- The kubelet is unhealthy due to a misconfiguration of the node in some way (required cgroups disabled)

If you are on a systemd-powered system, you can try to troubleshoot the error with the following commands:
	- 'systemctl status kubelet'
	- 'journalctl -xeu kubelet'
"""
# apimachinery's wait.PollUntilContextTimeout returns the context's error at the deadline.
DEADLINE_EXCEEDED = "context deadline exceeded"


def kubelet_start(cfg: JoinConfiguration, state: JoinState) -> Generator[Command, Any, None]:
    """Write the kubelet's files, restart it and wait until it holds a client certificate."""
    yield WriteFile(path=C.BOOTSTRAP_KUBELET_CONF_PATH, data=kubeconfig.file_bytes(state.bootstrap_kubeconfig))
    try:
        yield from _start_and_wait(cfg, state)
    except JoinsimError:
        yield RemoveFile(path=C.BOOTSTRAP_KUBELET_CONF_PATH)
        raise
    yield RemoveFile(path=C.BOOTSTRAP_KUBELET_CONF_PATH)


def _start_and_wait(cfg: JoinConfiguration, state: JoinState) -> Generator[Command, Any, None]:
    assert state.discovered is not None
    if (yield ReadFile(path=cfg.ca_cert_path)) is None:
        yield WriteFile(path=cfg.ca_cert_path, data=state.discovered.ca_pem, mode=0o644)
    yield from _refuse_ready_duplicate(cfg, state)
    yield StopKubelet()
    yield Log(text=f'[kubelet-start] Writing kubelet configuration to file "{C.KUBELET_CONFIG_PATH}"')
    yield WriteFile(path=C.KUBELET_CONFIG_PATH, data=kubeconfig.file_bytes(state.kubelet_config), mode=0o644)
    yield Log(text=f'[kubelet-start] Writing kubelet environment file with flags to file "{C.KUBELET_FLAGS_ENV_PATH}"')
    flags = f'KUBELET_KUBEADM_ARGS="--container-runtime-endpoint={cfg.cri_socket} --node-labels={_labels(cfg)}"\n'
    yield WriteFile(path=C.KUBELET_FLAGS_ENV_PATH, data=flags.encode(), mode=0o644)
    yield Log(text="[kubelet-start] Starting the kubelet")
    yield StartKubelet(node_name=cfg.node_name, labels=cfg.node_labels)
    state.kubelet_started = True
    yield from _wait_for_healthy_kubelet(cfg)
    yield from _wait_for_kubelet_conf(cfg)
    yield from _annotate_cri_socket(cfg, state)


def _refuse_ready_duplicate(cfg: JoinConfiguration, state: JoinState) -> Generator[Command, Any, None]:
    """Fail before the TLS bootstrap if a Ready Node of the same name exists."""
    path = f"/api/v1/nodes/{cfg.node_name}"
    result = yield from api_call(state, "GET", path, purpose="node-check")
    if isinstance(result, str):
        raise JoinsimError(wrap(f"cannot get Node {go_quote(cfg.node_name)}", result))
    if result.status == 404:
        return
    if not result.ok:  # a Status message, or client-go's text for a bare body (a 429 from the filters, say)
        raise JoinsimError(wrap(f"cannot get Node {go_quote(cfg.node_name)}", response_error("GET", path, result)))
    for cond in ((result.body or {}).get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready" and cond.get("status") == "True":
            raise JoinsimError(
                f'a Node with name "{cfg.node_name}" and status "Ready" already exists in the cluster. '
                "You must delete the existing Node or change the name of this new joining Node")


def _wait_for_healthy_kubelet(cfg: JoinConfiguration) -> Generator[Command, Any, None]:
    """Poll the kubelet's ``/healthz`` every 500 ms (``KubeWaiter.WaitForKubelet``)."""
    timeout = cfg.kubelet_health_check_timeout
    yield Log(text=f"[kubelet-check] Waiting for a healthy kubelet at {HEALTHZ_URL}. "
                   f"This can take up to {go_duration(timeout)}")
    start: datetime = yield ReadClock()

    def healthy() -> Generator[Command, Any, bool]:
        status: KubeletState = yield KubeletStatus()
        return status.healthy

    ok = yield from poll_until_timeout(C.KUBERNETES_API_CALL_RETRY_INTERVAL, timeout, healthy)
    now: datetime = yield ReadClock()
    elapsed = go_duration((now - start).total_seconds())
    if not ok:
        yield Log(text=f"[kubelet-check] The kubelet is not healthy after {elapsed}")
        error = (f"The HTTP call equal to 'curl -sSL {HEALTHZ_URL}' returned error: Get \"{HEALTHZ_URL}\": "
                 f"dial tcp 127.0.0.1:{C.KUBELET_HEALTHZ_PORT}: connect: connection refused\n")
        yield Log(text=JOIN_FAIL_MESSAGE.format(error=error))
        raise TLSBootstrapError(error)
    yield Log(text=f"[kubelet-check] The kubelet is healthy after {elapsed}")


def _wait_for_kubelet_conf(cfg: JoinConfiguration) -> Generator[Command, Any, None]:
    """Poll every second until a client can be built from kubelet.conf (``waitForTLSBootstrappedClient``)."""
    yield Log(text="[kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap")
    ok = yield from poll_until_timeout(C.TLS_BOOTSTRAP_RETRY_INTERVAL, cfg.tls_bootstrap_timeout, kubelet_client_ready)
    if not ok:
        yield Log(text=JOIN_FAIL_MESSAGE.format(error=DEADLINE_EXCEEDED))
        raise TLSBootstrapError(DEADLINE_EXCEEDED)
    yield Mark(milestone="kubelet-conf-loaded")


def kubelet_client_ready() -> Generator[Command, Any, bool]:
    """Tell whether kubelet.conf and the certificate and key it points to all load."""
    return (yield from load_kubelet_identity()) is not None


def _annotate_cri_socket(cfg: JoinConfiguration, state: JoinState) -> Generator[Command, Any, None]:
    """Record the CRI socket on the Node with the new identity, once the kubelet has registered it."""
    identity = yield from load_kubelet_identity()
    assert identity is not None
    tls = identity.tls
    patch = {"metadata": {"annotations": {C.CRI_SOCKET_ANNOTATION: cfg.cri_socket}}}
    last = ""

    def patched() -> Generator[Command, Any, bool]:
        nonlocal last
        result = yield from api_call(state, "PATCH", f"/api/v1/nodes/{cfg.node_name}", body=patch, tls=tls,
                                     content_type="application/strategic-merge-patch+json", purpose="node-annotate")
        if isinstance(result, str):
            last = result
            return False
        if not result.ok:
            last = str((result.body or {}).get("message", "")) if isinstance(result.body, dict) else ""
            return False
        return True

    if not (yield from poll_until_timeout(C.KUBERNETES_API_CALL_RETRY_INTERVAL, cfg.kubernetes_api_call_timeout, patched)):
        raise JoinsimError(wrap("error writing CRISocket for this node", last or DEADLINE_EXCEEDED))


def _labels(cfg: JoinConfiguration) -> str:
    return ",".join(f"{k}={v}" for k, v in cfg.node_labels)
