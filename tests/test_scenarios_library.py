"""Run every scenario of the library and check that what it expects happens."""

from __future__ import annotations

import pathlib

import pytest

from sim.scenario import load_scenario, run_scenario

LIBRARY = pathlib.Path(__file__).resolve().parent.parent / "scenarios"
FILES = sorted(LIBRARY.glob("*.yaml"))


def test_the_library_is_not_empty() -> None:
    assert len(FILES) >= 14


@pytest.mark.parametrize("path", [pytest.param(p, id=f"valid: {p.name}") for p in FILES])
def test_scenario_meets_its_expectations(path: pathlib.Path) -> None:
    scenario = load_scenario(str(path))
    assert scenario.name == path.stem
    assert scenario.description and "\n" not in scenario.description
    record = run_scenario(scenario).record
    assert record.checks, "every library scenario states what it expects"
    failed = [f"{c.path}: expected {c.expected}; got {c.actual}" for c in record.checks if not c.ok]
    assert not failed
