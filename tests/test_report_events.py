"""Check which logged events tell one node's join."""

from __future__ import annotations

from sim.report.events import node_story

SAR = "/apis/authorization.k8s.io/v1/subjectaccessreviews"
CSRS = "/apis/certificates.k8s.io/v1/certificatesigningrequests"


def req(t: float, sender: str, method: str, path: str) -> tuple[float, str, str, tuple[tuple[str, str], ...]]:
    return (t, "apiserver", "request", (("from", sender), ("method", method), ("path", path), ("status", "200")))


def test_the_story_keeps_the_nodes_events_and_its_csrs() -> None:
    log = [
        (0.0, "w-1", "join-started", ()),
        (0.0, "w-2", "join-started", ()),
        req(0.1, "w-1", "GET", "/api/v1/namespaces/kube-public/configmaps/cluster-info"),
        req(0.1, "w-2", "GET", "/api/v1/namespaces/kube-public/configmaps/cluster-info"),
        (0.5, "apiserver", "csr-created", (("name", "csr-a"),)),
        (0.5, "apiserver", "csr-created", (("name", "csr-b"),)),
        req(0.6, "csrapproving", "POST", SAR),
        req(0.61, "csrapproving", "POST", SAR),
        req(0.62, "csrapproving", "PUT", f"{CSRS}/csr-b/approval"),
        req(0.63, "csrapproving", "PUT", f"{CSRS}/csr-a/approval"),
        req(0.7, "csrsigning-kubelet-client", "PUT", f"{CSRS}/csr-a/status"),
        (0.8, "thief", "stole", (("victim", "w-1"),)),
    ]
    story = node_story(log, "w-1", "csr-a")
    assert [(t, source, event) for t, source, event, _ in story] == [
        (0.0, "w-1", "join-started"), (0.1, "apiserver", "request"), (0.5, "apiserver", "csr-created"),
        (0.61, "apiserver", "request"), (0.63, "apiserver", "request"), (0.7, "apiserver", "request"),
        (0.8, "thief", "stole")]
    assert story[3][3]["path"] == SAR  # the review the approving worker posted just before
