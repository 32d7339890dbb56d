"""Gather a sweep's runs into one table, one row per run in plan order, and write it as Parquet and CSV.

How this works: the columns are the run's id, each varied field (named by
its path), the seed, the status (``finished`` or ``failed``) and the error,
then the metrics of ``sim.sweep.summary`` in the order the runs first name
them (whole-run numbers, then each group's). Rows come from the runs'
status files in plan order, so the same plan gives the same table whatever
ran it, in whatever order runs finished and whether some were done by an
earlier invocation. Wall time is left out for that reason (each run's
``status.json`` keeps it). A varied field's column is an integer column
when every value is an integer, a float column when every value is a
number, a boolean column for booleans, and otherwise text (a mapping is
written as compact JSON). Types are given explicitly, so an empty or
all-failed column keeps its type.
"""

from __future__ import annotations

import io
import json
import os
from typing import Any, Final, Mapping, Sequence

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from sim.fileutil import write_atomic
from sim.sweep.plan import Plan
from sim.sweep.store import RunStatus
from sim.sweep.summary import Value, column_type

__all__ = ["FIXED_COLUMNS", "TABLE_CSV", "TABLE_PARQUET", "build_table", "read_table", "write_table"]

TABLE_PARQUET: Final = "results.parquet"
TABLE_CSV: Final = "results.csv"
FIXED_COLUMNS: Final = ("run", "seed", "status", "error")
_ARROW_TYPES: Final = {"bool": pa.bool_(), "int": pa.int64(), "float": pa.float64(), "text": pa.string()}


def _value_type(values: Sequence[object]) -> str:
    if all(isinstance(v, bool) for v in values):
        return "bool"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "int"
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return "float"
    return "text"


def _as_text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), default=str)


def build_table(plan: Plan, statuses: Mapping[str, RunStatus | None]) -> pa.Table:
    """Return the table of the plan's runs (module docstring); a run with no status is ``missing``."""
    columns: dict[str, list[Any]] = {"run": [r.id for r in plan.runs]}
    types: dict[str, str] = {"run": "text"}
    for index, field in enumerate(plan.vary):
        kind = _value_type(field.values)
        types[field.path] = kind
        columns[field.path] = [r.values[index][1] if kind != "text" else _as_text(r.values[index][1])
                               for r in plan.runs]
    columns["seed"], types["seed"] = [r.seed for r in plan.runs], "int"
    found = [statuses.get(r.id) for r in plan.runs]
    columns["status"] = ["missing" if s is None else "finished" if s.ok else "failed" for s in found]
    columns["error"] = ["" if s is None else s.error for s in found]
    types["status"] = types["error"] = "text"
    metrics: dict[str, None] = {}
    for status in found:
        if status is not None:
            metrics.update(dict.fromkeys(status.summary))
    for name in metrics:
        if name in columns:
            continue  # a group named like a fixed column cannot take its place
        types[name] = column_type(name)
        cells: list[Value] = [None if s is None else s.summary.get(name) for s in found]
        columns[name] = cells
    schema = pa.schema([(name, _ARROW_TYPES[types[name]]) for name in columns])
    return pa.table(columns, schema=schema)


def write_table(table: pa.Table, out: str) -> list[str]:
    """Write the table as ``results.parquet`` and ``results.csv``, atomically; return their paths."""
    paths = [os.path.join(out, TABLE_PARQUET), os.path.join(out, TABLE_CSV)]
    parquet = io.BytesIO()
    pq.write_table(table, parquet, compression="zstd")
    write_atomic(paths[0], parquet.getvalue())
    text = io.BytesIO()
    pa_csv.write_csv(table, text)
    write_atomic(paths[1], text.getvalue())
    return paths


def read_table(out: str) -> pa.Table:
    """Return the table a sweep wrote; raise ValueError saying why it cannot be read."""
    path = os.path.join(out, TABLE_PARQUET)
    try:
        return pq.read_table(path)
    except FileNotFoundError:
        raise ValueError(f"{path}: no table yet (the sweep has not finished: run joinsim sweep again to "
                         "complete it)") from None
    except (OSError, pa.ArrowException) as err:
        raise ValueError(f"{path}: {err}") from None
