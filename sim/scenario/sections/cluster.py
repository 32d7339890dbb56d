"""Describe the control plane's sections: ``cluster`` (what kubeadm init made), ``apiserver``, ``controllers``.

Every default is Kubernetes' own (kubeadm's 24 h init token and RSA CA,
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
from sim.engine import ApiServerSettings, ClusterSettings, ControllerSettings
from sim.engine.controllers import INFORMER_DELAY
from sim.protocol import constants as C
from sim.scenario.kinds import Choice, Duration, Endpoint, Integer, Number, Text
from sim.scenario.records import MapOf, Record, option
from sim.scenario.tree import Scenario, Section

__all__ = ["APISERVER", "CLUSTER", "CONTROLLERS", "CONTROLLER_NAMES_ALL", "ApiServerSpec", "ClusterSpec",
           "ControllersSpec"]

# The kube-controller-manager loops the control plane runs (sim/control/plane.py).
CONTROLLER_NAMES_ALL: Final = (BootstrapSigner.name, TokenCleaner.name, CsrApprover.name, *CONTROLLER_NAMES.values(),
                               CsrCleaner.name, GarbageCollector.name)


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterSpec:
    """Say what ``kubeadm init`` made: endpoint, CA key type, the init token's lifetime, the version."""

    endpoint: str = option(Endpoint(), "the API server endpoint (controlPlaneEndpoint)", "10.0.0.1:6443")
    name: str = option(Text(), "the control-plane node's name", "control-plane")
    group: str = option(Text(), "the control plane's network group (for links, firewall sources, partitions)",
                        "control-plane")
    ca_key_type: str = option(Choice(("rsa", "ecdsa")), "the cluster CA's key: rsa (kubeadm's default RSA-2048) or "
                              "ecdsa (encryptionAlgorithm ECDSA-P256)", "rsa")
    token_ttl: float | None = option(Duration(minimum=1e-9, never=None), "lifetime of the token kubeadm init "
                                     "makes, from the start (never: no expiry)", float(C.DEFAULT_TOKEN_TTL))
    kubernetes_version: str = option(Choice(tuple(PROFILES)), "which release the control plane behaves like",
                                     "current")


def _cluster_engine(spec: ClusterSpec, scenario: Scenario) -> Mapping[str, Any]:
    return {"cluster": ClusterSettings(endpoint=spec.endpoint, name=spec.name, group=spec.group,
                                       ca_key_type=spec.ca_key_type, token_ttl=spec.token_ttl,
                                       profile=spec.kubernetes_version)}


CLUSTER: Section[ClusterSpec] = Section(key="cluster", kind=Record(ClusterSpec), default=ClusterSpec(),
                                        engine=_cluster_engine,
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
