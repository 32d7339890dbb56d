"""Reduce one run's result file to the numbers a sweep table compares: outcome counts and join-time percentiles.

A row holds, for the whole run and then for each node group in the order
the result lists them: how many nodes joined, failed or were still busy at
the end, and the 50th, 90th and 99th percentile and the maximum of the join
time (from ``kubeadm join`` starting to its success text, joined nodes
only; null when none joined), plus whether the ``expect`` block held, the
simulated time and joins per second. Percentiles are ``sim.report.metrics``'
(linear interpolation, as numpy's default), so a sweep and ``joinsim run``
agree on every number.
"""

from __future__ import annotations

import math
from typing import Final, Sequence

from sim.report.metrics import percentile, throughput
from sim.report.record import NodeRecord, ResultFile, join_time, outcome

__all__ = ["COUNTS", "PERCENTILES", "Value", "column_type", "summarize"]

COUNTS: Final = ("joined", "failed", "unfinished")
PERCENTILES: Final = (("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("max", 100.0))
Value = bool | int | float | str | None
"""A cell of the sweep table."""


def _group(nodes: Sequence[NodeRecord], prefix: str) -> dict[str, Value]:
    row: dict[str, Value] = {}
    for name in COUNTS:
        row[f"{prefix}{name}"] = sum(outcome(n) == name for n in nodes)
    times = [t for t in (join_time(n) for n in nodes) if t is not None]
    for name, q in PERCENTILES:
        value = percentile(times, q)
        row[f"{prefix}join_time.{name}"] = None if math.isnan(value) else value
    return row


def summarize(record: ResultFile) -> dict[str, Value]:
    """Return the run's metrics, in column order (module docstring)."""
    row: dict[str, Value] = {"passed": record.passed, "sim_time": record.sim_time,
                             "throughput": throughput(record.nodes)}
    row.update(_group(record.nodes, ""))
    for group in record.groups():
        row.update(_group([n for n in record.nodes if n.group == group], f"{group}."))
    return row


def column_type(name: str) -> str:
    """Return ``bool``, ``int`` or ``float``: the type of a metric column, from its name."""
    if name == "passed":
        return "bool"
    return "int" if name.rsplit(".", 1)[-1] in COUNTS else "float"
