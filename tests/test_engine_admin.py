"""Check an admin's timed actions through ``simulate``: approvals, tokens, RBAC, reset and rejoin."""

from __future__ import annotations

import re
from typing import Callable

import pytest

from sim.engine import (
    AllAtOnce, ApproveCsrs, ClusterSettings, CreateToken, DeleteBinding, DeleteNode, DeleteToken, EngineConfig,
    JoinSettings, MachineSettings, NodeGroup, RejoinNode, ResetNode, SimResult, TokenSpec, simulate,
)
from tests.engine_support import config

TOKEN = "abcdef.0123456789abcdef"
NO_AUTOAPPROVE = ClusterSettings(ca_key_type="ecdsa", autoapprove=False)
TLS_TIMEOUT = "error execution phase kubelet-start: context deadline exceeded"
APPROVED = re.compile(r"certificatesigningrequest\.certificates\.k8s\.io/csr-[a-z0-9]{5} approved")
READY_EXISTS = ('error execution phase kubelet-start: a Node with name "w-1" and status "Ready" already exists in the '
                "cluster. You must delete the existing Node or change the name of this new joining Node")
PREFLIGHT = "error execution phase preflight: preflight checks failed"


def joins(result: SimResult, name: str = "w-1") -> list[tuple[float, bool, str]]:
    return [(j.started, j.joined, j.error) for j in result.node(name).joins]


@pytest.mark.parametrize(
    "at, joined",
    [
        pytest.param(60.0, True, id="valid: approved at 60 s, the nodes finish after it"),
        pytest.param(400.0, False, id="invalid: approved after kubeadm's 5 min TLS bootstrap wait"),
    ],
)
def test_manual_approval_without_autoapprove(at: float, joined: bool) -> None:
    result = simulate(config(3, cluster=NO_AUTOAPPROVE, admin=(ApproveCsrs(at=at),)))
    record, = result.admin
    assert (record.at, record.action, record.error) == (at, "approve-csrs", "")
    assert len(record.lines) == 3 and all(APPROVED.fullmatch(line) for line in record.lines)
    assert sorted(record.targets) == sorted(n.csr_name for n in result.nodes)
    for node in result.nodes:
        assert node.joined == joined
        if joined:
            done = node.milestone("joined")
            assert done is not None and at < done < at + 2.0
        else:
            assert node.error == TLS_TIMEOUT and node.ended == pytest.approx(301.0, abs=0.1)
    assert result.sim_time >= at  # the run lasts until the admin's last action


def test_approving_one_group_leaves_the_other_pending() -> None:
    groups = tuple(NodeGroup(name=name, count=2, join=JoinSettings(tls_bootstrap_timeout=60.0)) for name in "ab")
    result = simulate(EngineConfig(cluster=NO_AUTOAPPROVE, groups=groups, admin=(ApproveCsrs(at=10.0, group="a"),)))
    assert {(n.group, n.joined, n.error) for n in result.nodes} == {("a", True, ""), ("b", False, TLS_TIMEOUT)}
    assert len(result.admin[0].lines) == 2


def test_a_denied_csr_fails_the_kubelets_wait() -> None:
    result = simulate(config(1, cluster=NO_AUTOAPPROVE, join=JoinSettings(tls_bootstrap_timeout=60.0),
                             admin=(ApproveCsrs(at=10.0, deny=True),), keep_logs=True))
    node = result.nodes[0]
    assert node.error == TLS_TIMEOUT
    denied = r"certificatesigningrequest\.certificates\.k8s\.io/csr-[a-z0-9]{5} denied"
    assert re.fullmatch(denied, result.admin[0].lines[0])
    kubelet = [line.text for line in node.logs if line.stream == "kubelet"]
    assert ("kubernetes.io/kube-apiserver-client-kubelet: certificate request was not signed: cannot watch on the "
            "certificate signing request: certificate signing request is denied, reason: KubectlDeny, message: This "
            "CSR was denied by kubectl certificate deny.") in kubelet


@pytest.mark.parametrize(
    "action, joined, line, error",
    [
        pytest.param(DeleteBinding(at=0.0), False,
                     'clusterrolebinding.rbac.authorization.k8s.io "kubeadm:node-autoapprove-bootstrap" deleted', "",
                     id="invalid: the autoapprove binding deleted before the join"),
        pytest.param(DeleteBinding(at=0.0, name="nope"), True, "",
                     'Error from server (NotFound): clusterrolebindings.rbac.authorization.k8s.io "nope" not found',
                     id="valid: deleting a binding that does not exist"),
        pytest.param(DeleteToken(at=0.0, token="abcdef"), False, 'bootstrap token "abcdef" deleted', "",
                     id="invalid: the token deleted before the join"),
        pytest.param(DeleteToken(at=0.0, token="abc"), True, "",
                     'given token didn\'t match pattern "\\\\A([a-z0-9]{6})\\\\.([a-z0-9]{16})\\\\z" or '
                     '"\\\\A([a-z0-9]{6})\\\\z"', id="valid: kubeadm refuses a malformed token argument"),
        pytest.param(CreateToken(at=0.0, token=TokenSpec(token=TOKEN)), True, "",
                     'a token with id "abcdef" already exists', id="valid: kubeadm refuses a token id in use"),
    ],
)
def test_token_and_rbac_actions(action: DeleteBinding | DeleteToken | CreateToken, joined: bool, line: str,
                                error: str) -> None:
    cluster = ClusterSettings(ca_key_type="ecdsa", tokens=(TokenSpec(token=TOKEN),))
    join = JoinSettings(token=TOKEN, discovery_timeout=20.0, tls_bootstrap_timeout=20.0)
    result = simulate(config(1, cluster=cluster, join=join, arrival=AllAtOnce(at=1.0), admin=(action,)))
    record, = result.admin
    assert record.lines == ((line,) if line else ()) and record.error == error
    assert result.nodes[0].joined == joined


def test_deleting_nodes_that_do_not_exist_reports_each_as_kubectl_does() -> None:
    result = simulate(config(2, arrival=AllAtOnce(at=1.0), admin=(DeleteNode(at=0.0, group="w"),)))
    record, = result.admin
    assert record.targets == ("w-1", "w-2") and record.lines == ()
    assert record.error == ('Error from server (NotFound): nodes "w-1" not found\n'
                            'Error from server (NotFound): nodes "w-2" not found')
    assert result.counts["joined"] == 2


def test_a_token_created_later_lets_waiting_nodes_discover() -> None:
    result = simulate(config(2, join=JoinSettings(token=TOKEN), admin=(CreateToken(at=30.0, token=TokenSpec(
        token=TOKEN, usages=("signing", "authentication"))),)))
    assert result.admin[0].lines == (TOKEN,)
    for node in result.nodes:
        discovered = node.milestone("discovered")
        assert node.joined and discovered is not None and 30.0 < discovered <= 36.0  # the next 5 s discovery poll


def test_rejoin_without_reset_fails_preflight_then_reset_and_rejoin_works() -> None:
    admin = (RejoinNode(at=10.0, node="w-1"), ResetNode(at=20.0, node="w-1"), DeleteNode(at=20.0, node="w-1"),
             RejoinNode(at=30.0, node="w-1"))
    result = simulate(config(1, admin=admin, keep_logs=True))
    node = result.node("w-1")
    assert [(started, joined, error) for started, joined, error in joins(result)] == [
        (0.0, True, ""), (10.0, False, PREFLIGHT), (30.0, True, "")]
    assert node.joined and node.error == "" and node.trusted_ca_pin == result.ca_pin
    assert [(r.action, r.targets, r.error) for r in result.admin] == [
        ("rejoin-node", ("w-1",), ""), ("reset-node", ("w-1",), ""), ("delete-node", ("w-1",), ""),
        ("rejoin-node", ("w-1",), "")]
    reset = result.admin[1].lines
    assert reset[1] == "[reset] Stopping the kubelet service"
    assert reset[-1].startswith("[reset] Deleting files: [/etc/kubernetes/admin.conf")
    assert result.admin[2].lines == ('node "w-1" deleted',)
    errors = [line.text for line in node.logs if "[ERROR" in line.text and 10.0 <= line.t < 20.0]
    assert errors == [
        "\t[ERROR FileAvailable--etc-kubernetes-kubelet.conf]: /etc/kubernetes/kubelet.conf already exists",
        "\t[ERROR Port-10250]: Port 10250 is in use",
        "\t[ERROR FileAvailable--etc-kubernetes-pki-ca.crt]: /etc/kubernetes/pki/ca.crt already exists"]


def test_a_reset_without_deleting_the_node_meets_the_ready_node() -> None:
    result = simulate(config(1, admin=(ResetNode(at=20.0, node="w-1"), RejoinNode(at=30.0, node="w-1"))))
    assert joins(result) == [(0.0, True, ""), (30.0, False, READY_EXISTS)]


def test_a_group_with_an_earlier_join_is_reset_and_rejoins() -> None:
    machine = MachineSettings(files=("/etc/kubernetes/kubelet.conf",), ports_in_use=(10250,))
    result = simulate(config(2, machine=machine, admin=(ResetNode(at=5.0, group="w"), RejoinNode(at=6.0, group="w"))))
    assert result.counts["joined"] == 2
    assert [r.targets for r in result.admin] == [("w-1", "w-2"), ("w-1", "w-2")]
    for node in result.nodes:
        assert [(j.joined, j.error) for j in node.joins] == [(False, PREFLIGHT), (True, "")]


@pytest.mark.parametrize(
    "build, message",
    [
        pytest.param(lambda: ResetNode(at=1.0), "exactly one of node and group", id="invalid: no target"),
        pytest.param(lambda: RejoinNode(at=1.0, node="w-1", group="w"), "exactly one of node and group",
                     id="invalid: two targets"),
        pytest.param(lambda: ApproveCsrs(at=-1.0), "non-negative", id="invalid: negative time"),
        pytest.param(lambda: config(2, admin=(ResetNode(at=1.0, node="w-3"),)), "no node named 'w-3'",
                     id="invalid: unknown node"),
        pytest.param(lambda: config(2, admin=(ApproveCsrs(at=1.0, group="x"),)), "no node group named 'x'",
                     id="invalid: unknown group"),
    ],
)
def test_invalid_actions_are_refused(build: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        build()
