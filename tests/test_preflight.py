"""Test the join preflight checks against kubeadm's check names, texts and order."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from sim.protocol import preflight
from sim.protocol.errors import PreflightError, ValidationError
from sim.protocol.preflight import (
    FATAL_FOOTER, FATAL_HEADER, SWAP_WARNING, CheckResult, NodeFacts, join_node_checks, parse_ignore_errors,
    run_checks, worker_checks,
)
from tests.preflight_support import FRESH, PROXY_MSG, E, W

ENDPOINT = "10.0.0.1:6443"
# What a successful worker join leaves behind (PROTOCOL sections 7.1 and 11).
JOINED = FRESH.with_changes(
    files={
        "/etc/kubernetes/kubelet.conf": b"kubeconfig",
        "/etc/kubernetes/pki/ca.crt": b"ca",
        "/var/lib/kubelet/config.yaml": b"config",
        "/var/lib/kubelet/pki/kubelet-client-current.pem": b"pem",
    },
    ports_in_use=frozenset({10248, 10250}),
)
REJOIN_ERRORS = [
    CheckResult("FileAvailable--etc-kubernetes-kubelet.conf", "error", "/etc/kubernetes/kubelet.conf already exists"),
    CheckResult("Port-10250", "error", "Port 10250 is in use"),
    CheckResult("FileAvailable--etc-kubernetes-pki-ca.crt", "error", "/etc/kubernetes/pki/ca.crt already exists"),
]


@pytest.mark.parametrize(
    ("facts", "endpoint", "expected"),
    [
        pytest.param(FRESH, ENDPOINT, [], id="valid: fresh worker passes"),
        pytest.param(JOINED, ENDPOINT, REJOIN_ERRORS, id="invalid: rejoin without reset"),
        pytest.param(FRESH.with_changes(files={"/etc/kubernetes/bootstrap-kubelet.conf": b"x"}), ENDPOINT,
                     [E("FileAvailable--etc-kubernetes-bootstrap-kubelet.conf",
                        "/etc/kubernetes/bootstrap-kubelet.conf already exists")],
                     id="invalid: leftover bootstrap-kubelet.conf"),
        pytest.param(FRESH.with_changes(swap_enabled=True), ENDPOINT, [W("Swap", SWAP_WARNING)],
                     id="valid: swap is only a warning"),
        pytest.param(FRESH.with_changes(binaries=FRESH.binaries - {"nsenter"}), ENDPOINT,
                     [E("FileExisting-nsenter", "nsenter not found in system path")],
                     id="invalid: mandatory binary missing"),
        pytest.param(FRESH.with_changes(binaries=FRESH.binaries - {"socat", "ip"}), ENDPOINT,
                     [E("FileExisting-ip", "ip not found in system path"),
                      W("FileExisting-socat", "socat not found in system path")],
                     id="invalid: mandatory and optional binaries missing, in upstream order"),
        pytest.param(FRESH.with_changes(binaries=FRESH.binaries - {"conntrack"}), ENDPOINT, [],
                     id="valid: conntrack not checked for an empty Kubernetes version"),
        pytest.param(FRESH.with_changes(kubelet_service_enabled=False), ENDPOINT,
                     [W("Service-Kubelet", "kubelet service is not enabled, please run "
                        "'systemctl enable kubelet.service'")],
                     id="valid: kubelet service disabled is a warning"),
        pytest.param(FRESH.with_changes(kubelet_version=""), ENDPOINT,
                     [E("KubeletVersion", "couldn't get kubelet version: cannot execute 'kubelet --version': "
                        'exec: "kubelet": executable file not found in $PATH')],
                     id="invalid: no kubelet binary"),
        pytest.param(FRESH.with_changes(kubelet_version="v1.30.9"), ENDPOINT,
                     [E("KubeletVersion", 'Kubelet version "1.30.9" is lower than kubeadm can support. '
                        "Please upgrade kubelet")],
                     id="invalid: kubelet older than kubeadm minor - 3"),
        pytest.param(FRESH.with_changes(kubelet_version="v1.31.0-rc.1"), ENDPOINT,
                     [E("KubeletVersion", 'Kubelet version "1.31.0-rc.1" is lower than kubeadm can support. '
                        "Please upgrade kubelet")],
                     id="invalid: pre-release of the minimum kubelet"),
        pytest.param(FRESH.with_changes(kubelet_version="v1.31.0"), ENDPOINT, [],
                     id="valid: kubelet at the minimum skew"),
        pytest.param(FRESH.with_changes(kubelet_version="1.34.0"), ENDPOINT,
                     [E("KubeletVersion", "couldn't get kubelet version: Unable to parse output from Kubelet: "
                        '"Kubernetes 1.34.0"')],
                     id="invalid: kubelet --version output without v"),
        pytest.param(FRESH.with_changes(ip_forward_v4="0\n"), ENDPOINT,
                     [E("FileContent--proc-sys-net-ipv4-ip_forward",
                        "/proc/sys/net/ipv4/ip_forward contents are not set to 1")],
                     id="invalid: IPv4 forwarding off"),
        pytest.param(FRESH.with_changes(ip_forward_v4=""), ENDPOINT,
                     [E("FileContent--proc-sys-net-ipv4-ip_forward", "/proc/sys/net/ipv4/ip_forward does not exist")],
                     id="invalid: IPv4 forwarding file missing"),
        pytest.param(FRESH.with_changes(ip_forward_v6="0\n"), "[fd00::1]:6443",
                     [E("FileContent--proc-sys-net-ipv6-conf-default-forwarding",
                        "/proc/sys/net/ipv6/conf/default/forwarding contents are not set to 1")],
                     id="invalid: IPv6 endpoint checks IPv6 forwarding"),
        pytest.param(FRESH.with_changes(ip_forward_v6="0\n"), ENDPOINT, [],
                     id="valid: IPv4 endpoint ignores IPv6 forwarding"),
        pytest.param(FRESH.with_changes(ip_forward_v4="0\n"), "cp.example.com:6443", [],
                     id="valid: DNS-name endpoint skips forwarding checks"),
        pytest.param(FRESH.with_changes(ip_forward_v4="0\n"), "10.0.0.1", [],
                     id="valid: endpoint without port fails SplitHostPort, checks skipped"),
        pytest.param(FRESH.with_changes(ip_forward_v6="0\n"), "[fd00::1]:64]43", [],
                     id="valid: a stray bracket in the port fails SplitHostPort, checks skipped"),
        pytest.param(FRESH.with_changes(ip_forward_v4="0\n", http_proxy="http://proxy.corp:3128"), None, [],
                     id="valid: file discovery skips proxy and forwarding checks"),
        pytest.param(FRESH.with_changes(http_proxy="proxy.corp:3128"), ENDPOINT, [W("HTTPProxy", PROXY_MSG)],
                     id="valid: proxy for the API server is a warning"),
        pytest.param(FRESH.with_changes(http_proxy="http://proxy.corp:3128"), "[fd00::1]:6443",
                     [W("HTTPProxy", 'Connection to "https://[fd00::1]:1234" uses proxy "http://proxy.corp:3128". '
                        "If that is not intended, adjust your proxy settings")],
                     id="valid: IPv6 proxy warning uses upstream's placeholder port"),
        pytest.param(FRESH.with_changes(http_proxy="http://proxy.corp:3128"), "127.0.0.1:6443", [],
                     id="valid: loopback is never proxied"),
        pytest.param(FRESH.with_changes(cri_reachable=False), ENDPOINT, [],
                     id="valid: unreachable CRI skips the CRI check"),
    ],
)
def test_worker_checks(facts: NodeFacts, endpoint: str | None, expected: list[CheckResult]) -> None:
    assert worker_checks(facts, discovery_endpoint=endpoint) == expected


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        pytest.param({"control_plane": True}, REJOIN_ERRORS[:2], id="valid: control-plane join skips the CA file"),
        pytest.param({"control_plane": False, "ca_cert_path": "/srv/ca.pem"}, REJOIN_ERRORS[:2],
                     id="valid: worker checks the configured CA path only"),
        pytest.param({"control_plane": False, "ca_cert_path": ""}, REJOIN_ERRORS[:2],
                     id="valid: an empty CA path never exists, as os.Stat(\"\") fails"),
    ],
)
def test_join_node_checks(kwargs: dict[str, Any], expected: list[CheckResult]) -> None:
    assert join_node_checks(JOINED, discovery_endpoint=ENDPOINT, **kwargs) == expected


@pytest.mark.parametrize(
    ("results", "ignore", "lines", "failed"),
    [
        pytest.param([], frozenset(), [], False, id="valid: nothing to print"),
        pytest.param(
            [W("Swap", SWAP_WARNING), *REJOIN_ERRORS], frozenset(),
            [f"\t[WARNING Swap]: {SWAP_WARNING}", FATAL_HEADER,
             "\t[ERROR FileAvailable--etc-kubernetes-kubelet.conf]: /etc/kubernetes/kubelet.conf already exists",
             "\t[ERROR Port-10250]: Port 10250 is in use",
             "\t[ERROR FileAvailable--etc-kubernetes-pki-ca.crt]: /etc/kubernetes/pki/ca.crt already exists",
             FATAL_FOOTER],
            True, id="invalid: errors are buffered after warnings"),
        pytest.param(
            REJOIN_ERRORS, frozenset({"all"}),
            ["\t[WARNING FileAvailable--etc-kubernetes-kubelet.conf]: /etc/kubernetes/kubelet.conf already exists",
             "\t[WARNING Port-10250]: Port 10250 is in use",
             "\t[WARNING FileAvailable--etc-kubernetes-pki-ca.crt]: /etc/kubernetes/pki/ca.crt already exists"],
            False, id="valid: all demotes every error to a warning"),
        pytest.param(
            REJOIN_ERRORS, parse_ignore_errors(["port-10250,FileAvailable--etc-kubernetes-KUBELET.conf"]),
            ["\t[WARNING FileAvailable--etc-kubernetes-kubelet.conf]: /etc/kubernetes/kubelet.conf already exists",
             "\t[WARNING Port-10250]: Port 10250 is in use", FATAL_HEADER,
             "\t[ERROR FileAvailable--etc-kubernetes-pki-ca.crt]: /etc/kubernetes/pki/ca.crt already exists",
             FATAL_FOOTER],
            True, id="invalid: by-name ignoring is case-insensitive and leaves the rest fatal"),
        pytest.param(
            REJOIN_ERRORS, parse_ignore_errors(["Port-10250", "FileAvailable--etc-kubernetes-kubelet.conf",
                                                "fileavailable--etc-kubernetes-pki-ca.crt"]),
            ["\t[WARNING FileAvailable--etc-kubernetes-kubelet.conf]: /etc/kubernetes/kubelet.conf already exists",
             "\t[WARNING Port-10250]: Port 10250 is in use",
             "\t[WARNING FileAvailable--etc-kubernetes-pki-ca.crt]: /etc/kubernetes/pki/ca.crt already exists"],
            False, id="valid: every failing check ignored by name"),
    ],
)
def test_run_checks(results: list[CheckResult], ignore: frozenset[str], lines: list[str], failed: bool) -> None:
    report = run_checks(results, ignore)
    assert report.lines == lines
    assert report.ok is not failed
    if failed:
        assert isinstance(report.error, PreflightError)
        assert str(report.error) == "preflight checks failed"


def test_fatal_texts_match_upstream() -> None:
    assert FATAL_HEADER == "[preflight] Some fatal errors occurred:"
    assert FATAL_FOOTER == ("[preflight] If you know what you are doing, you can make a check non-fatal with "
                            "`--ignore-preflight-errors=...`")


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        pytest.param([], frozenset(), id="valid: no flag"),
        pytest.param([""], frozenset(), id="valid: empty flag value"),
        pytest.param(["Swap"], frozenset({"swap"}), id="valid: lower-cased"),
        pytest.param(["Swap,Port-10250", "NumCPU"], frozenset({"swap", "port-10250", "numcpu"}),
                     id="valid: comma-separated and repeated flags merge"),
        pytest.param(["ALL"], frozenset({"all"}), id="valid: all alone"),
        pytest.param(["all", "ALL"], frozenset({"all"}), id="valid: all twice is still all"),
    ],
)
def test_parse_ignore_errors(values: list[str], expected: frozenset[str]) -> None:
    assert parse_ignore_errors(values) == expected


@pytest.mark.parametrize(
    ("values", "message"),
    [
        pytest.param(["all,Swap"], 'ignore-preflight-errors: Invalid value: "all,swap": '
                     "don't specify individual checks if 'all' is used", id="invalid: all mixed in one value"),
        pytest.param(["Port-10250", "all", "NumCPU"], 'ignore-preflight-errors: Invalid value: '
                     "\"all,numcpu,port-10250\": don't specify individual checks if 'all' is used",
                     id="invalid: all mixed across flags, listed sorted"),
    ],
)
def test_parse_ignore_errors_rejects_mixing_all(values: list[str], message: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_ignore_errors(values)
    assert str(info.value) == message


def test_node_facts_are_frozen_copies() -> None:
    files = {"/a": b"1"}
    facts = FRESH.with_changes(files=files)
    files["/b"] = b"2"
    assert dict(facts.files) == {"/a": b"1"}
    assert facts.exists("/a") and not facts.exists("/b") and facts.dir_nonempty("/") and not FRESH.dir_nonempty("/")


@pytest.mark.parametrize("module", ["preflight.py", "reset.py"])
def test_pure_core_imports_no_io(module: str) -> None:
    tree = ast.parse((Path(preflight.__file__).parent / module).read_text())
    names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not names & {"simpy", "asyncio", "socket", "ssl", "time", "random"}
