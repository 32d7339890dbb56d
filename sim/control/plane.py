"""Assemble one control plane: API server, object store, controllers and the keys kubeadm init made.

A ``ControlPlane`` is what every driver serves: ``handle(request, now)`` is
kube-apiserver, ``controllers`` are the kube-controller-manager loops kubeadm
enables (``--controllers=*,bootstrapsigner,tokencleaner``), and ``ca`` /
``serving`` are the certificates a driver's TLS layer presents and checks.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

from sim.control.api import ApiServer
from sim.control.controllers.base import Controller
from sim.control.controllers.bootstrapsigner import BootstrapSigner
from sim.control.controllers.csrapproving import CsrApprover
from sim.control.controllers.csrcleaner import CsrCleaner
from sim.control.controllers.csrsigning import CsrSigner
from sim.control.controllers.garbagecollector import GarbageCollector
from sim.control.controllers.tokencleaner import TokenCleaner
from sim.control.kubeadm_certs import upload_certs
from sim.control.kubeadm_init import ClusterSecrets, init
from sim.control.profile import CURRENT, Profile
from sim.control.store import Store
from sim.protocol import constants as C
from sim.protocol import pki
from sim.protocol.hostport import endpoint_host
from sim.protocol.http import ClientSubject, Request, Response
from sim.protocol.objects import format_time
from sim.protocol.rng import Rng
from sim.protocol.tokens import BootstrapToken

SIGNERS = (C.KUBE_APISERVER_CLIENT_KUBELET_SIGNER, C.KUBE_APISERVER_CLIENT_SIGNER, C.KUBELET_SERVING_SIGNER,
           C.LEGACY_UNKNOWN_SIGNER)


@dataclass(slots=True, kw_only=True)
class ControlPlane:
    """Hold the parts of one control plane and serve requests."""

    name: str
    endpoint: str
    profile: Profile
    store: Store
    api: ApiServer
    secrets: ClusterSecrets
    serving: pki.CertKey
    """The API server's serving certificate (SANs: the endpoint host, 127.0.0.1, localhost, kubernetes...)."""
    controllers: list[Controller] = field(default_factory=list)
    rng: Rng | None = None

    @property
    def ca(self) -> pki.CertKey:
        """Return the cluster CA."""
        return self.secrets.ca

    @classmethod
    def bootstrap(
        cls,
        *,
        now: datetime,
        rng: Rng,
        endpoint: str,
        profile: Profile = CURRENT,
        ca_key_type: str = "rsa",
        control_plane_endpoint: str | None = None,
        token: BootstrapToken | None = None,
        public_cluster_info: bool = True,
        autoapprove: bool = True,
        anonymous_auth: bool = True,
        token_cache_ttl: float = C.TOKEN_SUCCESS_CACHE_TTL,
        name: str = "control-plane",
    ) -> tuple[ControlPlane, BootstrapToken, list[str]]:
        """Run ``kubeadm init`` against a fresh store; return the plane, the init token and init's output."""
        store = Store(rng)
        secrets, made_token, lines = init(
            store, now=now, rng=rng, endpoint=endpoint, profile=profile, ca_key_type=ca_key_type,
            control_plane_endpoint=control_plane_endpoint, token=token, public_cluster_info=public_cluster_info,
            autoapprove=autoapprove, node_name=name)
        host = endpoint_host(endpoint)
        dns = ["kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local",
               "localhost", name]
        ips = ["10.96.0.1", "127.0.0.1"]
        (ips if _is_ip(host) else dns).append(host)
        serving = pki.create_serving_cert(secrets.ca, common_name="kube-apiserver", dns_names=dns, ip_addresses=ips,
                                          now=now, rng=rng, key_type=ca_key_type)
        plane = cls.restore(store=store, secrets=secrets, serving=serving, rng=rng, anonymous_auth=anonymous_auth,
                            token_cache_ttl=token_cache_ttl, name=name)
        return plane, made_token, lines

    @classmethod
    def restore(
        cls,
        *,
        store: Store,
        secrets: ClusterSecrets,
        serving: pki.CertKey,
        rng: Rng,
        anonymous_auth: bool = True,
        token_cache_ttl: float = C.TOKEN_SUCCESS_CACHE_TTL,
        name: str = "control-plane",
    ) -> ControlPlane:
        """Assemble a plane around an existing store and key material, without running ``kubeadm init``.

        ``bootstrap`` ends here; a driver that persists its state (``joinsim
        serve`` after a restart) calls it with the restored store and secrets.
        The endpoint and profile come from ``secrets``.
        """
        profile = secrets.profile
        api = ApiServer(store, profile=profile, anonymous_auth=anonymous_auth, token_cache_ttl=token_cache_ttl)
        controllers: list[Controller] = [
            BootstrapSigner(store), TokenCleaner(store), CsrApprover(store, profile),
            *(CsrSigner(store, signer, secrets.ca, rng, profile) for signer in SIGNERS),
            CsrCleaner(store), GarbageCollector(store),
        ]
        return cls(name=name, endpoint=secrets.endpoint, profile=profile, store=store, api=api, secrets=secrets,
                   serving=serving, controllers=controllers, rng=rng)

    def handle(self, request: Request, now: datetime) -> Response:
        """Serve one request as kube-apiserver."""
        return self.api.handle(request, now)

    def upload_certs(self, now: datetime, rng: Rng, certificate_key: str | None = None) -> str:
        """Run ``kubeadm init phase upload-certs --upload-certs``; return the certificate key."""
        key, _ = upload_certs(self.store, now=now, rng=rng, secrets=self.secrets, certificate_key=certificate_key)
        return key

    def approve_csr(self, name: str, now: datetime, *, deny: bool = False) -> Response:
        """Approve (or deny) a CSR as ``kubectl certificate approve`` does, with the admin identity."""
        current = self.store.get("certificatesigningrequests", "", name)
        if current is None:
            return self.handle(Request.build("GET", f"/apis/certificates.k8s.io/v1/certificatesigningrequests/{name}",
                                             client=self.admin_subject()), now)
        kind, reason = ("Denied", "KubectlDeny") if deny else ("Approved", "KubectlApprove")
        message = "This CSR was denied by kubectl certificate deny." if deny else \
            "This CSR was approved by kubectl certificate approve."
        stamp = format_time(now)
        status: dict[str, Any] = dict(current.get("status") or {})
        status["conditions"] = [*status.get("conditions", []), {
            "type": kind, "status": "True", "reason": reason, "message": message,
            "lastUpdateTime": stamp, "lastTransitionTime": stamp}]
        body = dict(current, status=status)
        request = Request.build("PUT", f"/apis/certificates.k8s.io/v1/certificatesigningrequests/{name}/approval",
                                body=body, client=self.admin_subject())
        return self.handle(request, now)

    def admin_subject(self) -> ClientSubject:
        """Return the identity of admin.conf's client certificate, as a TLS layer would report it."""
        return subject_of(self.secrets.admin.cert)

    def replace(self, **changes: Any) -> ControlPlane:
        """Return a copy with some parts swapped (tests use it to alter one component)."""
        return dataclasses.replace(self, **changes)


def subject_of(cert: x509.Certificate) -> ClientSubject:
    """Return a client certificate's identity (CN and O), as kube-apiserver's x509 authenticator reads it."""
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    orgs = tuple(str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME))
    return ClientSubject(common_name=str(names[0].value) if names else "", organizations=orgs)


def _is_ip(host: str) -> bool:
    parts = host.split(".")
    return (len(parts) == 4 and all(p.isdigit() for p in parts)) or ":" in host
