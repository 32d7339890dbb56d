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
(``simulate``: a config in, a ``SimResult`` out).
"""

from sim.engine.apiserver import ApiServerSettings
from sim.engine.config import (
    AllAtOnce, ClusterSettings, EngineConfig, JoinSettings, NetworkSettings, NodeGroup, PoissonArrivals,
    UniformArrivals,
)
from sim.engine.controllers import ControllerSettings
from sim.engine.costs import CostTable, load_costs
from sim.engine.metrics import TimeSeries
from sim.engine.network import FirewallRule, Link, Partition, Window
from sim.engine.node import NodeModels
from sim.engine.run import NodeResult, ServerResult, SimResult, simulate
from sim.engine.world import EventLog

__all__ = [
    "AllAtOnce", "ApiServerSettings", "ClusterSettings", "ControllerSettings", "CostTable", "EngineConfig", "EventLog",
    "FirewallRule", "JoinSettings", "Link", "NetworkSettings", "NodeGroup", "NodeModels", "NodeResult", "Partition",
    "PoissonArrivals", "ServerResult", "SimResult", "TimeSeries", "UniformArrivals", "Window", "load_costs",
    "simulate",
]
