"""Test the transcoding of kubectl's protobuf request bodies to JSON (golden bodies captured from kubectl v1.32)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from sim.emulate.protobuf import to_json

# kubectl auth whoami (klog -v=8 hex dump of the request body)
WHOAMI = bytes.fromhex("""
6b 38 73 00 0a 2d 0a 18 61 75 74 68 65 6e 74 69 63 61 74 69 6f 6e 2e 6b 38 73 2e 69 6f 2f 76 31
12 11 53 65 6c 66 53 75 62 6a 65 63 74 52 65 76 69 65 77 12 1a 0a 10 0a 00 12 00 1a 00 22 00 2a
00 32 00 38 00 42 00 12 06 0a 04 0a 00 12 00 1a 00 22 00
""")
# kubectl auth can-i create certificatesigningrequests
CAN_I = bytes.fromhex("""
6b 38 73 00 0a 32 0a 17 61 75 74 68 6f 72 69 7a 61 74 69 6f 6e 2e 6b 38 73 2e 69 6f 2f 76 31 12
17 53 65 6c 66 53 75 62 6a 65 63 74 41 63 63 65 73 73 52 65 76 69 65 77 12 68 0a 10 0a 00 12 00
1a 00 22 00 2a 00 32 00 38 00 42 00 12 4a 0a 48 0a 07 64 65 66 61 75 6c 74 12 06 63 72 65 61 74
65 1a 13 63 65 72 74 69 66 69 63 61 74 65 73 2e 6b 38 73 2e 69 6f 22 00 2a 1a 63 65 72 74 69 66
69 63 61 74 65 73 69 67 6e 69 6e 67 72 65 71 75 65 73 74 73 32 00 3a 00 1a 08 08 00 12 00 1a 00
20 00 1a 00 22 00
""")


def varint(n: int) -> bytes:
    out = b""
    while True:
        byte, n = n & 0x7F, n >> 7
        out += bytes([byte | (0x80 if n else 0)])
        if not n:
            return out


def field(number: int, value: bytes | str | int) -> bytes:
    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    data = value.encode() if isinstance(value, str) else value
    return varint(number << 3 | 2) + varint(len(data)) + data


def envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    return b"k8s\x00" + field(1, field(1, api_version) + field(2, kind)) + field(2, raw)


def decoded(body: bytes) -> Any:
    out = to_json(body)
    return None if out is None else json.loads(out)


def test_kubectls_whoami_body_is_an_empty_self_subject_review() -> None:
    assert decoded(WHOAMI) == {"kind": "SelfSubjectReview", "apiVersion": "authentication.k8s.io/v1",
                               "metadata": {}, "status": {"userInfo": {}}}


def test_kubectls_can_i_body_keeps_the_resource_attributes() -> None:
    body = decoded(CAN_I)
    assert body["kind"] == "SelfSubjectAccessReview" and body["apiVersion"] == "authorization.k8s.io/v1"
    assert body["spec"] == {"resourceAttributes": {"namespace": "default", "verb": "create",
                                                   "group": "certificates.k8s.io",
                                                   "resource": "certificatesigningrequests"}}


def test_a_csr_approval_keeps_metadata_spec_and_conditions() -> None:
    time = field(1, 1767225600)  # 2026-01-01T00:00:00Z
    meta = field(1, "csr-1") + field(5, "uid-1") + field(6, "42") + field(8, time) + \
        field(11, field(1, "app") + field(2, "x"))
    spec = field(1, b"PEM") + field(7, "kubernetes.io/kube-apiserver-client-kubelet") + field(8, 3600) + \
        field(5, "digital signature") + field(5, "client auth") + field(2, "system:bootstrap:abcdef") + \
        field(4, "system:bootstrappers") + field(6, field(1, "k") + field(2, field(1, "v1") + field(1, "v2")))
    condition = field(1, "Approved") + field(6, "True") + field(2, "KubectlApprove") + field(3, "ok") + \
        field(4, time)
    raw = field(1, meta) + field(2, spec) + field(3, field(1, condition))
    body = decoded(envelope("certificates.k8s.io/v1", "CertificateSigningRequest", raw))
    assert body["metadata"] == {"name": "csr-1", "uid": "uid-1", "resourceVersion": "42",
                                "creationTimestamp": "2026-01-01T00:00:00Z", "labels": {"app": "x"}}
    assert body["spec"] == {"request": base64.b64encode(b"PEM").decode(),
                            "signerName": "kubernetes.io/kube-apiserver-client-kubelet", "expirationSeconds": 3600,
                            "usages": ["digital signature", "client auth"], "username": "system:bootstrap:abcdef",
                            "groups": ["system:bootstrappers"], "extra": {"k": {"items": ["v1", "v2"]}}}
    assert body["status"] == {"conditions": [{"type": "Approved", "status": "True", "reason": "KubectlApprove",
                                              "message": "ok", "lastUpdateTime": "2026-01-01T00:00:00Z"}]}


def test_secret_data_becomes_base64() -> None:
    raw = field(1, field(1, "s") + field(3, "kube-system")) + field(2, field(1, "a") + field(2, b"\x00\x01")) + \
        field(3, "Opaque")
    body = decoded(envelope("v1", "Secret", raw))
    assert body == {"kind": "Secret", "apiVersion": "v1", "metadata": {"name": "s", "namespace": "kube-system"},
                    "data": {"a": "AAE="}, "type": "Opaque"}


@pytest.mark.parametrize("body", [
    b'{"kind": "ConfigMap"}',
    envelope("v1", "Pod", b""),
    b"k8s\x00\x0a\xff",
    WHOAMI[:30],
    envelope("v1", "Secret", field(1, b"\xff\xfe")),
], ids=["invalid: not protobuf", "invalid: unknown kind", "invalid: truncated varint", "invalid: truncated body",
        "invalid: bad utf-8"])
def test_other_bodies_are_left_alone(body: bytes) -> None:
    assert to_json(body) is None
