"""Check what ``joinsim serve`` answers on the paths a real join and real clients use, as kube-apiserver would.

docs/PROTOCOL.md section 14 lists the requests of a worker join against a real
v1.22 control plane, with their status codes; a join against either profile
must see the same answers. Discovery and health paths follow kube-apiserver's
default RBAC: ``system:public-info-viewer`` lets anyone read ``/version`` and
the health checks, ``system:discovery`` only authenticated users
(plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from sim.protocol.join import WORKER_SUCCESS
from tests.emulate_support import joinsim
from tests.serve_support import Served, serve


def join_requests(profile: str) -> list[tuple[str, str, str, str]]:
    """Return (method, path, code, identity) of every request of one join, for the profile's kubeadm and kubelet."""
    return [
        ("GET", "/api/v1/namespaces/kube-public/configmaps/cluster-info", "200", "anonymous"),
        ("GET", "/api/v1/namespaces/kube-public/configmaps/cluster-info", "200", "anonymous"),
        ("GET", "/api/v1/namespaces/kube-system/configmaps/kubeadm-config", "200", "bearer"),
        ("GET", "/api/v1/namespaces/kube-system/configmaps/kube-proxy", "403", "bearer"),
        ("GET", "/api/v1/namespaces/kube-system/configmaps/" + ("kubelet-config-1.22" if profile == "1.22"
                                                              else "kubelet-config"), "200", "bearer"),
        ("GET", "/api/v1/nodes/seq-node", "404", "bearer"),
        ("POST", "/apis/certificates.k8s.io/v1/certificatesigningrequests", "201", "bearer"),
        ("POST", "/api/v1/nodes", "201", "system:node:seq-node"),
        ("PATCH", "/api/v1/nodes/seq-node/status", "200", "system:node:seq-node"),
        ("PATCH", "/api/v1/nodes/seq-node", "200", "system:node:seq-node"),
    ]


@pytest.mark.parametrize("profile", ["current", "1.22"], ids=["valid: current", "valid: 1.22"])
def test_a_join_gets_the_answers_a_real_control_plane_gives(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                            profile: str) -> None:
    lines: list[str] = []
    served_iter = serve(tmp_path / "serve", kubernetes_version=profile, log=lines.append)
    served = next(served_iter)
    try:
        code, out, err = joinsim(capsys, "join", served.endpoint, "--token", served.server.token,
                                 "--discovery-token-ca-cert-hash", served.server.ca_pin, "--node-name", "seq-node",
                                 "--root", str(tmp_path / "node"), "--kubernetes-version", profile)
    finally:
        next(served_iter, None)
    assert (code, err) == (0, "") and out.endswith(WORKER_SUCCESS + "\n")
    seen = []
    for line in lines:
        method, target, status, who = line.split(" ", 3)
        if "watch=true" not in target:  # the kubelet's CSR watch: as many as the timing gives
            seen.append((method, target.split("?", 1)[0], status, who.strip("()")))
    assert seen == join_requests(profile)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from serve(tmp_path_factory.mktemp("endpoints"))


@pytest.mark.parametrize("path, anonymous, token", [
    pytest.param("/version", 200, 200, id="valid: version for everyone"),
    pytest.param("/healthz", 200, 200, id="valid: healthz for everyone"),
    pytest.param("/livez", 200, 200, id="valid: livez for everyone"),
    pytest.param("/readyz", 200, 200, id="valid: readyz for everyone"),
    pytest.param("/api", 403, 200, id="invalid: core discovery is for authenticated users"),
    pytest.param("/apis", 403, 200, id="invalid: group discovery is for authenticated users"),
    pytest.param("/apis/certificates.k8s.io/v1", 403, 200, id="invalid: a group version for authenticated users"),
    pytest.param("/api/v1", 403, 200, id="invalid: core resources for authenticated users"),
])
def test_discovery_and_health_follow_the_default_rbac(served: Served, path: str, anonymous: int, token: int) -> None:
    assert served.request("GET", path)[0] == anonymous
    assert served.request("GET", path, token=served.server.token)[0] == token


def test_group_discovery_lists_what_kubectl_needs(served: Served) -> None:
    code, groups = served.request("GET", "/apis", admin=True)
    names = {group["name"] for group in groups["groups"]}
    assert code == 200 and {"certificates.k8s.io", "authorization.k8s.io", "authentication.k8s.io"} <= names
    code, resources = served.request("GET", "/apis/certificates.k8s.io/v1", admin=True)
    served_names = {r["name"] for r in resources["resources"]}
    assert {"certificatesigningrequests", "certificatesigningrequests/approval",
            "certificatesigningrequests/status"} <= served_names
    code, core = served.request("GET", "/api/v1", admin=True)
    assert {"configmaps", "secrets", "nodes"} <= {r["name"] for r in core["resources"]}
