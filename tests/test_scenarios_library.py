"""Run every scenario of the library and check that what it expects happens.

Storms of more than ``LARGE`` nodes (1k, 5k and 10k workers) take from
seconds to about two minutes each (``make test`` runs one pytest worker per
core). For quick local iterations ``JOINSIM_SKIP_LARGE_SCENARIOS=1`` only
validates them.
"""

from __future__ import annotations

import os
import pathlib

import pytest

from sim.scenario import load_scenario, run_scenario
from sim.scenario.sections.nodes import NODES

LIBRARY = pathlib.Path(__file__).resolve().parent.parent / "scenarios"
FILES = sorted(LIBRARY.glob("*.yaml"))
LARGE = 500
RUN_LARGE = os.environ.get("JOINSIM_SKIP_LARGE_SCENARIOS") != "1"


def test_the_library_is_not_empty() -> None:
    assert len(FILES) >= 30


@pytest.mark.parametrize("path", [pytest.param(p, id=f"valid: {p.name}") for p in FILES])
def test_scenario_meets_its_expectations(path: pathlib.Path) -> None:
    scenario = load_scenario(str(path))
    assert scenario.name == path.stem
    assert scenario.description and "\n" not in scenario.description
    if sum(g.count for g in scenario.get(NODES)) > LARGE and not RUN_LARGE:
        pytest.skip("a large storm, skipped because JOINSIM_SKIP_LARGE_SCENARIOS=1")
    record = run_scenario(scenario).record
    assert record.checks, "every library scenario states what it expects"
    failed = [f"{c.path}: expected {c.expected}; got {c.actual}" for c in record.checks if not c.ok]
    assert not failed
