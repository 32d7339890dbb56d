"""Run the validating admission plugins that matter to joins, after validation and before storage.

* NodeRestriction: a node (``system:node:<n>`` in ``system:nodes``) may only
  create, update or delete the Node named ``<n>`` (and its status).
* certificates/subjectrestriction: no CSR for ``kubernetes.io/kube-apiserver-client``
  may ask for the ``system:masters`` organization.
* certificates/approval: writing ``/approval`` needs ``approve`` on the
  synthetic resource ``signers`` named by the CSR's signerName (or ``<domain>/*``).
* certificates/signing: changing ``status.certificate`` through ``/status``
  needs ``sign`` on that signer the same way.
Each refusal is a 403 ``<resource> "<name>" is forbidden: <cause>``.
Upstream: plugin/pkg/admission/noderestriction/admission.go,
plugin/pkg/admission/certificates/{subjectrestriction,approval,signing}/admission.go,
plugin/pkg/admission/certificates/util.go (IsAuthorizedForSignerName),
staging/src/k8s.io/apiserver/pkg/admission/errors.go (NewForbidden).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Callable, Mapping

from cryptography.x509.oid import NameOID

from sim.control import status
from sim.control.authn import UserInfo
from sim.control.authz import Attributes, node_identity
from sim.protocol import pki
from sim.protocol.constants import CERTIFICATES_GROUP, CSR_RESOURCE, KUBE_APISERVER_CLIENT_SIGNER, MASTERS_GROUP
from sim.protocol.csr import subject_values
from sim.protocol.errors import CryptoError

__all__ = ["Authorize", "admit"]

Authorize = Callable[[Attributes], tuple[bool, str]]


def _authorized_for_signer(authorize: Authorize, user: UserInfo, verb: str, signer: str) -> bool:
    """Check ``verb`` on ``signers/<signer>``, then on ``signers/<domain>/*`` (IsAuthorizedForSignerName)."""
    for name in (signer, signer.split("/")[0] + "/*"):
        attrs = Attributes(user=user, verb=verb, api_group=CERTIFICATES_GROUP, resource="signers", name=name)
        if authorize(attrs)[0]:
            return True
    return False


def _organizations(obj: Mapping[str, Any]) -> list[str] | str:
    """Return the CSR subject's organizations, or the parse error text."""
    try:
        raw = base64.b64decode(str((obj.get("spec") or {}).get("request") or ""))
        csr = pki.parse_csr_pem(raw)
    except (binascii.Error, ValueError, CryptoError) as err:
        return str(err)
    return subject_values(csr, NameOID.ORGANIZATION_NAME)


def admit(*, operation: str, resource: str, subresource: str, name: str, user: UserInfo,
          obj: Mapping[str, Any] | None, old: Mapping[str, Any] | None, authorize: Authorize) -> None:
    """Raise the 403 of the first plugin that refuses the change; ``operation`` is create, update or delete."""
    if resource == "nodes":
        node, is_node = node_identity(user)
        if is_node and not node:
            raise status.new_forbidden("nodes", "", name, f'could not determine node from user "{user.name}"')
        if is_node and name != node:
            raise status.new_forbidden("nodes", "", name, f'node "{node}" is not allowed to modify node "{name}"')
        return
    if resource != CSR_RESOURCE:
        return
    if operation == "create" and not subresource and obj is not None:
        if (obj.get("spec") or {}).get("signerName") != KUBE_APISERVER_CLIENT_SIGNER:
            return
        orgs = _organizations(obj)
        if isinstance(orgs, str):
            raise status.new_forbidden(CSR_RESOURCE, CERTIFICATES_GROUP, name, f"failed to parse CSR: {orgs}")
        if MASTERS_GROUP in orgs:
            raise status.new_forbidden(CSR_RESOURCE, CERTIFICATES_GROUP, name,
                            f"use of {KUBE_APISERVER_CLIENT_SIGNER} signer with system:masters group is not allowed")
        return
    if operation != "update" or old is None:
        return
    signer = str((old.get("spec") or {}).get("signerName") or "")
    if subresource == "approval":
        if not _authorized_for_signer(authorize, user, "approve", signer):
            raise status.new_forbidden(CSR_RESOURCE, CERTIFICATES_GROUP, name,
                            f'user not permitted to approve requests with signerName "{signer}"')
    elif subresource == "status" and obj is not None:
        new_cert = (obj.get("status") or {}).get("certificate")
        old_cert = (old.get("status") or {}).get("certificate")
        if (new_cert or None) != (old_cert or None) and not _authorized_for_signer(authorize, user, "sign", signer):
            raise status.new_forbidden(CSR_RESOURCE, CERTIFICATES_GROUP, name,
                            f'user not permitted to sign requests with signerName "{signer}"')
