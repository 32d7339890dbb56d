"""Test the OpenAPI v3 documents that let kubectl validate on the server (``fieldValidation``)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from sim.control.openapi import document, is_openapi_path
from sim.control.profile import CURRENT, V1_22


def test_the_root_lists_every_served_group_version_with_a_hash() -> None:
    root = document("/openapi/v3", CURRENT)
    assert root is not None
    assert set(root["paths"]) == {"api/v1", "apis/authentication.k8s.io/v1", "apis/authorization.k8s.io/v1",
                                  "apis/certificates.k8s.io/v1", "apis/rbac.authorization.k8s.io/v1"}
    url = urlsplit(root["paths"]["apis/certificates.k8s.io/v1"]["serverRelativeURL"])
    assert url.path == "/openapi/v3/apis/certificates.k8s.io/v1" and url.query.startswith("hash=")


def test_a_group_version_document_has_the_patch_kubectl_looks_for() -> None:
    doc = document("/openapi/v3/apis/certificates.k8s.io/v1", CURRENT)
    assert doc is not None
    patch = doc["paths"]["/apis/certificates.k8s.io/v1/certificatesigningrequests/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {"group": "certificates.k8s.io", "version": "v1",
                                                         "kind": "CertificateSigningRequest"}
    assert {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": True}} in \
        patch["parameters"]
    core = document("/openapi/v3/api/v1", CURRENT)
    assert core is not None and "/api/v1/namespaces/{namespace}/configmaps/{name}" in core["paths"]


def test_the_1_22_profile_has_no_self_subject_review() -> None:
    root = document("/openapi/v3", V1_22)
    assert root is not None and "apis/authentication.k8s.io/v1" not in root["paths"]


@pytest.mark.parametrize("path, expected", [
    ("/openapi/v3", True), ("/openapi/v3/api/v1", True), ("/openapi/v2", False), ("/openapi/v3x", False),
], ids=["valid: root", "valid: group version", "invalid: v2", "invalid: prefix only"])
def test_is_openapi_path(path: str, expected: bool) -> None:
    assert is_openapi_path(path) is expected


def test_unknown_group_versions_have_no_document() -> None:
    assert document("/openapi/v3/apis/apps/v1", CURRENT) is None
