"""Check planning a sweep: product order, seeds, each run's resolved scenario and id, errors before any run."""

from __future__ import annotations

import pathlib

import pytest

from sim.scenario import ScenarioError, load_scenario, resolved
from sim.sweep.plan import make_plan, run_id
from sim.sweep.spec import parse_vary
from tests.sweep_support import write_scenario


def test_runs_are_the_product_of_the_fields_then_the_seeds(tmp_path: pathlib.Path) -> None:
    flags = [parse_vary("nodes[0].count=1,3"), parse_vary("apiserver.cores=1,2")]
    plan = make_plan(write_scenario(tmp_path), ["run.seed=7"], flags, seeds=2)
    assert [(r.values, r.seed) for r in plan.runs] == [
        ((("nodes[0].count", 1), ("apiserver.cores", 1)), 7), ((("nodes[0].count", 1), ("apiserver.cores", 1)), 8),
        ((("nodes[0].count", 1), ("apiserver.cores", 2)), 7), ((("nodes[0].count", 1), ("apiserver.cores", 2)), 8),
        ((("nodes[0].count", 3), ("apiserver.cores", 1)), 7), ((("nodes[0].count", 3), ("apiserver.cores", 1)), 8),
        ((("nodes[0].count", 3), ("apiserver.cores", 2)), 7), ((("nodes[0].count", 3), ("apiserver.cores", 2)), 8)]
    assert plan.seeds == (7, 8) and (plan.name, plan.source) == ("storm", "storm.yaml")
    last = plan.runs[-1].scenario
    assert (last["nodes"][0]["count"], last["apiserver"]["cores"], last["run"]["seed"]) == (3, 2, 8)
    assert last["sweep"] == {"vary": {}, "seeds": 1}  # each run's scenario is a plain one
    assert len({r.id for r in plan.runs}) == 8 and all(r.id == run_id(r.scenario) for r in plan.runs)
    assert plan.runs[-1].label() == "nodes[0].count=3, apiserver.cores=2, seed=8"


def test_the_file_sweep_section_is_the_default_and_ids_do_not_depend_on_order(tmp_path: pathlib.Path) -> None:
    path = write_scenario(tmp_path, "sweep:\n  vary:\n    nodes[0].count: [3, 1]\n  seeds: 2\n")
    from_file = make_plan(path)
    assert [(r.values, r.seed) for r in from_file.runs] == [
        ((("nodes[0].count", 3),), 1), ((("nodes[0].count", 3),), 2),
        ((("nodes[0].count", 1),), 1), ((("nodes[0].count", 1),), 2)]
    flags = make_plan(path, flags=[parse_vary("nodes[0].count=1,2,3")], seeds=1)
    assert {r.id for r in from_file.runs if r.seed == 1} < {r.id for r in flags.runs}


def test_a_run_is_the_scenario_joinsim_run_would_run(tmp_path: pathlib.Path) -> None:
    path = write_scenario(tmp_path)
    run = make_plan(path, flags=[parse_vary("nodes[0].count=4")]).runs[0]
    alone = load_scenario(path, ["nodes[0].count=4"])
    assert run.scenario == {**resolved(alone), "sweep": {"vary": {}, "seeds": 1}}


@pytest.mark.parametrize(
    "flags, lines",
    [
        pytest.param(["nodes[5].count=1"], ["storm.yaml: --vary nodes[5].count: no item 5 (the list has 2)"],
                     id="invalid: no such list item"),
        pytest.param(["nodes[0].count=2,-3"], ["storm.yaml: nodes[0].count: must be a positive integer (got -3)"],
                     id="invalid: one bad value"),
        pytest.param(["nodes[0].cuont=1"], ["storm.yaml: nodes[0].cuont: unknown field (did you mean 'count'?)"],
                     id="invalid: a typo in the path"),
        pytest.param(["apiserver.cores=0,1", "network.loss=2"],
                     ["storm.yaml: apiserver.cores: must be a positive integer (got 0)",
                      "storm.yaml: network.loss: must be a number at least 0 and below 1 (got 2)"],
                     id="invalid: every bad value at once"),
        pytest.param(["nodes[0].count=1,2", "run.trace_node=w-2"],
                     ["storm.yaml: run.trace_node: no node is named 'w-2' (did you mean 'w-1'?) (with "
                      "nodes[0].count=1, run.trace_node=\"w-2\")"], id="invalid: values that clash together"),
        pytest.param(["nodes[0].count=1,2", "nodes[w].count=3"],
                     ["storm.yaml: nodes[0].count=1, nodes[w].count=3, seed=1 and nodes[0].count=2, nodes[w].count=3, "
                      "seed=1 are the same run: is one field varied under two paths?"],
                     id="invalid: one field under two paths"),
    ],
)
def test_bad_values_are_refused_before_any_run(tmp_path: pathlib.Path, flags: list[str], lines: list[str]) -> None:
    with pytest.raises(ScenarioError) as caught:
        make_plan(write_scenario(tmp_path), flags=[parse_vary(f) for f in flags])
    assert caught.value.lines() == lines


def test_bad_values_in_the_sweep_section_name_it(tmp_path: pathlib.Path) -> None:
    path = write_scenario(tmp_path, "sweep:\n  vary:\n    nodes[7].count: [1]\n")
    with pytest.raises(ScenarioError) as caught:
        make_plan(path)
    assert caught.value.lines() == ["storm.yaml: sweep.vary nodes[7].count: no item 7 (the list has 2)"]
