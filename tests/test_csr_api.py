"""Test the CertificateSigningRequest API: create rules, 422 texts, /approval, /status and their admission."""

from __future__ import annotations

import functools
from typing import Any

import pytest

from cryptography.hazmat.primitives import serialization
from cryptography import x509

from sim.control.api import ApiServer
from sim.control.csr_validation import VALID_USAGES
from sim.control.profile import V1_22
from sim.protocol import objects, pki
from sim.protocol.http import ClientSubject
from tests.api_fixtures import (
    ADMIN, CSR_PATH, KCM, NODE_GROUP, NOW, TOKEN, call, csr_body, kubelet_csr_pem, make_server,
)

KUBELET_SIGNER = "kubernetes.io/kube-apiserver-client-kubelet"
QUALIFIED = "CertificateSigningRequest.certificates.k8s.io"


def named(name: str = "my-csr", **kw: Any) -> dict[str, Any]:
    body = csr_body(**kw)
    body["metadata"] = {"name": name}
    return body


def create(api: ApiServer, body: dict[str, Any], **kw: Any) -> Any:
    kw.setdefault("bearer", TOKEN)
    return call(api, "POST", CSR_PATH, body=body, **kw)


def test_bootstrap_token_creates_a_csr_and_the_server_fills_the_requester() -> None:
    api, store = make_server()
    body = csr_body(username="forged", groups=["system:masters"], uid="1", extra={"a": ["b"]})
    body["status"] = {"conditions": [{"type": "Approved", "status": "True"}], "certificate": objects.b64("x")}
    response = create(api, body)
    assert response.status == 201
    created = response.body
    assert created["metadata"]["name"].startswith("csr-") and len(created["metadata"]["name"]) == 9
    assert created["spec"]["username"] == "system:bootstrap:abcdef"
    assert created["spec"]["groups"] == ["system:bootstrappers", NODE_GROUP, "system:authenticated"]
    assert "uid" not in created["spec"] and "extra" not in created["spec"]
    assert created["status"] == {}
    assert created["spec"]["signerName"] == KUBELET_SIGNER
    assert store.get("certificatesigningrequests", "", created["metadata"]["name"]) == created


def test_requester_can_read_and_watch_its_csr() -> None:
    api, _ = make_server()
    name = create(api, csr_body()).body["metadata"]["name"]
    assert call(api, "GET", f"{CSR_PATH}/{name}", bearer=TOKEN).status == 200
    events = call(api, "GET", f"{CSR_PATH}?watch=true&fieldSelector=metadata.name={name}", bearer=TOKEN).body
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", name)]


def test_duplicate_name_is_409() -> None:
    api, _ = make_server()
    assert create(api, named()).status == 201
    response = create(api, named())
    assert (response.status, response.body["message"], response.body["details"]) == (
        409, 'certificatesigningrequests.certificates.k8s.io "my-csr" already exists',
        {"name": "my-csr", "group": "certificates.k8s.io", "kind": "certificatesigningrequests"})


@functools.lru_cache(maxsize=None)
def _bad_signature_pem() -> bytes:
    der = x509.load_pem_x509_csr(kubelet_csr_pem()).public_bytes(serialization.Encoding.DER)
    tampered = der[:-3] + bytes([der[-3] ^ 0x01]) + der[-2:]
    return b"-----BEGIN CERTIFICATE REQUEST-----\n" + objects.b64(tampered).encode() + \
        b"\n-----END CERTIFICATE REQUEST-----\n"


ALL_USAGES = ", ".join(f'"{u}"' for u in VALID_USAGES)

INVALID = [
    pytest.param(named(signer=""), "spec.signerName: Required value: signerName must be provided",
                 id="invalid: no signer"),
    pytest.param(named(signer="kubernetes.io/legacy-unknown"),
                 'spec.signerName: Invalid value: "kubernetes.io/legacy-unknown": the legacy signerName is not '
                 "allowed via this API version", id="invalid: legacy signer"),
    pytest.param(named(signer="foo"), "spec.signerName: Invalid value: \"foo\": must be a fully qualified domain and "
                 "path of the form 'example.com/signer-name'", id="invalid: signer without a path"),
    pytest.param(named(signer="example/x"), 'spec.signerName: Invalid value: "example": should be a domain with at '
                 "least two segments separated by dots", id="invalid: signer domain of one label"),
    pytest.param(named(pem=b"not a csr"), "spec.request: Invalid value: []byte{0x6e, 0x6f, 0x74, 0x20, 0x61, 0x20, "
                 "0x63, 0x73, 0x72}: PEM block type must be CERTIFICATE REQUEST", id="invalid: not PEM"),
    pytest.param(named(pem=b"-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n"),
                 None, id="invalid: a certificate, not a request"),
    pytest.param(named(usages=[]), "spec.usages: Required value", id="invalid: no usages"),
    pytest.param(named(usages=["bogus"]), f'spec.usages[0]: Unsupported value: "bogus": supported values: {ALL_USAGES}',
                 id="invalid: unknown usage"),
    pytest.param(named(usages=["client auth", "client auth"]), 'spec.usages[1]: Duplicate value: "client auth"',
                 id="invalid: duplicate usage"),
    pytest.param(named(expirationSeconds=599), "spec.expirationSeconds: Invalid value: 599: may not specify a "
                 "duration less than 600 seconds (10 minutes)", id="invalid: expiration under 10 min"),
    pytest.param(named(usages=[], signer=""), "[spec.usages: Required value, spec.signerName: Required value: "
                 "signerName must be provided]", id="invalid: two errors are bracketed"),
]


@pytest.mark.parametrize(("body", "detail"), INVALID)
def test_invalid_csrs_are_422_with_upstream_texts(body: dict[str, Any], detail: str | None) -> None:
    api, _ = make_server()
    response = create(api, body)
    assert response.status == 422 and response.body["reason"] == "Invalid"
    if detail is not None:
        assert response.body["message"] == f'{QUALIFIED} "my-csr" is invalid: {detail}'
    assert response.body["details"]["kind"] == "CertificateSigningRequest"
    assert response.body["details"]["group"] == "certificates.k8s.io"


def test_bad_signature_is_refused() -> None:
    api, _ = make_server()
    response = create(api, named(pem=_bad_signature_pem()))
    assert response.status == 422
    assert response.body["message"].endswith(": x509: ECDSA verification failure")
    assert response.body["details"]["causes"][0]["field"] == "spec.request"


def test_generated_name_appears_in_the_422() -> None:
    api, _ = make_server()
    response = create(api, csr_body(signer="kubernetes.io/legacy-unknown"))
    assert response.body["message"].startswith(f'{QUALIFIED} "csr-')


def test_profile_1_22_explains_missing_usages() -> None:
    api, _ = make_server(profile=V1_22)
    response = create(api, named(usages=[]))
    assert response.body["message"] == f'{QUALIFIED} "my-csr" is invalid: spec.usages: Required value: usages must be provided'


@pytest.mark.parametrize(("expiration", "code"), [
    pytest.param(600, 201, id="valid: 10 min"), pytest.param(None, 201, id="valid: unset"),
])
def test_expiration_seconds_at_the_limit(expiration: int | None, code: int) -> None:
    api, _ = make_server()
    body = named() if expiration is None else named(expirationSeconds=expiration)
    assert create(api, body).status == code


def test_masters_organization_is_refused_for_the_client_signer() -> None:
    api, _ = make_server()
    key = pki.generate_private_key("ecdsa")
    pem = pki.build_csr(key, common_name="evil", organizations=("system:masters",))
    response = create(api, named(pem=pem, signer="kubernetes.io/kube-apiserver-client", usages=["client auth"]),
                      bearer=None, client=ADMIN)
    assert (response.status, response.body["message"]) == (403, (
        'certificatesigningrequests.certificates.k8s.io "my-csr" is forbidden: use of '
        "kubernetes.io/kube-apiserver-client signer with system:masters group is not allowed"))


# --- /approval ---

def approved(obj: dict[str, Any], *conditions: dict[str, str]) -> dict[str, Any]:
    out = dict(obj)
    out["status"] = {"conditions": list(conditions)}
    return out


APPROVE = {"type": "Approved", "status": "True", "reason": "AutoApproved", "message": "ok"}
DENY = {"type": "Denied", "status": "True", "reason": "No", "message": "no"}


def _stored(api: ApiServer) -> dict[str, Any]:
    created = create(api, named()).body
    assert isinstance(created, dict)
    return created


def test_controller_approves_through_the_approval_subresource() -> None:
    api, _ = make_server()
    csr = _stored(api)
    body = approved(csr, APPROVE)
    body["spec"] = dict(csr["spec"], username="changed")
    response = call(api, "PUT", f"{CSR_PATH}/my-csr/approval", client=KCM, body=body)
    assert response.status == 200
    assert response.body["spec"] == csr["spec"]
    assert response.body["status"]["conditions"] == [dict(APPROVE, lastUpdateTime="2025-01-01T12:00:00Z",
                                                          lastTransitionTime="2025-01-01T12:00:00Z")]


def test_main_resource_update_cannot_approve() -> None:
    api, _ = make_server()
    csr = _stored(api)
    response = call(api, "PUT", f"{CSR_PATH}/my-csr", client=ADMIN, body=approved(csr, APPROVE))
    assert response.status == 200 and response.body["status"] == {}


def test_requester_may_not_approve_its_own_csr() -> None:
    api, _ = make_server()
    csr = _stored(api)
    response = call(api, "PUT", f"{CSR_PATH}/my-csr/approval", bearer=TOKEN, body=approved(csr, APPROVE))
    assert response.status == 403
    assert response.body["message"] == (
        'certificatesigningrequests.certificates.k8s.io "my-csr" is forbidden: User "system:bootstrap:abcdef" cannot '
        'update resource "certificatesigningrequests/approval" in API group "certificates.k8s.io" at the cluster scope')


def _grant(api: ApiServer, user: str, rules: list[dict[str, Any]]) -> None:
    store = api.store
    store.create("clusterroles", {"metadata": {"name": f"{user}-role"}, "rules": rules}, NOW)
    store.create("clusterrolebindings", {
        "metadata": {"name": f"{user}-binding"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": f"{user}-role"},
        "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": user}]}, NOW)


UPDATE_APPROVAL = {"verbs": ["update"], "apiGroups": ["certificates.k8s.io"],
                   "resources": ["certificatesigningrequests/approval", "certificatesigningrequests/status"]}


@pytest.mark.parametrize(("signer_rule", "code"), [
    pytest.param(None, 403, id="invalid: no approve permission on the signer"),
    pytest.param({"verbs": ["approve"], "apiGroups": ["certificates.k8s.io"], "resources": ["signers"],
                  "resourceNames": [KUBELET_SIGNER]}, 200, id="valid: approve on the signer"),
    pytest.param({"verbs": ["approve"], "apiGroups": ["certificates.k8s.io"], "resources": ["signers"],
                  "resourceNames": ["kubernetes.io/*"]}, 200, id="valid: approve on the signer domain"),
    pytest.param({"verbs": ["approve"], "apiGroups": ["certificates.k8s.io"], "resources": ["signers"],
                  "resourceNames": ["kubernetes.io/kubelet-serving"]}, 403, id="invalid: approve on another signer"),
])
def test_approval_admission_checks_the_signer(signer_rule: dict[str, Any] | None, code: int) -> None:
    api, _ = make_server()
    _grant(api, "approver", [UPDATE_APPROVAL] + ([signer_rule] if signer_rule else []))
    csr = _stored(api)
    response = call(api, "PUT", f"{CSR_PATH}/my-csr/approval", client=ClientSubject(common_name="approver"),
                    body=approved(csr, APPROVE))
    assert response.status == code
    if code == 403:
        assert response.body["message"] == (
            'certificatesigningrequests.certificates.k8s.io "my-csr" is forbidden: user not permitted to approve '
            f'requests with signerName "{KUBELET_SIGNER}"')


@pytest.mark.parametrize(("conditions", "detail"), [
    pytest.param([APPROVE, DENY], 'status.conditions[1].type: Invalid value: "Denied": Approved and Denied '
                 "conditions are mutually exclusive", id="invalid: approved and denied"),
    pytest.param([dict(APPROVE, status="False")], 'status.conditions[0].status: Unsupported value: "False": '
                 'supported values: "True"', id="invalid: approved false"),
    pytest.param([dict(APPROVE, status="")], "status.conditions[0].status: Required value", id="invalid: no status"),
    pytest.param([APPROVE, APPROVE], 'status.conditions[1].type: Duplicate value: "Approved"', id="invalid: twice"),
    pytest.param([dict(APPROVE, type="")], "status.conditions[0].type: Required value", id="invalid: no type"),
])
def test_invalid_approvals_are_422(conditions: list[dict[str, str]], detail: str) -> None:
    api, _ = make_server()
    csr = _stored(api)
    response = call(api, "PUT", f"{CSR_PATH}/my-csr/approval", client=KCM, body=approved(csr, *conditions))
    assert (response.status, response.body["message"]) == (422, f'{QUALIFIED} "my-csr" is invalid: {detail}')


def test_an_approval_cannot_be_removed() -> None:
    api, _ = make_server()
    csr = _stored(api)
    first = call(api, "PUT", f"{CSR_PATH}/my-csr/approval", client=KCM, body=approved(csr, APPROVE)).body
    response = call(api, "PUT", f"{CSR_PATH}/my-csr/approval", client=KCM, body=approved(first))
    assert (response.status, response.body["message"]) == (
        422, f'{QUALIFIED} "my-csr" is invalid: status.conditions: Forbidden: updates may not remove a condition of '
             'type "Approved"')


# --- /status ---

@functools.lru_cache(maxsize=None)
def _certificate() -> str:
    ca = pki.create_ca(now=NOW, key_type="ecdsa")
    csr = pki.parse_csr_pem(kubelet_csr_pem())
    cert = pki.sign_csr(ca, csr, usages=("digital signature", "client auth"), now=NOW)
    return objects.b64(pki.cert_pem(cert))


def _approved(api: ApiServer) -> dict[str, Any]:
    csr = _stored(api)
    body = call(api, "PUT", f"{CSR_PATH}/my-csr/approval", client=KCM, body=approved(csr, APPROVE)).body
    assert isinstance(body, dict)
    return body


def with_status(obj: dict[str, Any], **status: Any) -> dict[str, Any]:
    out = dict(obj)
    out["status"] = dict(obj.get("status") or {}, **status)
    return out


def test_signer_writes_the_certificate_and_keeps_the_approval() -> None:
    api, _ = make_server()
    csr = _approved(api)
    body = with_status(csr, certificate=_certificate(), conditions=[dict(APPROVE, message="tampered")])
    response = call(api, "PUT", f"{CSR_PATH}/my-csr/status", client=KCM, body=body)
    assert response.status == 200
    assert response.body["status"]["certificate"] == _certificate()
    assert response.body["status"]["conditions"] == csr["status"]["conditions"]


def test_signer_may_add_a_failed_condition() -> None:
    api, _ = make_server()
    csr = _approved(api)
    failed = {"type": "Failed", "status": "True", "reason": "SignerValidationFailure", "message": "bad"}
    body = with_status(csr, conditions=[*csr["status"]["conditions"], failed])
    response = call(api, "PUT", f"{CSR_PATH}/my-csr/status", client=KCM, body=body)
    assert response.status == 200 and response.body["status"]["conditions"][-1]["type"] == "Failed"


@pytest.mark.parametrize(("certificate", "detail"), [
    pytest.param(objects.b64("junk"), 'status.certificate: Invalid value: "<certificate data>": must contain at least '
                 "one CERTIFICATE PEM block", id="invalid: not PEM"),
    pytest.param(objects.b64(kubelet_csr_pem()), 'status.certificate: Invalid value: "<certificate data>": only '
                 'CERTIFICATE PEM blocks are allowed, found "CERTIFICATE REQUEST"', id="invalid: wrong block"),
])
def test_invalid_certificates_are_422(certificate: str, detail: str) -> None:
    api, _ = make_server()
    csr = _approved(api)
    response = call(api, "PUT", f"{CSR_PATH}/my-csr/status", client=KCM, body=with_status(csr, certificate=certificate))
    assert (response.status, response.body["message"]) == (422, f'{QUALIFIED} "my-csr" is invalid: {detail}')


def test_an_issued_certificate_cannot_be_replaced() -> None:
    api, _ = make_server()
    csr = _approved(api)
    issued = call(api, "PUT", f"{CSR_PATH}/my-csr/status", client=KCM, body=with_status(csr, certificate=_certificate())).body
    response = call(api, "PUT", f"{CSR_PATH}/my-csr/status", client=KCM,
                    body=with_status(issued, certificate=objects.b64(pki.cert_pem(pki.create_ca(now=NOW).cert))))
    assert response.status == 422
    assert response.body["message"].endswith("status.certificate: Forbidden: updates may not modify existing certificate content")


def test_signing_needs_sign_on_the_signer() -> None:
    api, _ = make_server()
    _grant(api, "signer", [UPDATE_APPROVAL])
    csr = _approved(api)
    response = call(api, "PUT", f"{CSR_PATH}/my-csr/status", client=ClientSubject(common_name="signer"),
                    body=with_status(csr, certificate=_certificate()))
    assert (response.status, response.body["message"]) == (403, (
        'certificatesigningrequests.certificates.k8s.io "my-csr" is forbidden: user not permitted to sign requests '
        f'with signerName "{KUBELET_SIGNER}"'))


def test_status_patch_by_the_signer() -> None:
    api, _ = make_server()
    _approved(api)
    response = call(api, "PATCH", f"{CSR_PATH}/my-csr/status", client=KCM,
                    content_type="application/merge-patch+json", body={"status": {"certificate": _certificate()}})
    assert response.status == 200 and response.body["status"]["conditions"][0]["type"] == "Approved"
