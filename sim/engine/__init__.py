"""Run many join workflows and one control plane in simulated time (the SimPy driver, DESIGN rule 2).

The pure models, each small, named and documented with Kubernetes defaults,
are unit-tested without SimPy: ``units`` (durations and rates as scenarios
write them), ``latency`` (per-link delay distributions), ``network`` (hosts,
links, firewalls, partitions, interception, with Go's dial errors),
``tokenbucket`` (client-go's rate limiter), ``apf`` (API Priority and
Fairness seats and queues), ``costs`` (the CPU cost table) and ``clientgo``
(client-go's 429 retries). The SimPy processes put them together: ``world``
(clock, seeded randomness, event log), ``apiserver`` (APF, CPU cores, atomic
state changes, watches), ``controllers`` (kube-controller-manager's queues,
workers, informers, client rate limits), ``node`` (kubeadm join and the
kubelet) with ``client`` (connections, TLS, timeouts over the network
model), ``metrics`` (time series), ``config`` (``EngineConfig``) and ``run``
(``simulate``: a config in, a ``SimResult`` out). What a scenario adds to
a storm has a module each: ``cluster`` (tokens, RBAC and auth options,
upload-certs, existing Nodes), ``attacker`` with ``mitm`` (a man in the
middle, a token thief, a CSR flooder) and ``admin`` (timed admin actions).
"""

from sim.engine.admin import (
    AdminRecord, ApproveCsrs, CreateToken, DeleteBinding, DeleteNode, DeleteToken, RejoinNode, ResetNode,
)
from sim.engine.apiserver import ApiServerSettings
from sim.engine.attacker import AttackerResult, CsrFlooder, MitmAttacker, TokenThief
from sim.engine.cluster import ClusterSettings, ExistingNode, TokenSpec
from sim.engine.config import (
    AllAtOnce, EngineConfig, JoinSettings, MachineSettings, NetworkSettings, NodeGroup, PoissonArrivals,
    UniformArrivals,
)
from sim.engine.controllers import ControllerSettings
from sim.engine.costs import CostTable, load_costs
from sim.engine.metrics import TimeSeries
from sim.engine.network import FirewallRule, Link, Partition, Window
from sim.engine.node import NodeModels
from sim.engine.run import JoinRecord, NodeResult, ServerResult, SimResult, simulate
from sim.engine.world import EventLog

__all__ = [
    "AdminRecord", "AllAtOnce", "ApiServerSettings", "ApproveCsrs", "AttackerResult", "ClusterSettings",
    "ControllerSettings", "CostTable", "CreateToken", "CsrFlooder", "DeleteBinding", "DeleteNode", "DeleteToken",
    "EngineConfig", "EventLog", "ExistingNode", "FirewallRule", "JoinRecord", "JoinSettings", "Link",
    "MachineSettings", "MitmAttacker", "NetworkSettings", "NodeGroup", "NodeModels", "NodeResult", "Partition",
    "PoissonArrivals", "RejoinNode", "ResetNode", "ServerResult", "SimResult", "TimeSeries", "TokenSpec",
    "TokenThief", "UniformArrivals", "Window", "load_costs", "simulate",
]
