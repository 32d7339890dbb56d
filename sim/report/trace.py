"""Write a run as a Chrome/Perfetto trace: one track per node, the API server's counters, one track per controller.

How this works (the Trace Event Format, JSON object form): process 1 holds
one thread per node, with its whole join as one slice named for its outcome
and, inside it, one slice per phase (``sim.report.metrics.PHASES``, laid end
to end so they nest) and an instant per milestone. Process 2 is the API
server: counter tracks for seats in use, queued requests, busy cores and
pending CSRs, and its requests as instants. Process 3 is the controller
manager: a counter of each controller's work queue, and an instant per API
call a controller made. Times are microseconds of simulated time. Open the
file in ui.perfetto.dev or chrome://tracing.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from sim.fileutil import write_atomic
from sim.report.metrics import PHASES
from sim.report.record import NodeRecord, ResultFile, outcome

__all__ = ["trace_events", "write_trace"]

NODES_PID, SERVER_PID, CONTROLLERS_PID = 1, 2, 3
EngineEvent = tuple[float, str, str, Any]


def _us(seconds: float) -> float:
    return round(seconds * 1e6, 3)


def _meta(pid: int, tid: int | None, name: str) -> dict[str, Any]:
    if tid is None:
        return {"ph": "M", "pid": pid, "name": "process_name", "args": {"name": name}}
    return {"ph": "M", "pid": pid, "tid": tid, "name": "thread_name", "args": {"name": name}}


def _node_events(node: NodeRecord, tid: int) -> Iterable[dict[str, Any]]:
    if node.started is None:
        return
    end = node.ended if node.ended is not None else max((t for t, _ in node.marks), default=node.started)
    title = outcome(node) if not node.phase else f"{outcome(node)} in {node.phase}"
    yield {"ph": "X", "pid": NODES_PID, "tid": tid, "name": title, "ts": _us(node.started),
           "dur": _us(end - node.started), "args": {"error": node.error} if node.error else {}}
    cursor = node.started
    for phase in PHASES[:-1]:
        begin, done = node.milestone(phase.start), node.milestone(phase.end)
        if begin is None or done is None:
            continue
        begin = max(begin, cursor)  # laid end to end, so slices nest inside the join
        if done > begin:
            yield {"ph": "X", "pid": NODES_PID, "tid": tid, "name": phase.name, "ts": _us(begin),
                   "dur": _us(done - begin)}
            cursor = done
    for t, mark in node.marks:
        yield {"ph": "i", "s": "t", "pid": NODES_PID, "tid": tid, "name": mark, "ts": _us(t)}


def _counters(result: ResultFile) -> Iterable[dict[str, Any]]:
    if not result.servers:
        return
    series = result.servers[0].series
    groups = {
        "seats in use": [k for k in series.columns if k.startswith("seats/") and not k.endswith("/peak")],
        "queued": [k for k in series.columns if k.startswith("queued/") and not k.endswith("/peak")],
        "busy cores": [k for k in ("cpu/busy-cores",) if k in series.columns],
        "pending CSRs": [k for k in ("csrs/pending",) if k in series.columns],
    }
    for i, t in enumerate(series.times):
        for name, columns in groups.items():
            if columns:
                yield {"ph": "C", "pid": SERVER_PID, "name": name, "ts": _us(t),
                       "args": {c.split("/")[1] if "/" in c else c: series.columns[c][i] for c in columns}}
        for column in series.columns:
            if column.startswith("controller/") and column.endswith("/queue"):
                yield {"ph": "C", "pid": CONTROLLERS_PID, "name": column.split("/")[1] + " queue", "ts": _us(t),
                       "args": {"keys": series.columns[column][i]}}


def trace_events(result: ResultFile, events: Iterable[EngineEvent]) -> dict[str, Any]:
    """Return the trace as a JSON-ready object (module docstring); ``events`` is the engine's event log."""
    out: list[dict[str, Any]] = [_meta(NODES_PID, None, "nodes"), _meta(SERVER_PID, None, "kube-apiserver"),
                                 _meta(CONTROLLERS_PID, None, "kube-controller-manager"),
                                 _meta(SERVER_PID, 1, "requests")]
    for tid, node in enumerate(result.nodes, 1):
        out.append(_meta(NODES_PID, tid, node.name))
        out.extend(_node_events(node, tid))
    out.extend(_counters(result))
    controllers: dict[str, int] = {}
    node_names = {n.name for n in result.nodes}
    for t, source, event, attrs in events:
        attrs = dict(attrs)
        if source != "apiserver" or event not in ("request", "rejected"):
            continue
        sender = attrs.get("from", "")
        label = f"{attrs.get('method', '')} {attrs.get('path', '')} {attrs.get('status', '429')}".strip()
        out.append({"ph": "i", "s": "t", "pid": SERVER_PID, "tid": 1, "name": label, "ts": _us(t),
                    "args": {"from": sender}})
        if sender and sender not in node_names:
            if sender not in controllers:
                controllers[sender] = len(controllers) + 1
                out.append(_meta(CONTROLLERS_PID, controllers[sender], sender))
            out.append({"ph": "i", "s": "t", "pid": CONTROLLERS_PID, "tid": controllers[sender], "name": label,
                        "ts": _us(t)})
    return {"traceEvents": out, "displayTimeUnit": "ms",
            "otherData": {"scenario": result.name, "seed": result.seed, "version": result.version}}


def write_trace(result: ResultFile, events: Iterable[EngineEvent], path: str) -> None:
    """Write the trace JSON atomically."""
    write_atomic(path, json.dumps(trace_events(result, events), separators=(",", ":")).encode())
