"""Check carrying out a sweep: files per run, resuming, half-written runs, and a failing run that stops nothing."""

from __future__ import annotations

import json
import os
import pathlib

import pytest

import sim.sweep.task as task_module
from sim.report.record import ResultFile
from sim.scenario import load_scenario
from sim.scenario.sections.run import RUN
from sim.sweep.executors import InProcess
from sim.sweep.plan import Plan, make_plan
from sim.sweep.run import run_sweep
from sim.sweep.spec import parse_vary
from sim.sweep.store import MANIFEST, OtherSweep, read_status, run_dir, write_manifest
from sim.sweep.table import TABLE_CSV, TABLE_PARQUET
from tests.sweep_support import break_seed, write_scenario


def small_plan(tmp_path: pathlib.Path) -> Plan:
    return make_plan(write_scenario(tmp_path), flags=[parse_vary("nodes[0].count=1,2")], seeds=2)


def files_under(out: pathlib.Path) -> list[str]:
    return sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())


def test_each_run_gets_its_scenario_result_and_status(tmp_path: pathlib.Path) -> None:
    plan, out = small_plan(tmp_path), tmp_path / "out"
    result = run_sweep(plan, str(out), InProcess())
    assert (result.skipped, result.finished, result.failed) == (0, 4, ())
    expected = ["results.csv", "results.parquet", "sweep.json"]
    for run in plan.runs:
        expected += [f"runs/{run.id}/{name}" for name in ("result.json", "scenario.yaml", "status.json")]
    assert files_under(out) == sorted(expected)  # and no temporary file left behind
    run = plan.runs[3]
    record = ResultFile.loads((out / "runs" / run.id / "result.json").read_bytes())
    assert (record.seed, sum(n.group == "w" for n in record.nodes)) == (2, 2)
    again = load_scenario(os.path.join(run_dir(str(out), run.id), "scenario.yaml"))
    assert again.get(RUN).seed == 2  # joinsim run can repeat the run from its own scenario file
    manifest = json.loads((out / "sweep.json").read_text())
    assert manifest["runs"][3] == {"id": run.id, "values": [["nodes[0].count", 2]], "seed": 2}
    assert result.table.column("status").to_pylist() == ["finished"] * 4


def test_a_second_sweep_skips_complete_runs_and_redoes_half_written_ones(tmp_path: pathlib.Path) -> None:
    plan, out = small_plan(tmp_path), tmp_path / "out"
    run_sweep(plan, str(out), InProcess())
    table = (out / TABLE_PARQUET).read_bytes(), (out / TABLE_CSV).read_bytes()
    stopped, lost = (out / "runs" / plan.runs[0].id), (out / "runs" / plan.runs[2].id)
    (stopped / "status.json").unlink()  # stopped between the result file and the status
    (stopped / "result.json").write_bytes(b'{"format": 1, "na')
    (lost / "result.json").unlink()  # a status without its result file is no complete run either
    assert read_status(str(out), plan.runs[0].id) is None and read_status(str(out), plan.runs[2].id) is None
    again = run_sweep(plan, str(out), InProcess())
    assert (again.skipped, again.finished) == (2, 2)
    assert ((out / TABLE_PARQUET).read_bytes(), (out / TABLE_CSV).read_bytes()) == table
    assert run_sweep(plan, str(out), InProcess()).skipped == 4


def test_a_failing_run_is_recorded_and_the_rest_go_on(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plan, out = small_plan(tmp_path), tmp_path / "out"
    break_seed(monkeypatch, 2, RuntimeError("the engine broke\n  on seed 2"))
    result = run_sweep(plan, str(out), InProcess())
    assert result.finished == 2
    assert [(run.label(), error) for run, error in result.failed] == [
        ("nodes[0].count=1, seed=2", "RuntimeError: the engine broke on seed 2"),
        ("nodes[0].count=2, seed=2", "RuntimeError: the engine broke on seed 2")]
    rows = result.table.select(["seed", "status", "error", "joined"]).to_pylist()
    assert rows[:2] == [{"seed": 1, "status": "finished", "error": "", "joined": 1},
                        {"seed": 2, "status": "failed", "error": "RuntimeError: the engine broke on seed 2",
                         "joined": None}]
    status = json.loads((out / "runs" / plan.runs[1].id / "status.json").read_text())
    assert "Traceback" in status["detail"] and not (out / "runs" / plan.runs[1].id / "result.json").exists()
    monkeypatch.undo()
    again = run_sweep(plan, str(out), InProcess())  # failed runs are tried again
    assert (again.skipped, again.finished, again.failed) == (2, 2, ())


def test_a_scenario_the_engine_refuses_fails_with_its_problems(tmp_path: pathlib.Path) -> None:
    plan = small_plan(tmp_path)
    broken = plan.runs[0].scenario | {"apiserver": {**plan.runs[0].scenario["apiserver"], "cores": -1}}
    outcome = task_module.execute(task_module.Task(id="x", source="storm.yaml", scenario=broken))
    assert outcome.error == "storm.yaml: apiserver.cores: must be a positive integer (got -1)"
    assert not outcome.ok and outcome.detail


def test_another_sweeps_plan_is_kept_unless_forced(tmp_path: pathlib.Path) -> None:
    out = tmp_path / "out"
    write_manifest(str(out), small_plan(tmp_path))
    kept = (out / MANIFEST).read_bytes()
    other = make_plan(write_scenario(tmp_path), flags=[parse_vary("nodes[0].count=3")])
    with pytest.raises(OtherSweep):
        run_sweep(other, str(out), InProcess())
    assert files_under(out) == [MANIFEST] and (out / MANIFEST).read_bytes() == kept  # nothing written
    result = run_sweep(other, str(out), InProcess(), force=True)
    assert (result.skipped, result.finished) == (0, 1)
    assert [run["id"] for run in json.loads((out / MANIFEST).read_text())["runs"]] == [other.runs[0].id]
