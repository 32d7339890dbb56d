"""Test server-side printing: kubectl's Accept header, kube-apiserver's columns and cells, HumanDuration."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from sim.control.tables import csr_condition, human_duration, to_table, wants_table

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
KUBECTL_ACCEPT = ("application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,"
                  "application/json")


@pytest.mark.parametrize("accept, expected", [
    (KUBECTL_ACCEPT, True),
    ("application/json;as=Table;v=v1beta1;g=meta.k8s.io", True),
    ("application/json", False),
    ("application/json;as=Table;v=v2;g=meta.k8s.io", False),
    ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList", False),
    (None, False),
], ids=["valid: kubectl get", "valid: v1beta1 only", "invalid: plain JSON", "invalid: unknown version",
        "invalid: aggregated discovery", "invalid: no header"])
def test_wants_table(accept: str | None, expected: bool) -> None:
    assert wants_table(accept) is expected


@pytest.mark.parametrize("seconds, text", [
    (-5, "<invalid>"), (-1, "0s"), (0, "0s"), (119, "119s"), (120, "2m"), (185, "3m5s"), (600, "10m"),
    (179 * 60, "179m"), (3 * 3600, "3h"), (7 * 3600 + 59 * 60, "7h59m"), (47 * 3600, "47h"), (50 * 3600, "2d2h"),
    (8 * 86400, "8d"), (730 * 86400, "2y"), (731 * 86400, "2y1d"), (9 * 365 * 86400, "9y"),
], ids=lambda v: str(v))
def test_human_duration_matches_apimachinery(seconds: int, text: str) -> None:
    assert human_duration(seconds) == text


def stamp(age: timedelta) -> str:
    return (NOW - age).strftime("%Y-%m-%dT%H:%M:%SZ")


def csr(conditions: list[str], certificate: bool = False, **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "c", "creationTimestamp": stamp(timedelta(seconds=42))},
            "spec": {"signerName": "kubernetes.io/kube-apiserver-client-kubelet", "username": "system:bootstrap:a",
                     **spec},
            "status": {"conditions": [{"type": t, "status": "True"} for t in conditions],
                       **({"certificate": "Y2VydA=="} if certificate else {})}}


@pytest.mark.parametrize("conditions, certificate, text", [
    ([], False, "Pending"),
    (["Approved"], False, "Approved"),
    (["Approved"], True, "Approved,Issued"),
    (["Denied"], False, "Denied"),
    (["Approved", "Failed"], False, "Approved,Failed"),
    (["Approved", "Denied"], False, "Denied"),
], ids=["pending", "approved", "issued", "denied", "failed", "denied wins"])
def test_csr_condition_is_extract_csr_status(conditions: list[str], certificate: bool, text: str) -> None:
    assert csr_condition(csr(conditions, certificate)) == text


def test_a_csr_list_has_kubectls_columns_and_cells() -> None:
    body = {"kind": "CertificateSigningRequestList", "metadata": {"resourceVersion": "7"},
            "items": [csr(["Approved"], True), csr([], expirationSeconds=3600)]}
    table = to_table("certificatesigningrequests", body, NOW)
    assert (table["kind"], table["apiVersion"], table["metadata"]) == ("Table", "meta.k8s.io/v1",
                                                                       {"resourceVersion": "7"})
    assert [c["name"] for c in table["columnDefinitions"]] == \
        ["Name", "Age", "SignerName", "Requestor", "RequestedDuration", "Condition"]
    assert [r["cells"] for r in table["rows"]] == [
        ["c", "42s", "kubernetes.io/kube-apiserver-client-kubelet", "system:bootstrap:a", "<none>", "Approved,Issued"],
        ["c", "42s", "kubernetes.io/kube-apiserver-client-kubelet", "system:bootstrap:a", "60m", "Pending"],
    ]
    assert table["rows"][0]["object"] == {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                                          "metadata": body["items"][0]["metadata"]}


def test_a_node_row_has_status_roles_and_the_wide_cells() -> None:
    node = {"metadata": {"name": "n1", "creationTimestamp": stamp(timedelta(hours=5)),
                         "labels": {"node-role.kubernetes.io/control-plane": "", "kubernetes.io/role": "edge"}},
            "spec": {"unschedulable": True},
            "status": {"conditions": [{"type": "Ready", "status": "False"}], "nodeInfo": {"kubeletVersion": "v1.34.0"},
                       "addresses": [{"type": "InternalIP", "address": "10.0.0.5"}]}}
    table = to_table("nodes", node, NOW, "Object")
    assert table["rows"][0]["cells"] == ["n1", "NotReady,SchedulingDisabled", "control-plane,edge", "5h", "v1.34.0",
                                         "10.0.0.5", "<none>", "<unknown>", "<unknown>", "<unknown>"]
    assert [c["priority"] for c in table["columnDefinitions"]] == [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]
    assert table["rows"][0]["object"] == node


@pytest.mark.parametrize("resource, obj, cells", [
    ("configmaps", {"metadata": {"name": "cm"}, "data": {"a": "1", "b": "2"}, "binaryData": {"c": ""}},
     ["cm", 3, "<unknown>"]),
    ("secrets", {"metadata": {"name": "s"}, "type": "bootstrap.kubernetes.io/token", "data": {"a": ""}},
     ["s", "bootstrap.kubernetes.io/token", 1, "<unknown>"]),
    ("clusterroles", {"metadata": {"name": "r", "creationTimestamp": "2026-01-01T00:00:00Z"}},
     ["r", "2026-01-01T00:00:00Z"]),
], ids=["configmap: data and binaryData count", "secret: type and data count", "default: name and created at"])
def test_other_resources(resource: str, obj: dict[str, Any], cells: list[Any]) -> None:
    table = to_table(resource, obj, NOW, "None")
    assert table["rows"] == [{"cells": cells}]
