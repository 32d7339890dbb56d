"""Describe the cluster ``kubeadm init`` makes for a run, and make it through the real control plane.

How this works: ``ClusterSettings`` says what an operator chose at init
time: the endpoint, the CA key type, the init token's lifetime and any
further bootstrap tokens (``TokenSpec``: TTL or an absolute expiry, which
may lie before the start, usages, extra groups), whether
``kubeadm:node-autoapprove-bootstrap`` exists (``autoapprove``), whether
``system:anonymous`` may read cluster-info (``public_cluster_info``),
whether kube-apiserver allows anonymous requests at all (``anonymous_auth``),
a ``controlPlaneEndpoint`` and ``upload-certs`` for control-plane joins, and
Nodes that already exist (``ExistingNode``). ``build_cluster`` runs
``ControlPlane.bootstrap`` (kubeadm init), then ``kubeadm token create`` for
each further token, ``kubeadm init phase upload-certs`` and the kubelets
that registered the existing Nodes, each through ``sim.control``, and lets
the controllers settle as a cluster has before anyone joins (an already
expired token is then already cleaned away).
Upstream: cmd/kubeadm/app/apis/bootstraptoken/v1/defaults.go (token
defaults), cmd/kubeadm/app/cmd/token.go (token flag validation).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sim.control import kubeadm_token
from sim.control.manager import ControllerManager
from sim.control.plane import ControlPlane
from sim.control.profile import PROFILES, Profile
from sim.engine.network import split_endpoint
from sim.protocol import certkey, tokens
from sim.protocol import constants as C
from sim.protocol.errors import JoinsimError
from sim.protocol.objects import format_time
from sim.protocol.rng import Rng

__all__ = ["BuiltCluster", "ClusterSettings", "ExistingNode", "TokenSpec", "build_cluster", "kubeadm_token_of",
           "node_object"]

# A Node name is a DNS-1123 subdomain (apimachinery validation.IsDNS1123Subdomain).
_NODE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenSpec:
    """Describe one bootstrap token as ``kubeadm token create`` (or init's ``bootstrapTokens``) takes it.

    Defaults are kubeadm's: TTL 24 h, usages signing and authentication,
    the group ``system:bootstrappers:kubeadm:default-node-token``.
    """

    token: str
    """The token, ``<6 chars>.<16 chars>`` of ``[a-z0-9]``."""
    ttl: float | None = C.DEFAULT_TOKEN_TTL
    """Seconds it lives from its creation (``None``: it never expires, kubeadm's ``--ttl 0``)."""
    expires: float | None = None
    """Its expiry as seconds from the run's start; wins over ``ttl``; 0 or less: already expired at the start."""
    usages: tuple[str, ...] = C.DEFAULT_TOKEN_USAGES
    groups: tuple[str, ...] = C.DEFAULT_TOKEN_GROUPS
    """Extra groups (``auth-extra-groups``); only with the ``authentication`` usage."""
    description: str = ""

    def __post_init__(self) -> None:
        try:
            tokens.parse_token(self.token)
            kubeadm_token.validate_token_flags(usages=self.usages, groups=self.groups)
        except JoinsimError as err:
            raise ValueError(f"token {self.token!r}: {err}") from None
        if self.ttl is not None and not self.ttl > 0:
            raise ValueError(f"token {self.token!r}: ttl must be positive seconds or None (never expires), "
                             f"got {self.ttl!r}")
        if self.expires is not None and not math.isfinite(self.expires):
            raise ValueError(f"token {self.token!r}: expires must be a finite number of seconds from the start")

    @property
    def token_id(self) -> str:
        """Return the public part, the token id."""
        return self.token.split(".", 1)[0]


@dataclass(frozen=True, slots=True, kw_only=True)
class ExistingNode:
    """Name a Node that is registered before the run (as its kubelet would have), Ready or not."""

    name: str
    ready: bool = True

    def __post_init__(self) -> None:
        if len(self.name) > 253 or not _NODE_NAME.match(self.name):
            raise ValueError(f"existing node name {self.name!r} is not a DNS-1123 subdomain")


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterSettings:
    """Describe the cluster ``kubeadm init`` makes (module docstring); every default is kubeadm's."""

    endpoint: str = "10.0.0.1:6443"
    name: str = "control-plane"
    """The first control-plane Node's name, and the label of responses its API server sends."""
    group: str = "control-plane"
    """The control plane's network group."""
    ca_key_type: str = "rsa"
    token: str | None = None
    """The init token, the one nodes and attackers use unless told otherwise (``None``: drawn from the seed)."""
    token_ttl: float | None = C.DEFAULT_TOKEN_TTL
    """Seconds the init token lives from the start (``None``: it never expires)."""
    profile: str = "current"
    tokens: tuple[TokenSpec, ...] = ()
    """Further bootstrap tokens, created at the start after the init token."""
    autoapprove: bool = True
    """Create ``kubeadm:node-autoapprove-bootstrap``; without it first-join CSRs wait for an admin."""
    public_cluster_info: bool = True
    """Create the ``kubeadm:bootstrap-signer-clusterinfo`` Role and RoleBinding for ``system:anonymous``."""
    anonymous_auth: bool = True
    """kube-apiserver ``--anonymous-auth``; off, every anonymous request answers 401."""
    control_plane_endpoint: bool = False
    """Set kubeadm's ``controlPlaneEndpoint`` to ``endpoint`` (a stable address; control-plane joins need it)."""
    upload_certs: bool = False
    """Run ``kubeadm init phase upload-certs --upload-certs`` at the start (kubeadm-certs, owned by a 2 h token)."""
    certificate_key: str | None = None
    """The key upload-certs encrypts with (64 hex characters; ``None``: drawn from the seed)."""
    existing_nodes: tuple[ExistingNode, ...] = ()

    def __post_init__(self) -> None:
        split_endpoint(self.endpoint)
        if self.ca_key_type not in ("rsa", "ecdsa"):
            raise ValueError(f"the CA key type must be rsa or ecdsa, got {self.ca_key_type!r}")
        if self.profile not in PROFILES:
            raise ValueError(f"unknown Kubernetes version profile {self.profile!r} (known: {', '.join(PROFILES)})")
        if self.token_ttl is not None and not self.token_ttl > 0:
            raise ValueError(f"the init token's ttl must be positive seconds or None, got {self.token_ttl!r}")
        if self.token is not None and not tokens.is_valid_bootstrap_token(self.token):
            raise ValueError(f"the init token {self.token!r} is not of the form <6 of [a-z0-9]>.<16 of [a-z0-9]>")
        ids = [t.token_id for t in self.tokens] + ([self.token.split(".", 1)[0]] if self.token else [])
        if len(set(ids)) != len(ids):
            raise ValueError("bootstrap token ids must be unique (the init token's too)")
        if self.certificate_key is not None:
            if not self.upload_certs:
                raise ValueError("a certificate_key needs upload_certs")
            try:
                certkey.decode_certificate_key(self.certificate_key)
            except JoinsimError as err:
                raise ValueError(f"certificate_key: {err}") from None
        names = [n.name for n in self.existing_nodes]
        if len(set(names)) != len(names) or self.name in names:
            raise ValueError("existing node names must be unique and differ from the control plane's name")


@dataclass(frozen=True, slots=True, kw_only=True)
class BuiltCluster:
    """Hold what ``build_cluster`` made: the plane, the init token and the upload-certs key."""

    plane: ControlPlane
    token: tokens.BootstrapToken
    certificate_key: str
    """The key kubeadm-certs is encrypted with ("" without upload-certs)."""


def kubeadm_token_of(spec: TokenSpec, start: datetime) -> tokens.BootstrapToken:
    """Return the token kubeadm would store for a spec (an absolute expiry counts from ``start``)."""
    expires = start + timedelta(seconds=spec.expires) if spec.expires is not None else None
    return tokens.BootstrapToken.from_string(spec.token, ttl=spec.ttl, expires=expires, usages=spec.usages,
                                             groups=spec.groups, description=spec.description)


def node_object(name: str, profile: Profile, now: datetime, *, ready: bool = True) -> dict[str, Any]:
    """Return a worker Node as its kubelet registers and reports it (Ready or not)."""
    stamp = format_time(now)
    # Ready as the kubelet posts it (pkg/kubelet/nodestatus/setters.go); Unknown as the node lifecycle
    # controller marks a Node whose kubelet stopped posting (pkg/controller/nodelifecycle/node_lifecycle_controller.go).
    condition = ({"type": "Ready", "status": "True", "reason": "KubeletReady",
                  "message": "kubelet is posting ready status"} if ready else
                 {"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown",
                  "message": "Kubelet stopped posting node status."})
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/arch": "amd64", "kubernetes.io/hostname": name,
                                              "kubernetes.io/os": "linux"},
                     "annotations": {C.CRI_SOCKET_ANNOTATION: C.DEFAULT_CRI_SOCKET}},
        "spec": {},
        "status": {"conditions": [{**condition, "lastHeartbeatTime": stamp, "lastTransitionTime": stamp}],
                   "nodeInfo": {"kubeletVersion": profile.kubernetes_version, "operatingSystem": "linux",
                                "architecture": "amd64"}},
    }


def build_cluster(settings: ClusterSettings, *, now: datetime, rng: Rng) -> BuiltCluster:
    """Run kubeadm init and the operator's first steps (module docstring); return the settled cluster."""
    chosen = PROFILES[settings.profile]
    drawn = tokens.generate_bootstrap_token(rng)  # drawn either way, so a given token changes no other draw
    token = tokens.BootstrapToken.from_string(settings.token or drawn, ttl=settings.token_ttl,
                                              description=C.INIT_TOKEN_DESCRIPTION)
    plane, token, _ = ControlPlane.bootstrap(
        now=now, rng=rng, endpoint=settings.endpoint, profile=chosen, ca_key_type=settings.ca_key_type, token=token,
        name=settings.name, control_plane_endpoint=settings.endpoint if settings.control_plane_endpoint else None,
        public_cluster_info=settings.public_cluster_info, autoapprove=settings.autoapprove,
        anonymous_auth=settings.anonymous_auth)
    for spec in settings.tokens:
        kubeadm_token.create_token(plane.store, now, kubeadm_token_of(spec, now))
    key = plane.upload_certs(now, rng, settings.certificate_key) if settings.upload_certs else ""
    for existing in settings.existing_nodes:
        plane.store.create("nodes", node_object(existing.name, chosen, now, ready=existing.ready), now)
    ControllerManager(plane.store, plane.controllers, plane.handle).pump(now)  # settled before joins
    return BuiltCluster(plane=plane, token=token, certificate_key=key)
