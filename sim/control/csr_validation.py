"""Validate CertificateSigningRequests exactly as kube-apiserver's certificates/v1 validation does.

How this works: one function checks an object against options that depend on
how it is written (create, main-resource update, ``/approval``, ``/status``)
and on what the stored object already tolerates (a legacy signer, both
Approved and Denied...). The request must be a signed PEM ``CERTIFICATE
REQUEST``; its error shows the raw bytes as Go prints a ``[]byte``. In the
``modeled`` crypto mode the request and certificate are symbolic records
(``sim.protocol.modeled``), checked for the same properties.
Upstream: pkg/apis/certificates/validation/validation.go,
pkg/apis/core/validation/validation.go (ValidateSignerName),
pkg/apis/certificates/helpers.go (ParseCSR).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any, Mapping

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from sim.control import validation as v
from sim.protocol import modeled, pki
from sim.protocol.constants import LEGACY_UNKNOWN_SIGNER
from sim.protocol.errors import CryptoError

__all__ = ["Options", "VALID_USAGES", "options_for", "request_error", "validate_csr", "validate_csr_update"]

VALID_USAGES = tuple(sorted((
    "signing", "digital signature", "content commitment", "key encipherment", "key agreement",
    "data encipherment", "cert sign", "crl sign", "encipher only", "decipher only", "any", "server auth",
    "client auth", "code signing", "email protection", "s/mime", "ipsec end system", "ipsec tunnel", "ipsec user",
    "timestamping", "ocsp signing", "microsoft sgc", "netscape sgc",
)))
_TRUE_ONLY_TYPES = ("Approved", "Denied", "Failed")
_PEM_BLOCK = re.compile(rb"-----BEGIN ([^\r\n-]*)-----\r?\n(.*?)-----END \1-----", re.S)
_REQUEST_CACHE: dict[str, str | None] = {}
_CACHE_LIMIT = 4096

Obj = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Options:
    """Say what an update path may change and which stored oddities are tolerated (certificateValidationOptions)."""

    allow_setting_approval_conditions: bool = False
    allow_setting_certificate: bool = False
    allow_both_approved_and_denied: bool = False
    allow_legacy_signer_name: bool = False
    allow_duplicate_condition_types: bool = False
    allow_empty_condition_type: bool = False
    allow_arbitrary_certificate: bool = False
    allow_unknown_usages: bool = False
    allow_duplicate_usages: bool = False


def _spec(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("spec") or {}


def _conditions(obj: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list((obj.get("status") or {}).get("conditions") or [])


def _certificate(obj: Mapping[str, Any]) -> str:
    return str((obj.get("status") or {}).get("certificate") or "")


def options_for(new: Mapping[str, Any], old: Mapping[str, Any] | None, subresource: str = "") -> Options:
    """Return the options for a create (old None) or an update path (getValidationOptions)."""
    if old is None:
        return Options()
    types = [c.get("type", "") for c in _conditions(old)]
    usages = list(_spec(old).get("usages") or [])
    return Options(
        allow_setting_approval_conditions=subresource == "approval",
        allow_setting_certificate=subresource == "status",
        allow_both_approved_and_denied="Approved" in types and "Denied" in types,
        allow_legacy_signer_name=_spec(old).get("signerName") == LEGACY_UNKNOWN_SIGNER,
        allow_duplicate_condition_types=len(types) != len(set(types)),
        allow_empty_condition_type="" in types,
        allow_arbitrary_certificate=(_certificate(new) == _certificate(old)
                                     or certificate_error(_certificate(old)) is not None),
        allow_unknown_usages=any(u not in VALID_USAGES for u in usages),
        allow_duplicate_usages=len(usages) != len(set(usages)),
    )


def request_error(request_b64: str) -> str | None:
    """Return why ``spec.request`` is not a signed PEM CSR (ParseCSR, CheckSignature), or None.

    Results are cached by the request text: every update re-validates the
    request, and the same CSR is written several times during a join.
    """
    if request_b64 in _REQUEST_CACHE:
        return _REQUEST_CACHE[request_b64]
    raw = _b64(request_b64)
    error: str | None = None
    try:
        parsed = pki.parse_csr_pem(raw)
        if not pki.verify_csr_signature(parsed):
            ecdsa = isinstance(parsed, modeled.ModeledRequest) or isinstance(parsed.public_key(),
                                                                             ec.EllipticCurvePublicKey)
            error = "x509: ECDSA verification failure" if ecdsa else "crypto/rsa: verification error"
    except CryptoError as err:
        error = str(err)
    if len(_REQUEST_CACHE) >= _CACHE_LIMIT:
        _REQUEST_CACHE.clear()
    _REQUEST_CACHE[request_b64] = error
    return error


def _b64(text: str) -> bytes:
    """Decode base64 leniently (the decoder already rejected bad input with a 400)."""
    try:
        return base64.b64decode(text)
    except (binascii.Error, ValueError):
        return b""


def certificate_error(cert_b64: str) -> str | None:
    """Return why ``status.certificate`` is not a list of header-less CERTIFICATE blocks (validateCertificate)."""
    if not cert_b64:
        return None
    try:
        data = base64.b64decode(cert_b64)
    except (binascii.Error, ValueError):
        return "must contain at least one CERTIFICATE PEM block"
    blocks = 0
    for match in _PEM_BLOCK.finditer(data):
        kind, body = match.group(1).decode("latin-1"), match.group(2)
        if kind not in ("CERTIFICATE", modeled.CERTIFICATE):
            return f'only CERTIFICATE PEM blocks are allowed, found "{kind}"'
        if b":" in body.split(b"\n", 1)[0]:
            return "no PEM block headers are permitted"
        blocks += 1
        if kind == modeled.CERTIFICATE:
            try:
                modeled.parse_certificate(match.group(0))
            except ValueError:
                return "x509: malformed certificate"
            continue
        try:
            x509.load_der_x509_certificate(base64.b64decode(b"".join(body.split())))
        except (binascii.Error, ValueError):
            return "x509: malformed certificate"
    return None if blocks else "must contain at least one CERTIFICATE PEM block"


def _signer_name_errors(name: str) -> list[v.FieldError]:
    """Validate a signerName as ValidateSignerName: ``<dns domain>/<dns subdomain path>``."""
    field = "spec.signerName"
    if not name:
        return [v.required(field, "signerName must be provided")]
    segments = name.split("/")
    if len(segments) != 2:
        return [v.invalid(field, v.go_quote(name),
                          "must be a fully qualified domain and path of the form 'example.com/signer-name'")]
    domain, path = segments
    errors: list[v.FieldError] = []
    if len(domain) > 253:
        errors.append(v.too_long(field, 253))
    labels = domain.split(".")
    for label in labels:
        messages = v.dns1123_label_errors(label)
        if messages:
            errors += [v.invalid(field, v.go_quote(domain), f'validating label "{label}": {m}') for m in messages]
            break
    if len(labels) < 2:
        errors.append(v.invalid(field, v.go_quote(domain),
                                "should be a domain with at least two segments separated by dots"))
    for label in path.split("."):
        messages = v.dns1123_subdomain_errors(label)
        if messages:
            errors += [v.invalid(field, v.go_quote(path), f'validating label "{label}": {m}') for m in messages]
            break
    if len(name) > 253 + 253 + 63 + 1 + 1:
        errors.append(v.too_long(field, 571))
    return errors


def _condition_errors(obj: Mapping[str, Any], opts: Options) -> list[v.FieldError]:
    errors: list[v.FieldError] = []
    seen: set[str] = set()
    approved = denied = False
    for i, cond in enumerate(_conditions(obj)):
        path = f"status.conditions[{i}]"
        ctype, cstatus = str(cond.get("type") or ""), str(cond.get("status") or "")
        if not opts.allow_empty_condition_type and not ctype:
            errors.append(v.required(f"{path}.type"))
        allowed = ["True"] if ctype in _TRUE_ONLY_TYPES else ["False", "True", "Unknown"]
        if not cstatus:
            errors.append(v.required(f"{path}.status"))
        elif cstatus not in allowed:
            errors.append(v.not_supported(f"{path}.status", v.go_quote(cstatus), allowed))
        if not opts.allow_both_approved_and_denied:
            if ctype == "Approved":
                approved = True
                if denied:
                    errors.append(v.invalid(f"{path}.type", v.go_quote(ctype),
                                            "Approved and Denied conditions are mutually exclusive"))
            elif ctype == "Denied":
                denied = True
                if approved:
                    errors.append(v.invalid(f"{path}.type", v.go_quote(ctype),
                                            "Approved and Denied conditions are mutually exclusive"))
        if not opts.allow_duplicate_condition_types:
            if ctype in seen:
                errors.append(v.duplicate(f"{path}.type", v.go_quote(ctype)))
            seen.add(ctype)
    return errors


def validate_csr(obj: Mapping[str, Any], opts: Options, *, usages_detail: str = "") -> list[v.FieldError]:
    """Return the errors of validateCertificateSigningRequest (metadata aside: CSR names are free)."""
    errors: list[v.FieldError] = []
    spec = _spec(obj)
    request = spec.get("request")
    problem = request_error(str(request or ""))
    if problem is not None:
        shown = "[]byte(nil)" if request is None else v.go_bytes(_b64(str(request)))
        errors.append(v.invalid("spec.request", shown, problem))
    usages = [str(u) for u in spec.get("usages") or []]
    if not usages:
        errors.append(v.required("spec.usages", usages_detail))
    if not opts.allow_unknown_usages:
        errors += [v.not_supported(f"spec.usages[{i}]", v.go_quote(u), VALID_USAGES)
                   for i, u in enumerate(usages) if u not in VALID_USAGES]
    if not opts.allow_duplicate_usages:
        errors += [v.duplicate(f"spec.usages[{i}]", v.go_quote(u)) for i, u in enumerate(usages) if u in usages[:i]]
    signer = str(spec.get("signerName") or "")
    if not opts.allow_legacy_signer_name and signer == LEGACY_UNKNOWN_SIGNER:
        errors.append(v.invalid("spec.signerName", v.go_quote(signer),
                                "the legacy signerName is not allowed via this API version"))
    else:
        errors += _signer_name_errors(signer)
    expiration = spec.get("expirationSeconds")
    if isinstance(expiration, int) and expiration < 600:
        errors.append(v.invalid("spec.expirationSeconds", str(expiration),
                                "may not specify a duration less than 600 seconds (10 minutes)"))
    errors += _condition_errors(obj, opts)
    if not opts.allow_arbitrary_certificate and (problem := certificate_error(_certificate(obj))) is not None:
        errors.append(v.invalid("status.certificate", v.go_quote("<certificate data>"), problem))
    return errors


def _of_type(obj: Mapping[str, Any], ctype: str) -> list[Mapping[str, Any]]:
    return [c for c in _conditions(obj) if c.get("type") == ctype]


def validate_csr_update(new: Mapping[str, Any], old: Mapping[str, Any], opts: Options,
                        *, usages_detail: str = "") -> list[v.FieldError]:
    """Return the errors of validateCertificateSigningRequestUpdate for one update path."""
    errors = validate_csr(new, opts, usages_detail=usages_detail)
    for ctype in ("Approved", "Denied", "Failed"):
        if len(_of_type(new, ctype)) < len(_of_type(old, ctype)):
            errors.append(v.forbidden("status.conditions", f'updates may not remove a condition of type "{ctype}"'))
    if not opts.allow_setting_approval_conditions:
        for ctype in ("Approved", "Denied"):
            before, after = _of_type(old, ctype), _of_type(new, ctype)
            if len(after) > len(before):
                errors.append(v.forbidden("status.conditions", f'updates may not add a condition of type "{ctype}"'))
            elif len(after) == len(before) and after != before:
                diff = f"- {before}\n+ {after}"  # upstream prints a cmp.Diff here
                errors.append(v.forbidden("status.conditions",
                                          f'updates may not modify a condition of type "{ctype}"\n{diff}'))
    if _certificate(new) != _certificate(old):
        if not opts.allow_setting_certificate:
            errors.append(v.forbidden("status.certificate", "updates may not set certificate content"))
        elif _certificate(old):
            errors.append(v.forbidden("status.certificate", "updates may not modify existing certificate content"))
    return errors
