"""Check the sweep table: column order and types, missing and failed runs, and a run's row of metrics."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from sim.report.metrics import percentile
from sim.report.record import join_time
from sim.sweep.plan import Plan, PlannedRun
from sim.sweep.spec import Vary
from sim.sweep.store import RunStatus
from sim.sweep.summary import column_type, summarize
from sim.sweep.table import build_table
from tests.report_support import sample


def plan_of(values: list[object]) -> Plan:
    runs = tuple(PlannedRun(id=f"r{i}", values=(("f", v),), seed=1, scenario={}) for i, v in enumerate(values))
    return Plan(source="s.yaml", name="s", vary=(Vary(path="f", values=tuple(values)),), seeds=(1,), runs=runs)


@pytest.mark.parametrize(
    "values, arrow_type, cells",
    [
        pytest.param([1, 10], pa.int64(), [1, 10], id="valid: integers"),
        pytest.param([1, 2.5], pa.float64(), [1.0, 2.5], id="valid: numbers"),
        pytest.param([True, False], pa.bool_(), [True, False], id="valid: booleans"),
        pytest.param(["1s", 5], pa.string(), ["1s", "5"], id="valid: mixed becomes text"),
        pytest.param(["2ms", {"uniform": ["1ms", "5ms"]}], pa.string(), ["2ms", '{"uniform":["1ms","5ms"]}'],
                     id="valid: a mapping as compact JSON"),
    ],
)
def test_a_varied_field_column_takes_the_type_of_its_values(values: list[object], arrow_type: pa.DataType,
                                                            cells: list[object]) -> None:
    table = build_table(plan_of(values), {})
    assert table.schema.field("f").type == arrow_type and table.column("f").to_pylist() == cells


def test_rows_follow_the_plan_and_missing_or_failed_runs_have_no_metrics() -> None:
    ok = RunStatus(ok=True, error="", wall_time=1.0, summary={"passed": True, "joined": 3, "join_time.p50": 1.5,
                                                              "w.joined": 3})
    later = RunStatus(ok=True, error="", wall_time=9.0, summary={"passed": False, "joined": 1, "join_time.p50": None,
                                                                 "v.joined": 1})
    failed = RunStatus(ok=False, error="RuntimeError: boom", wall_time=0.5, summary={})
    table = build_table(plan_of([1, 2, 3, 4]), {"r0": ok, "r1": failed, "r3": later})
    assert table.column_names == ["run", "f", "seed", "status", "error", "passed", "joined", "join_time.p50",
                                  "w.joined", "v.joined"]
    assert [str(t) for t in table.schema.types] == ["string", "int64", "int64", "string", "string", "bool", "int64",
                                                    "double", "int64", "int64"]
    rows: list[dict[str, Any]] = table.to_pylist()
    assert [(r["status"], r["error"], r["joined"], r["w.joined"], r["v.joined"]) for r in rows] == [
        ("finished", "", 3, 3, None), ("failed", "RuntimeError: boom", None, None, None),
        ("missing", "", None, None, None), ("finished", "", 1, None, 1)]


def test_an_all_failed_sweep_still_has_its_columns() -> None:
    table = build_table(plan_of([1]), {"r0": RunStatus(ok=False, error="x", wall_time=0.0, summary={})})
    assert table.column_names == ["run", "f", "seed", "status", "error"]


def test_a_row_counts_outcomes_and_takes_percentiles_per_group() -> None:
    record = sample()
    row = summarize(record)
    ok = [t for t in (join_time(n) for n in record.nodes if n.group == "ok") if t is not None]
    assert (row["joined"], row["failed"], row["unfinished"]) == (3, 2, 0)
    assert (row["ok.joined"], row["bad.failed"], row["bad.join_time.p50"]) == (3, 2, None)
    assert row["ok.join_time.p90"] == percentile(ok, 90) and row["ok.join_time.max"] == max(ok)
    assert row["passed"] is True and list(row)[:4] == ["passed", "sim_time", "throughput", "joined"]
    assert [column_type(name) for name in ("passed", "ok.failed", "join_time.p99", "sim_time")] == [
        "bool", "int", "float", "float"]
