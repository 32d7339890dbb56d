"""Describe the control plane's sections: ``cluster`` (what kubeadm init made), ``apiserver``, ``controllers``.

``cluster`` covers what an operator chose at init time and right after:
the endpoint, the CA key, the init token and further tokens, the RBAC
kubeadm creates (auto-approval, public cluster-info), anonymous auth,
``controlPlaneEndpoint`` and ``upload-certs`` for control-plane joins, and
Nodes that exist already. Every default is Kubernetes' own (kubeadm's 24 h
init token and RSA CA,
kube-apiserver's 400 + 200 in-flight requests and 60 s request timeout,
kube-controller-manager's ``--kube-api-qps`` 20 and ``--kube-api-burst``
30), taken from the engine and the protocol constants rather than repeated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Iterable, Mapping

from sim.control.controllers.bootstrapsigner import BootstrapSigner
from sim.control.controllers.csrapproving import CsrApprover
from sim.control.controllers.csrcleaner import CsrCleaner
from sim.control.controllers.csrsigning import CONTROLLER_NAMES
from sim.control.controllers.garbagecollector import GarbageCollector
from sim.control.controllers.tokencleaner import TokenCleaner
from sim.control.profile import PROFILES
from sim.engine import ApiServerSettings, ClusterSettings, ControllerSettings, ExistingNode
from sim.engine.controllers import INFORMER_DELAY
from sim.protocol import constants as C
from sim.scenario.kinds import Choice, Duration, Endpoint, Flag, Integer, Number, Text
from sim.scenario.records import ListOf, MapOf, Record, option
from sim.scenario.sections.tokens import TokenEntry
from sim.scenario.tree import Scenario, Section

__all__ = ["APISERVER", "CLUSTER", "CONTROLLERS", "CONTROLLER_NAMES_ALL", "ApiServerSpec", "ClusterSpec",
           "ControllersSpec", "ExistingNodeSpec"]

# The kube-controller-manager loops the control plane runs (sim/control/plane.py).
CONTROLLER_NAMES_ALL: Final = (BootstrapSigner.name, TokenCleaner.name, CsrApprover.name, *CONTROLLER_NAMES.values(),
                               CsrCleaner.name, GarbageCollector.name)


@dataclass(frozen=True, slots=True, kw_only=True)
class ExistingNodeSpec:
    """Name a Node registered before the run (a Ready node, or one whose kubelet stopped)."""

    name: str = option(Text(), "the Node's name")
    ready: bool = option(Flag(), "whether its kubelet still reports it Ready", True)


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterSpec:
    """Say what ``kubeadm init`` (and the operator's first steps) made: endpoint, CA, tokens, RBAC, auth."""

    endpoint: str = option(Endpoint(), "the API server endpoint", "10.0.0.1:6443")
    name: str = option(Text(), "the control-plane node's name", "control-plane")
    group: str = option(Text(), "the control plane's network group (for links, firewall sources, partitions)",
                        "control-plane")
    ca_key_type: str = option(Choice(("rsa", "ecdsa")), "the cluster CA's key: rsa (kubeadm's default RSA-2048) or "
                              "ecdsa (encryptionAlgorithm ECDSA-P256)", "rsa")
    token: str = option(Text(), "the init token (auto: drawn from the seed)", "auto")
    token_ttl: float | None = option(Duration(minimum=1e-9, never=None), "lifetime of the init token from the "
                                     "start (never: no expiry)", float(C.DEFAULT_TOKEN_TTL))
    tokens: tuple[TokenEntry, ...] = option(ListOf(Record(TokenEntry)), "further bootstrap tokens "
                                            "(kubeadm token create at the start)", ())
    kubernetes_version: str = option(Choice(tuple(PROFILES)), "which release the control plane behaves like",
                                     "current")
    autoapprove: bool = option(Flag(), "the kubeadm:node-autoapprove-bootstrap binding exists", True)
    public_cluster_info: bool = option(Flag(), "system:anonymous may read kube-public/cluster-info", True)
    anonymous_auth: bool = option(Flag(), "kube-apiserver --anonymous-auth", True)
    control_plane_endpoint: bool = option(Flag(), "set controlPlaneEndpoint to the endpoint (control-plane joins "
                                          "need it)", False)
    upload_certs: bool = option(Flag(), "kubeadm init phase upload-certs --upload-certs (kubeadm-certs, 2 h)", False)
    certificate_key: str = option(Text(), "the key upload-certs encrypts with (auto: drawn from the seed)", "auto")
    existing_nodes: tuple[ExistingNodeSpec, ...] = option(ListOf(Record(ExistingNodeSpec)),
                                                          "Nodes registered before the run", ())

    def build(self) -> ClusterSettings:
        """Return the engine's cluster settings (raises ValueError with the engine's message)."""
        return ClusterSettings(
            endpoint=self.endpoint, name=self.name, group=self.group, ca_key_type=self.ca_key_type,
            token=None if self.token == "auto" else self.token, token_ttl=self.token_ttl,
            profile=self.kubernetes_version, tokens=tuple(t.build() for t in self.tokens),
            autoapprove=self.autoapprove, public_cluster_info=self.public_cluster_info,
            anonymous_auth=self.anonymous_auth, control_plane_endpoint=self.control_plane_endpoint,
            upload_certs=self.upload_certs,
            certificate_key=None if self.certificate_key == "auto" else self.certificate_key,
            existing_nodes=tuple(ExistingNode(name=n.name, ready=n.ready) for n in self.existing_nodes))


def _cluster_engine(spec: ClusterSpec, scenario: Scenario) -> Mapping[str, Any]:
    return {"cluster": spec.build()}


CLUSTER: Section[ClusterSpec] = Section(key="cluster", kind=Record(ClusterSpec), default=ClusterSpec(),
                                        engine=_cluster_engine, groups=lambda spec: [spec.group],
                                        doc="the cluster kubeadm init made: endpoint, CA, init token, version")


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiServerSpec:
    """Size kube-apiserver: cores, in-flight limits (APF's seats) and the request timeout."""

    cores: int = option(Integer(1), "control-plane CPU cores (shared with the controllers' crypto)",
                        C.CONTROL_PLANE_NUM_CPU)
    max_requests_inflight: int = option(Integer(0), "--max-requests-inflight", C.MAX_REQUESTS_INFLIGHT)
    max_mutating_requests_inflight: int = option(Integer(0), "--max-mutating-requests-inflight",
                                                 C.MAX_MUTATING_REQUESTS_INFLIGHT)
    request_timeout: float = option(Duration(minimum=1e-9), "--request-timeout", 60.0)

    def problems(self) -> Iterable[tuple[str, str]]:
        """Refuse a server with no seats at all."""
        if self.max_requests_inflight + self.max_mutating_requests_inflight < 1:
            yield "max_requests_inflight", "the two in-flight limits must add up to at least 1"


def _apiserver_engine(spec: ApiServerSpec, scenario: Scenario) -> Mapping[str, Any]:
    seats = spec.max_requests_inflight + spec.max_mutating_requests_inflight
    return {"apiserver": ApiServerSettings(cores=spec.cores, server_concurrency=seats,
                                           request_timeout=spec.request_timeout)}


APISERVER: Section[ApiServerSpec] = Section(key="apiserver", kind=Record(ApiServerSpec), default=ApiServerSpec(),
                                            engine=_apiserver_engine,
                                            doc="kube-apiserver: cores, in-flight limits, request timeout")


@dataclass(frozen=True, slots=True, kw_only=True)
class ControllersSpec:
    """Set kube-controller-manager's client rate limits, informer delay and worker counts."""

    kube_api_qps: float = option(Number(0.0, open_low=True), "--kube-api-qps (each controller's client)",
                                 C.CONTROLLER_CLIENT_QPS)
    kube_api_burst: int = option(Integer(1), "--kube-api-burst", C.CONTROLLER_CLIENT_BURST)
    informer_delay: float = option(Duration(), "model: store commit to the controller's event handler",
                                   INFORMER_DELAY)
    workers: tuple[tuple[str, int], ...] = option(MapOf(Choice(CONTROLLER_NAMES_ALL), Integer(1)),
                                                  "worker counts replacing upstream's, by controller", ())


def _controllers_engine(spec: ControllersSpec, scenario: Scenario) -> Mapping[str, Any]:
    return {"controllers": ControllerSettings(qps=spec.kube_api_qps, burst=spec.kube_api_burst,
                                              informer_delay=spec.informer_delay, workers=spec.workers)}


CONTROLLERS: Section[ControllersSpec] = Section(
    key="controllers", kind=Record(ControllersSpec), default=ControllersSpec(), engine=_controllers_engine,
    doc="kube-controller-manager: client QPS and burst, informer delay, workers")
