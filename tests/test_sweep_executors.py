"""Check that one sweep gives the same table byte for byte in this process, on 2 processes and on a Dask cluster."""

from __future__ import annotations

import pathlib

import pytest
from distributed import LocalCluster

from sim.sweep.executors import DaskCluster, Executor, InProcess, LocalProcesses, SchedulerError
from sim.sweep.plan import make_plan
from sim.sweep.run import run_sweep
from sim.sweep.spec import parse_vary
from sim.sweep.table import TABLE_CSV, TABLE_PARQUET
from sim.sweep.task import Task
from tests.sweep_support import write_scenario


def sweep_bytes(tmp_path: pathlib.Path, name: str, executor: Executor) -> tuple[bytes, bytes]:
    plan = make_plan(write_scenario(tmp_path), flags=[parse_vary("nodes[0].count=1,3")], seeds=2)
    out = tmp_path / name
    result = run_sweep(plan, str(out), executor)
    assert (result.finished, result.failed) == (4, ())
    return (out / TABLE_PARQUET).read_bytes(), (out / TABLE_CSV).read_bytes()


def test_the_table_is_the_same_whatever_runs_the_sweep(tmp_path: pathlib.Path) -> None:
    alone = sweep_bytes(tmp_path, "one", InProcess())
    assert sweep_bytes(tmp_path, "two", LocalProcesses(2)) == alone
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        assert sweep_bytes(tmp_path, "dask", DaskCluster(cluster.scheduler_address)) == alone
    rows = alone[1].decode().splitlines()
    assert len(rows) == 5 and rows[0].startswith('"run","nodes[0].count","seed","status","error","passed"')
    assert "wall_time" not in rows[0]


@pytest.mark.parametrize("executor", [pytest.param(InProcess(), id="valid: in process"),
                                      pytest.param(LocalProcesses(2), id="valid: processes")])
def test_no_tasks_is_no_work(executor: Executor) -> None:
    assert list(executor.run([])) == []


def test_an_unreachable_scheduler_is_an_error_before_any_run() -> None:
    tasks = [Task(id="x", source="s.yaml", scenario={})]
    with pytest.raises(SchedulerError) as caught:
        list(DaskCluster("tcp://127.0.0.1:1", timeout=0.5).run(tasks))
    assert str(caught.value).startswith("cannot reach the Dask scheduler at tcp://127.0.0.1:1: ")
