"""Run a validated scenario on the simulation engine and return its result file, expectations checked.

How this works: the scenario's sections build the ``EngineConfig``, with
every API request logged (the sequence diagram draws them) and, for runs
small enough to keep them, every node's printed lines. A pin list that
mixes ``cluster`` with other pins (a CA rotation) needs the cluster CA's
pin before the run: a run with no nodes makes the same CA from the same
seed (``kubeadm init`` happens before any node exists), so it gives the pin
without repeating the engine's set-up here. After the run, the chosen
node's story is cut from the event log and the ``expect`` block is checked.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Final

from sim import __version__
from sim.engine import EngineConfig, SimResult, simulate
from sim.engine.run import Progress
from sim.machine import LogLine
from sim.report.events import node_story
from sim.report.record import Event, NodeRecord, ResultFile, join_time, node_records, outcome
from sim.scenario.checks import check_expectations
from sim.scenario.schema import engine_config, resolved
from sim.scenario.sections.expect import EXPECT
from sim.scenario.sections.nodes import CLUSTER_PIN
from sim.scenario.sections.run import RUN
from sim.scenario.tree import Scenario

__all__ = ["KEEP_LOGS_UP_TO", "ScenarioRun", "choose_trace_node", "resolve_cluster_pins", "run_scenario"]

KEEP_LOGS_UP_TO: Final = 2000
"""Keep every node's printed lines only up to this many nodes (memory grows with them)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ScenarioRun:
    """Hold a finished run: the engine's result and the result file made from it."""

    result: SimResult
    record: ResultFile


def resolve_cluster_pins(config: EngineConfig) -> EngineConfig:
    """Replace ``cluster`` in explicit pin lists by the cluster CA's pin (module docstring)."""
    if not any(CLUSTER_PIN in g.join.ca_cert_hashes for g in config.groups):
        return config
    pin = simulate(dataclasses.replace(config, groups=())).ca_pin
    groups = tuple(dataclasses.replace(g, join=dataclasses.replace(g.join, ca_cert_hashes=tuple(
        pin if h == CLUSTER_PIN else h for h in g.join.ca_cert_hashes))) for g in config.groups)
    return dataclasses.replace(config, groups=groups)


def choose_trace_node(nodes: tuple[NodeRecord, ...], wanted: str) -> str:
    """Return the node to draw: ``wanted``, or (``auto``) the first that failed, else the slowest to join."""
    if wanted != "auto" or not nodes:
        return wanted if wanted != "auto" else ""
    failed = [n for n in nodes if outcome(n) != "joined"]
    if failed:
        return failed[0].name
    return max(nodes, key=lambda n: join_time(n) or 0.0).name


def run_scenario(scenario: Scenario, progress: Progress | None = None) -> ScenarioRun:
    """Simulate the scenario and return its result, with its expectations checked (module docstring)."""
    config = engine_config(scenario, log_requests=True)
    total = sum(g.count for g in config.groups)
    config = resolve_cluster_pins(dataclasses.replace(config, keep_logs=total <= KEEP_LOGS_UP_TO))
    result = simulate(config, progress=progress)
    nodes = node_records(result.nodes)
    chosen = choose_trace_node(nodes, scenario.get(RUN).trace_node)
    story: tuple[Event, ...] = ()
    logs: tuple[LogLine, ...] = ()
    if chosen:
        node = result.node(chosen)
        servers = {s.name for s in result.servers}
        via = {node.discovery_server, node.csr_server} - servers - {""}  # an attacker it went through
        story, logs = node_story(result.events, chosen, node.csr_name, via), node.logs
    record = ResultFile(
        name=scenario.name, description=scenario.description, source=scenario.source, scenario=resolved(scenario),
        seed=result.seed, version=__version__, wall_time=result.wall_time, sim_time=result.sim_time,
        ca_pin=result.ca_pin, counts=dict(result.counts), nodes=nodes, servers=result.servers,
        trace_node=chosen, sequence=story, logs=logs, attackers=result.attackers, admin=result.admin)
    record = dataclasses.replace(record, checks=check_expectations(scenario.get(EXPECT), record))
    return ScenarioRun(result=result, record=record)
