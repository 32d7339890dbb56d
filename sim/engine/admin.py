"""Run a cluster admin's timed actions: tokens, CSR approvals, RBAC, ``kubeadm reset`` and ``kubeadm join``.

How this works: each action runs at its time ``at`` (simulated seconds),
as the admin would with ``admin.conf`` or on the node's shell, in order of
time (ties keep their order):

- ``CreateToken`` / ``DeleteToken``: ``kubeadm token create|delete``
  (``sim.control.kubeadm_token``, acting on the store as kubeadm acts
  through the API);
- ``ApproveCsrs``: ``kubectl certificate approve|deny`` of every pending
  CSR, or of those whose subject names a node of one group;
- ``DeleteBinding``: ``kubectl delete clusterrolebinding`` (by default
  ``kubeadm:node-autoapprove-bootstrap``, which ends auto-approval);
- ``DeleteNode``: ``kubectl delete node``;
- ``ResetNode``: ``kubeadm reset -f`` on the node (``SimNode.reset``);
- ``RejoinNode``: ``kubeadm join`` again on the node, with its group's
  configuration.

kubectl's requests go through ``ControlPlane.handle`` with the admin's
identity; the API server then publishes the change to watchers and
informers at once. An ``AdminRecord`` keeps what each action printed,
in kubectl's and kubeadm's words, or its error.
Upstream: staging/src/k8s.io/kubectl/pkg/cmd/certificates/certificates.go
(approve/deny), staging/src/k8s.io/kubectl/pkg/cmd/delete/delete.go and
pkg/printers (``<resource>.<group> "<name>" deleted``),
staging/src/k8s.io/kubectl/pkg/cmd/util/helpers.go (``Error from server
(<reason>): <message>``), cmd/kubeadm/app/cmd/token.go, cmd/kubeadm/app/cmd/reset.go.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Generator, Mapping, Sequence, Union

import simpy

from sim.control import kubeadm_token
from sim.engine.apiserver import SimApiServer
from sim.engine.cluster import TokenSpec, kubeadm_token_of
from sim.engine.node import SimNode
from sim.engine.world import World
from sim.protocol import constants as C
from sim.protocol.csr import csr_state, parse_request, subject_fields
from sim.protocol.errors import JoinsimError
from sim.protocol.http import Request, Response
from sim.protocol.joinconfig import JoinConfiguration

__all__ = [
    "AdminAction", "AdminRecord", "AdminRunner", "ApproveCsrs", "CreateToken", "DeleteBinding", "DeleteNode",
    "DeleteToken", "RejoinNode", "ResetNode",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class _Timed:
    """Carry the time an action runs at, in simulated seconds from the start."""

    at: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.at) and self.at >= 0):
            raise ValueError(f"{type(self).__name__}: at must be a non-negative number of seconds, got {self.at!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class _OnNodes(_Timed):
    """Name what an action acts on: one node, or every node of a group."""

    node: str | None = None
    group: str | None = None

    def __post_init__(self) -> None:
        _Timed.__post_init__(self)
        if (self.node is None) == (self.group is None):
            raise ValueError(f"{type(self).__name__}: give exactly one of node and group")


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateToken(_Timed):
    """Run ``kubeadm token create`` at ``at`` (an absolute ``expires`` counts from the run's start)."""

    token: TokenSpec


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteToken(_Timed):
    """Run ``kubeadm token delete <token>`` at ``at``: ``token`` is an id or a whole token."""

    token: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ApproveCsrs(_Timed):
    """Approve (or deny) at ``at`` every pending CSR, or those for the nodes of ``group``."""

    group: str | None = None
    deny: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteBinding(_Timed):
    """Delete a ClusterRoleBinding at ``at`` (by default the one that lets CSRs be auto-approved)."""

    name: str = C.NODE_AUTOAPPROVE_BOOTSTRAP_BINDING


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteNode(_OnNodes):
    """Run ``kubectl delete node`` at ``at`` for one node or every node of a group."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ResetNode(_OnNodes):
    """Run ``kubeadm reset -f`` at ``at`` on one node or every node of a group."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RejoinNode(_OnNodes):
    """Run ``kubeadm join`` again at ``at`` on one node or every node of a group, with the group's settings."""


AdminAction = Union[CreateToken, DeleteToken, ApproveCsrs, DeleteBinding, DeleteNode, ResetNode, RejoinNode]


@dataclass(frozen=True, slots=True, kw_only=True)
class AdminRecord:
    """Report one admin action: when, what, on what, what it printed, and its errors ("" if it worked)."""

    at: float
    action: str
    targets: tuple[str, ...] = ()
    """What it acted on: nodes, CSRs, a token id or a binding name."""
    lines: tuple[str, ...] = ()
    error: str = ""
    """kubectl's or kubeadm's error text, one line per failed target."""


_NAMES = {CreateToken: "create-token", DeleteToken: "delete-token", ApproveCsrs: "approve-csrs",
          DeleteBinding: "delete-binding", DeleteNode: "delete-node", ResetNode: "reset-node",
          RejoinNode: "rejoin-node"}


class AdminRunner:
    """Carry out the admin's actions in simulated time (module docstring)."""

    def __init__(self, world: World, server: SimApiServer, *, nodes: Mapping[str, SimNode],
                 groups: Mapping[str, Sequence[str]], join_configs: Mapping[str, JoinConfiguration]) -> None:
        self.world = world
        self.server = server
        self.plane = server.plane
        self.nodes = nodes
        self.groups = groups
        self.join_configs = join_configs
        self.records: list[AdminRecord] = []

    def start(self, actions: Sequence[AdminAction]) -> simpy.Process:
        """Start the admin; the process ends after the last action."""
        return self.world.env.process(self._run(sorted(actions, key=lambda a: a.at)))

    def _run(self, actions: list[AdminAction]) -> Generator[simpy.Event, Any, None]:
        env = self.world.env
        for action in actions:
            if action.at > env.now:
                yield env.timeout(action.at - env.now)
            done = _Done()
            try:
                self._do(action, done)
            except JoinsimError as err:
                done.errors.append(str(err))
            self.server.publish()
            record = AdminRecord(at=float(env.now), action=_NAMES[type(action)], targets=tuple(done.targets),
                                 lines=tuple(done.lines), error="\n".join(done.errors))
            self.records.append(record)
            self.world.record("admin", record.action, {"error": record.error} if record.error else None)

    def _do(self, action: AdminAction, done: _Done) -> None:
        now = self.world.now()
        store = self.plane.store
        if isinstance(action, CreateToken):
            done.targets.append(action.token.token_id)
            kubeadm_token.create_token(store, now, kubeadm_token_of(action.token, self.world.start))
            done.lines.append(action.token.token)
        elif isinstance(action, DeleteToken):
            done.targets.append(action.token.split(".", 1)[0])
            done.lines.append(kubeadm_token.delete_token(store, action.token))
        elif isinstance(action, ApproveCsrs):
            self._approve(action, done)
        elif isinstance(action, DeleteBinding):
            done.targets.append(action.name)
            self._delete(f"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/{action.name}",
                         f'clusterrolebinding.rbac.authorization.k8s.io "{action.name}" deleted', done)
        else:
            done.targets += [action.node] if action.node is not None else list(self.groups[action.group or ""])
            for name in done.targets:
                if isinstance(action, DeleteNode):
                    self._delete(f"/api/v1/nodes/{name}", f'node "{name}" deleted', done)
                elif isinstance(action, ResetNode):
                    done.lines += self.nodes[name].reset()
                else:
                    self.nodes[name].join(self.join_configs[name], 0.0)

    def _approve(self, action: ApproveCsrs, done: _Done) -> None:
        wanted = None if action.group is None else {C.NODE_USER_PREFIX + n for n in self.groups[action.group]}
        verb = "denied" if action.deny else "approved"
        for csr in list(self.plane.store.iter(C.CSR_RESOURCE)):
            if csr_state(csr) != "Pending":
                continue
            name = str(csr["metadata"]["name"])
            if wanted is not None:
                try:
                    common_name, _ = subject_fields(parse_request(csr))
                except ValueError:
                    continue
                if common_name not in wanted:
                    continue
            done.targets.append(name)
            response = self.plane.approve_csr(name, self.world.now(), deny=action.deny)
            if response.ok:
                done.lines.append(f"certificatesigningrequest.certificates.k8s.io/{name} {verb}")
            else:
                done.errors.append(_kubectl_error(response))

    def _delete(self, path: str, deleted: str, done: _Done) -> None:
        response = self.plane.handle(Request.build("DELETE", path, client=self.plane.admin_subject()),
                                     self.world.now())
        if response.ok:
            done.lines.append(deleted)
        else:
            done.errors.append(_kubectl_error(response))


@dataclass(slots=True)
class _Done:
    """Collect what one action acted on, printed and failed with."""

    targets: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _kubectl_error(response: Response) -> str:
    """Render an API error as kubectl prints it: ``Error from server (<reason>): <message>``."""
    body = response.body if isinstance(response.body, dict) else {}
    return f"Error from server ({body.get('reason', '')}): {body.get('message', '')}"
