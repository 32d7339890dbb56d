"""Write the small scenario the sweep tests vary (workers that join, a group a firewall refuses); break runs on purpose."""

from __future__ import annotations

import pathlib

import pytest

import sim.sweep.task as task_module
from sim.scenario import Scenario, ScenarioRun
from sim.scenario.sections.run import RUN

SCENARIO = """\
description: Workers join over a jittery network; a firewall refuses one group.
cluster: {ca_key_type: ecdsa}
run: {crypto: modeled}
network:
  latency: {lognormal: {median: 2ms, p99: 20ms}}
  firewall: [{action: REJECT, source: walled}]
nodes:
  - {name: w, count: 2}
  - {name: walled, count: 1, join: {discovery_timeout: 20s}}
"""


def write_scenario(directory: pathlib.Path, extra: str = "", name: str = "storm.yaml") -> str:
    """Write ``SCENARIO`` plus ``extra`` YAML into ``directory``; return the file's path."""
    path = directory / name
    path.write_text(SCENARIO + extra)
    return str(path)


def break_seed(monkeypatch: pytest.MonkeyPatch, seed: int, error: Exception) -> None:
    """Make every run with this seed raise ``error`` inside ``execute`` (the sweep's worker function)."""
    real = task_module.run_scenario

    def run_or_break(scenario: Scenario) -> ScenarioRun:
        if scenario.get(RUN).seed == seed:
            raise error
        return real(scenario)

    monkeypatch.setattr(task_module, "run_scenario", run_or_break)
