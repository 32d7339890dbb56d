"""Describe a join storm in a YAML file, validate it in one place, run it, and check what it expects.

A file goes through ``load`` (YAML, ``--set`` overrides), ``schema`` (the
table of sections: defaults filled, every problem reported with its field
path, a frozen tree), ``run`` (the engine's ``EngineConfig``, ``simulate``,
a ``ResultFile``) and ``checks`` (the ``expect`` block).
"""

from sim.scenario.load import load_scenario
from sim.scenario.problems import Problem, ScenarioError
from sim.scenario.run import ScenarioRun, run_scenario
from sim.scenario.schema import SECTIONS, engine_config, parse_document, resolved
from sim.scenario.tree import Scenario, Section

__all__ = [
    "SECTIONS", "Problem", "Scenario", "ScenarioError", "ScenarioRun", "Section", "engine_config", "load_scenario",
    "parse_document", "resolved", "run_scenario",
]
