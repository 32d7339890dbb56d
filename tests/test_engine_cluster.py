"""Check a scenario's cluster and join options through ``simulate``: tokens, RBAC, auth, machines, control planes."""

from __future__ import annotations

import re
from typing import Any, Callable

import pytest

from sim.engine import (
    AllAtOnce, ClusterSettings, DeleteToken, EngineConfig, ExistingNode, JoinSettings, MachineSettings, NodeGroup,
    SimResult, TokenSpec, simulate,
)
from tests.engine_support import config

TOKEN = "abcdef.0123456789abcdef"
OTHER = "ghijkl.0123456789abcdef"
DISCOVERY = "error execution phase preflight: couldn't validate the identity of the API Server: "
NO_JWS = DISCOVERY + 'could not find a JWS signature in the cluster-info ConfigMap for token ID "abcdef"'
TLS_TIMEOUT = "error execution phase kubelet-start: context deadline exceeded"
READY_EXISTS = ('error execution phase kubelet-start: a Node with name "w-1" and status "Ready" already exists in the '
                "cluster. You must delete the existing Node or change the name of this new joining Node")
EARLIER_JOIN = MachineSettings(files=("/etc/kubernetes/kubelet.conf", "/etc/kubernetes/pki/ca.crt"),
                               ports_in_use=(10250,))
SHORT = JoinSettings(token=TOKEN, discovery_timeout=20.0, tls_bootstrap_timeout=20.0)


def cluster(**options: Any) -> ClusterSettings:
    return ClusterSettings(ca_key_type="ecdsa", **options)


def only(result: SimResult) -> tuple[bool, str]:
    """Return (joined, error) of the one node, checking every node of the run agrees."""
    outcomes = {(n.joined, n.error) for n in result.nodes}
    assert len(outcomes) == 1, outcomes
    return outcomes.pop()


@pytest.mark.parametrize(
    "tokens, join, joined, error",
    [
        pytest.param((TokenSpec(token=TOKEN),), SHORT, True, "", id="valid: a further token with kubeadm's defaults"),
        pytest.param((TokenSpec(token=TOKEN, expires=-60.0),), SHORT, False, NO_JWS,
                     id="invalid: a token expired before the start"),
        pytest.param((TokenSpec(token=TOKEN, ttl=10.0),), JoinSettings(token=TOKEN, discovery_timeout=20.0), True, "",
                     id="valid: a short-lived token used in time"),
        pytest.param((TokenSpec(token=TOKEN, usages=("authentication",)),), SHORT, False, NO_JWS,
                     id="invalid: a token without the signing usage"),
        pytest.param((TokenSpec(token=TOKEN, usages=("signing",), groups=()),), SHORT, False,
                     "error execution phase preflight: unable to fetch the kubeadm-config ConfigMap: Unauthorized",
                     id="invalid: a token without the authentication usage"),
        pytest.param((TokenSpec(token=TOKEN, usages=("signing",), groups=()),
                      TokenSpec(token=OTHER, usages=("authentication",))),
                     JoinSettings(token=TOKEN, tls_bootstrap_token=OTHER), True, "",
                     id="valid: a signing-only discovery token and a separate TLS bootstrap token"),
        pytest.param((TokenSpec(token=TOKEN, groups=("system:bootstrappers:other",)),), SHORT, False,
                     'error execution phase preflight: unable to fetch the kubeadm-config ConfigMap: configmaps '
                     '"kubeadm-config" is forbidden: User "system:bootstrap:abcdef" cannot get resource "configmaps" '
                     'in API group "" in the namespace "kube-system"',
                     id="invalid: extra groups kubeadm's RBAC does not know"),
    ],
)
def test_bootstrap_tokens(tokens: tuple[TokenSpec, ...], join: JoinSettings, joined: bool, error: str) -> None:
    result = simulate(config(2, cluster=cluster(tokens=tokens), join=join))
    assert only(result) == (joined, error)
    if error == NO_JWS:
        assert all(n.ended == pytest.approx(20.0) for n in result.nodes)  # discovery polls until its timeout


def test_an_operator_chosen_init_token_is_the_one_nodes_use() -> None:
    chosen = cluster(token=TOKEN)
    assert only(simulate(config(2, cluster=chosen))) == (True, "")
    deleted = simulate(config(2, cluster=chosen, join=JoinSettings(discovery_timeout=20.0), arrival=AllAtOnce(at=1.0),
                              admin=(DeleteToken(at=0.0, token="abcdef"),)))
    assert only(deleted) == (False, NO_JWS)


@pytest.mark.parametrize(
    "settings, join, joined, error",
    [
        pytest.param(cluster(anonymous_auth=False), SHORT, False,
                     DISCOVERY + "failed to request the cluster-info ConfigMap: Unauthorized",
                     id="invalid: anonymous auth off breaks token discovery"),
        pytest.param(cluster(public_cluster_info=False), SHORT, False,
                     DISCOVERY + 'failed to request the cluster-info ConfigMap: configmaps "cluster-info" is '
                     'forbidden: User "system:anonymous" cannot get resource "configmaps" in API group "" in the '
                     'namespace "kube-public"',
                     id="invalid: no public cluster-info breaks token discovery"),
        pytest.param(cluster(public_cluster_info=False), JoinSettings(discovery="file"), True, "",
                     id="valid: no public cluster-info, file discovery works"),
        pytest.param(cluster(anonymous_auth=False), JoinSettings(discovery="file", discovery_timeout=20.0), False,
                     DISCOVERY + "Abort reading the cluster-info ConfigMap after timeout of 20s: Unauthorized",
                     id="invalid: anonymous auth off stops file discovery too (401 is no Forbidden)"),
        pytest.param(cluster(autoapprove=False), JoinSettings(tls_bootstrap_timeout=20.0),
                     False, TLS_TIMEOUT, id="invalid: no autoapprove binding leaves the CSR pending"),
        pytest.param(cluster(existing_nodes=(ExistingNode(name="w-1"),)), JoinSettings(), False, READY_EXISTS,
                     id="invalid: a Ready node of the same name exists"),
        pytest.param(cluster(existing_nodes=(ExistingNode(name="w-1", ready=False),)), JoinSettings(), True, "",
                     id="valid: a NotReady node of the same name exists"),
    ],
)
def test_cluster_options(settings: ClusterSettings, join: JoinSettings, joined: bool, error: str) -> None:
    result = simulate(config(1, cluster=settings, join=join))
    assert only(result) == (joined, error)
    node = result.nodes[0]
    if joined:
        assert node.trusted_ca_pin == result.ca_pin and node.pinned
        assert node.discovery_server == ("file" if join.discovery == "file" else "control-plane")
    if error == TLS_TIMEOUT:
        assert node.ended == pytest.approx(20.0, abs=1.1) and node.milestone("csr-created") is not None


def test_file_discovery_reads_the_kubeconfig_the_admin_handed_out() -> None:
    result = simulate(config(2, join=JoinSettings(discovery="file"), keep_logs=True))
    assert only(result) == (True, "")
    node = result.nodes[0]
    assert node.csr_server == "control-plane"
    assert not any(mark == "jws-verified" for _, mark in node.marks)  # no token discovery, no JWS


@pytest.mark.parametrize(
    "ignore, joined",
    [
        pytest.param((), False, id="invalid: files and the kubelet port of an earlier join"),
        pytest.param(("all",), True, id="valid: every preflight error ignored"),
        pytest.param(("FileAvailable--etc-kubernetes-kubelet.conf", "port-10250",
                      "FileAvailable--etc-kubernetes-pki-ca.crt"), True, id="valid: each check ignored by name"),
        pytest.param(("Port-10250",), False, id="invalid: only one of three ignored"),
    ],
)
def test_an_earlier_join_without_reset_fails_preflight(ignore: tuple[str, ...], joined: bool) -> None:
    result = simulate(config(1, machine=EARLIER_JOIN, join=JoinSettings(ignore_preflight_errors=ignore),
                             keep_logs=True))
    node = result.nodes[0]
    assert node.joined == joined
    printed = [line.text for line in node.logs if line.stream in ("stdout", "stderr")]
    if joined:
        assert "\t[WARNING Port-10250]: Port 10250 is in use" in printed
        return
    assert node.error == "error execution phase preflight: preflight checks failed" and node.ended == 0.0
    errors = [
        "\t[ERROR FileAvailable--etc-kubernetes-kubelet.conf]: /etc/kubernetes/kubelet.conf already exists",
        "\t[ERROR Port-10250]: Port 10250 is in use",
        "\t[ERROR FileAvailable--etc-kubernetes-pki-ca.crt]: /etc/kubernetes/pki/ca.crt already exists",
    ]
    assert [line for line in printed if "[ERROR" in line] == [e for e in errors if "10250" not in e or not ignore]


CONTROL_PLANE = cluster(control_plane_endpoint=True, upload_certs=True, token_ttl=None)
DOWNLOAD = "error execution phase control-plane-prepare/download-certs: error downloading certs: "


@pytest.mark.parametrize(
    "settings, key, at, error",
    [
        pytest.param(CONTROL_PLANE, None, 0.0, "", id="valid: the upload-certs key"),
        pytest.param(cluster(control_plane_endpoint=True, upload_certs=True, certificate_key="cd" * 32), "cd" * 32,
                     0.0, "", id="valid: an operator-chosen key"),
        pytest.param(CONTROL_PLANE, "ab" * 32, 0.0,
                     DOWNLOAD + "error decoding secret data with provided key: cipher: message authentication failed",
                     id="invalid: a wrong certificate key"),
        pytest.param(CONTROL_PLANE, None, 2 * 3600 + 1.0,
                     DOWNLOAD + 'error downloading the secret: Secret "kubeadm-certs" was not found in the '
                     '"kube-system" Namespace. This Secret might have expired. Please, run `kubeadm init phase '
                     'upload-certs --upload-certs` on a control plane to generate a new one',
                     id="invalid: kubeadm-certs gone with its 2 h owner token"),
        pytest.param(cluster(control_plane_endpoint=True), None, 0.0,
                     "error execution phase preflight: \nOne or more conditions for hosting a new control plane "
                     "instance is not satisfied.", id="invalid: no upload-certs, no certificates on disk"),
    ],
)
def test_control_plane_joins(settings: ClusterSettings, key: str | None, at: float, error: str) -> None:
    join = JoinSettings(control_plane=True, certificate_key=key)
    result = simulate(config(1, cluster=settings, join=join, arrival=AllAtOnce(at=at)))
    node = result.nodes[0]
    assert len(result.certificate_key) == (64 if settings.upload_certs else 0)
    assert node.joined == (not error)
    assert node.error.startswith(error) if error else node.error == ""
    if not error:
        assert node.milestone("phase:control-plane-join/mark-control-plane") is not None


@pytest.mark.parametrize(
    "build, message",
    [
        pytest.param(lambda: TokenSpec(token="abcdef"), 'the bootstrap token "abcdef" was not of the form',
                     id="invalid: token format"),
        pytest.param(lambda: TokenSpec(token=TOKEN, usages=("signing", "bogus")),
                     "invalid bootstrap token usage string: bogus, valid usage options: signing,authentication",
                     id="invalid: token usage"),
        pytest.param(lambda: TokenSpec(token=TOKEN, usages=("signing",)),
                     'token groups cannot be specified unless --usages includes "authentication"',
                     id="invalid: groups without the authentication usage"),
        pytest.param(lambda: TokenSpec(token=TOKEN, groups=("system:bootstrappers",)),
                     'bootstrap group "system:bootstrappers" is invalid', id="invalid: the plain bootstrappers group"),
        pytest.param(lambda: TokenSpec(token=TOKEN, ttl=0.0), "ttl must be positive", id="invalid: ttl 0"),
        pytest.param(lambda: ClusterSettings(endpoint="10.0.0.1"), "host:port", id="invalid: endpoint"),
        pytest.param(lambda: ClusterSettings(ca_key_type="dsa"), "rsa or ecdsa", id="invalid: CA key type"),
        pytest.param(lambda: ClusterSettings(profile="1.10"), "unknown Kubernetes version profile",
                     id="invalid: profile"),
        pytest.param(lambda: ClusterSettings(tokens=(TokenSpec(token=TOKEN), TokenSpec(token=TOKEN))), "unique",
                     id="invalid: duplicate token ids"),
        pytest.param(lambda: ClusterSettings(token=TOKEN, tokens=(TokenSpec(token="abcdef.aaaaaaaaaaaaaaaa"),)),
                     "unique (the init token's too)", id="invalid: a further token with the init token's id"),
        pytest.param(lambda: ClusterSettings(token="ABCDEF.0123456789abcdef"), "the init token 'ABCDEF",
                     id="invalid: init token format"),
        pytest.param(lambda: ClusterSettings(certificate_key="ab" * 32), "needs upload_certs",
                     id="invalid: a certificate key without upload-certs"),
        pytest.param(lambda: ClusterSettings(upload_certs=True, certificate_key="abc"),
                     "certificate_key: certificate key decoding error: encoding/hex: odd length hex string",
                     id="invalid: certificate key"),
        pytest.param(lambda: ClusterSettings(existing_nodes=(ExistingNode(name="n"), ExistingNode(name="n"))),
                     "unique", id="invalid: duplicate existing nodes"),
        pytest.param(lambda: ExistingNode(name="Node_1"), "DNS-1123", id="invalid: existing node name"),
        pytest.param(lambda: JoinSettings(discovery="https"), "token or file", id="invalid: discovery mode"),
        pytest.param(lambda: JoinSettings(discovery_timeout=0.0), "positive", id="invalid: timeout"),
        pytest.param(lambda: JoinSettings(certificate_key="ab" * 32), "control_plane",
                     id="invalid: a certificate key on a worker join"),
        pytest.param(lambda: MachineSettings(files=("etc/kubernetes/kubelet.conf",)), "absolute",
                     id="invalid: relative machine file"),
        pytest.param(lambda: MachineSettings(ports_in_use=(0,)), "1-65535", id="invalid: machine port"),
        pytest.param(lambda: EngineConfig(groups=(NodeGroup(name="w", count=1),), cluster=ClusterSettings(group="w")),
                     "control plane's group", id="invalid: a group named like the control plane's"),
    ],
)
def test_invalid_settings_are_refused_when_built(build: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        build()

