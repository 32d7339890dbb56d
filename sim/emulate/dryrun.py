"""Run ``joinsim join --dry-run`` as ``kubeadm join --dry-run`` does: read for real, change nothing.

How this works: the dry run is a different driver for the same join workflow
(DESIGN rule 2), as kubeadm's is a different client and other directories for
the same phases. ``DryRunNode`` carries out the workflow's commands so that:
every API request is announced as kubeadm's dry-run client announces it; a GET
is sent for real and its object printed, and a GET that fails falls back to
kubeadm's placeholder object where kubeadm has one (a Node) or to the empty
fake store's NotFound; any other verb is only announced and answered with the
object it would have sent. Files kubeadm would write under ``/etc/kubernetes``
and ``/var/lib/kubelet`` go to ``/etc/kubernetes/tmp/kubeadm-join-dryrun<N>``
under ``--root`` instead. The kubelet is neither stopped nor started; at the
point kubeadm would start it, it prints the kubelet's files, removes
bootstrap-kubelet.conf from the dry-run directory and reports success, as
kubeadm's ``kubelet-start`` phase returns early in a dry run.
Modelled: worker joins only; the cluster must answer the reads (kubeadm would
substitute placeholder cluster-info, kubeadm-config and kubelet-config objects
when it cannot reach one).
Upstream: cmd/kubeadm/app/cmd/join.go (joinData.KubeConfigDir, KubeletDir,
Client), cmd/kubeadm/app/cmd/phases/join/kubelet.go, cmd/kubeadm/app/util/
apiclient/dryrun.go (LogAction, LogObject, GetNodeReactor),
cmd/kubeadm/app/util/dryrun/dryrun.go (PrintFilesIfDryRunning).
"""

from __future__ import annotations

import dataclasses
import json
import os
import posixpath
import random
from datetime import datetime, timezone
from typing import Any

import yaml

from sim.control import status
from sim.control.requestinfo import parse_request_info
from sim.emulate.client import NodeClient
from sim.emulate.nodefs import NodeFS
from sim.emulate.transport import Transport, user_agent
from sim.protocol import commands as cmd
from sim.protocol import constants as C
from sim.protocol import pins, x509verify
from sim.protocol.http import Response
from sim.protocol.join import WORKER_SUCCESS, JoinOutcome, join
from sim.protocol.joinconfig import JoinConfiguration

__all__ = ["CONTROL_PLANE_UNSUPPORTED", "DryRunNode", "dry_run_directory", "run_dry_run"]

DRY_RUN_PARENT = "/etc/kubernetes/tmp"
DRY_RUN_PREFIX = "kubeadm-join-dryrun"
# The directories kubeadm swaps for the dry-run directory (KubeConfigDir, KubeletDir, CertificateWriteDir).
_REDIRECTED = ("/etc/kubernetes/", "/var/lib/kubelet/")
_KUBELET_FILES = (C.KUBELET_CONFIG_PATH, C.KUBELET_FLAGS_ENV_PATH)
REAL_OBJECT_MISSING = ("[dryrun] Real object does not exist. Attempting to GET from followup reactors or from the "
                       "fake client tracker")
CONTROL_PLANE_UNSUPPORTED = ("joinsim join --dry-run covers worker joins only: a control-plane dry run would also "
                             "have to stand in for the etcd member and the control-plane Pods, which are not emulated")


def dry_run_directory() -> str:
    """Name a fresh dry-run directory as os.MkdirTemp does for kubeadm (prefix plus random digits)."""
    return f"{DRY_RUN_PARENT}/{DRY_RUN_PREFIX}{random.SystemRandom().randrange(10**8, 10**9)}"


async def run_dry_run(cfg: JoinConfiguration, root: str, **options: Any) -> tuple[JoinOutcome, DryRunNode]:
    """Dry-run a join of the node under ``root``; return the outcome and the driver (as ``client.run_join``)."""
    host_paths = (cfg.discovery_file,) if cfg.discovery_file.startswith("/") else ()
    node = DryRunNode(dry_run_dir=dry_run_directory(), fs=NodeFS(root, host_paths=host_paths), **options)
    return await node.join(cfg), node


class DryRunNode(NodeClient):
    """Drive a join as kubeadm's dry run does (see the module docstring)."""

    def __init__(self, *, dry_run_dir: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dry_run_dir = dry_run_dir
        self._discovered_server = ""

    async def join(self, cfg: JoinConfiguration) -> JoinOutcome:
        """Run the workflow up to the kubelet's start, then finish as kubeadm's dry run does."""
        self._stderr_klog(f"Using dry-run directory {self.dry_run_dir}")
        self.transport = Transport(program="kubeadm")
        workflow = join(cfg)
        value: Any = None
        try:
            while True:
                try:
                    command = workflow.send(value)
                except StopIteration as done:
                    outcome: JoinOutcome = done.value
                    return outcome
                if isinstance(command, cmd.StartKubelet):
                    workflow.close()
                    return self._finish(cfg)
                value = await self.execute(command, "kubeadm")
        finally:
            await self.transport.close()

    async def execute(self, c: cmd.Command, process: str) -> Any:
        """Carry out one command the dry-run way; reads of the host and the clock are real."""
        if isinstance(c, cmd.HttpRequest):
            return await self._api(c)
        if isinstance(c, (cmd.WriteFile, cmd.ReadFile, cmd.RemoveFile)):
            return await super().execute(dataclasses.replace(c, path=self._redirect(c.path)), process)
        if isinstance(c, cmd.StopKubelet):
            self._say("[kubelet-start] Would stop the kubelet")
            return None
        if isinstance(c, cmd.Log):
            return await super().execute(cmd.Log(text=self._retext(c.text), verbosity=c.verbosity, stream=c.stream),
                                         process)
        if isinstance(c, cmd.Mark) and c.milestone == "discovered":
            self._discovered_server = c.attrs.get("server", "")
        return await super().execute(c, process)

    # --- the API, through kubeadm's dry-run client ---

    async def _api(self, c: cmd.HttpRequest) -> cmd.HttpResult:
        """Announce the action; send GETs for real, answer the rest with what would have been sent."""
        request = c.request
        info = parse_request_info(request.method, request.path, request.query)
        group = info.api_group or "core"
        verb = {"GET": "GET", "POST": "CREATE", "PUT": "UPDATE"}.get(request.method, request.method)
        self._say(f'[dryrun] Would perform action {verb} on resource "{info.resource}" in API group '
                  f'"{group}/{info.api_version}"')
        if info.name or request.method != "POST":
            self._say(f'[dryrun] Resource name "{info.name}", namespace "{info.namespace}"')
        if request.method != "GET":
            sent = _json(request.body)
            if sent is not None:
                self._attach(sent)
            return Response(status=201 if request.method == "POST" else 200, body=sent or _placeholder(info.name),
                            headers={"Content-Type": "application/json"}, server=c.endpoint)
        assert self.transport is not None
        result = await self.transport.send(c.endpoint, request, c.tls, c.timeout, user_agent=user_agent("kubeadm"))
        if isinstance(result, Response) and result.ok and isinstance(result.body, dict):
            self._attach(result.body)
            return result
        self._say(REAL_OBJECT_MISSING)
        if info.resource == "nodes" and info.name:
            node = _placeholder(info.name)
            self._attach(node)
            return Response(status=200, body=node, headers={"Content-Type": "application/json"}, server=c.endpoint)
        missing = status.not_found(info.resource, info.api_group, info.name)
        return Response(status=missing.code, body=missing.status, headers={"Content-Type": "application/json"},
                        server=c.endpoint)

    def _attach(self, obj: dict[str, Any]) -> None:
        """Print an object as kubeadm's LogObject does (YAML, keys sorted, then an empty line)."""
        self._say("[dryrun] Attached object:\n" + _yaml(obj))

    # --- files and the end of the dry run ---

    def _redirect(self, path: str) -> str:
        """Return where a dry run writes a node path: kubeadm's directories become the dry-run directory."""
        if path.startswith(_REDIRECTED) and not path.startswith(DRY_RUN_PARENT + "/"):
            return posixpath.join(self.dry_run_dir, posixpath.basename(path))
        return path

    def _retext(self, text: str) -> str:
        """Name the dry-run files in kubeadm's lines, and say the kubelet would start rather than start it."""
        if text == "[kubelet-start] Starting the kubelet":
            return "[kubelet-start] Would start the kubelet"
        for path in _KUBELET_FILES:
            text = text.replace(f'"{path}"', f'"{self._redirect(path)}"')
        return text

    def _finish(self, cfg: JoinConfiguration) -> JoinOutcome:
        """Print the kubelet's files, drop bootstrap-kubelet.conf, report success (kubelet.go's dry-run return)."""
        self._say(f'[dryrun] Wrote certificates and kubeconfig files to the "{self.dry_run_dir}" directory')
        self._say("[dryrun] The certificates or kubeconfig files would not be printed due to their sensitive nature")
        self._say(f'[dryrun] Please examine the "{self.dry_run_dir}" directory for details about what would be written')
        for path in _KUBELET_FILES:
            content = self.fs.read(self._redirect(path))
            if content is not None:
                self._say(f'[dryrun] Would write file "{path}" with content:\n'
                          + content.decode("utf-8", errors="replace"), end="")
        self.fs.remove(self._redirect(C.BOOTSTRAP_KUBELET_CONF_PATH))
        self._say(WORKER_SUCCESS)
        ca_pem = self.fs.read(self._redirect(cfg.ca_cert_path)) or b""
        certs = x509verify.parse_certs_pem(ca_pem) if ca_pem else []
        return JoinOutcome(joined=True, node_name=cfg.node_name, trusted_ca_pin=pins.certificate_pin(certs[0])
                           if certs else "", pinned=bool(cfg.ca_cert_hashes), discovery_server=self._discovered_server)

    def _say(self, text: str, end: str = "\n") -> None:
        print(text, file=self.stdout, end=end, flush=True)

    def _stderr_klog(self, text: str) -> None:
        """Print a klog warning line (``Wmmdd hh:mm:ss.uuuuuu pid file:line] msg``), as observed from kubeadm 1.32."""
        now = datetime.now(timezone.utc)
        print(f"W{now:%m%d %H:%M:%S.%f} {os.getpid():>7} constants.go:614] {text}", file=self.stderr, flush=True)


def _json(body: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(body) if body else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _placeholder(name: str) -> dict[str, Any]:
    """Return kubeadm's dry-run Node (apiclient/dryrun.go getNode): a name, its hostname label, a CRI socket.

    Only the fields getNode sets are shown; Go's encoder would add the typed object's empty ones.
    """
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name},
                         "annotations": {C.CRI_SOCKET_ANNOTATION: "dry-run-cri-socket"}}}


class _GoYamlDumper(yaml.SafeDumper):
    """Dump as sigs.k8s.io/yaml (go-yaml v2) does: block style, keys sorted, multi-line strings as literal
    blocks, and strings that would read back as another type (``"60"``, ``""``, times) in double quotes."""


_GO_YAML_EXTRA_BOOLS = frozenset({"y", "Y", "n", "N"})  # booleans to go-yaml v2, strings to PyYAML


def _plain_tag(dumper: yaml.SafeDumper, value: str) -> str:
    tag: str = dumper.resolve(yaml.ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
    return tag


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style: str | None = None
    if "\n" in value:
        style = "|"
    elif not value or value in _GO_YAML_EXTRA_BOOLS or _plain_tag(dumper, value) != "tag:yaml.org,2002:str":
        style = '"'
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_GoYamlDumper.add_representer(str, _str)


def _yaml(obj: dict[str, Any]) -> str:
    return yaml.dump(obj, Dumper=_GoYamlDumper, sort_keys=True, default_flow_style=False, allow_unicode=True,
                     width=1 << 30)

