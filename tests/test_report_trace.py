"""Check the Chrome/Perfetto trace: a track per node with nested phase slices, server counters, controller tracks."""

from __future__ import annotations

import json
import pathlib
from typing import Any

from sim.report.trace import CONTROLLERS_PID, NODES_PID, SERVER_PID, trace_events, write_trace
from tests.report_support import sample, sample_run


def names(events: list[dict[str, Any]], pid: int) -> list[str]:
    return [e["args"]["name"] for e in events if e["ph"] == "M" and e["pid"] == pid and "tid" in e]


def test_tracks_for_nodes_server_and_controllers() -> None:
    run = sample_run()
    events = trace_events(run.record, run.result.events)["traceEvents"]
    assert names(events, NODES_PID) == ["ok-1", "ok-2", "ok-3", "bad-1", "bad-2"]
    assert names(events, SERVER_PID) == ["requests"]
    assert {"csrapproving", "csrsigning-kubelet-client"} <= set(names(events, CONTROLLERS_PID))
    counters = {e["name"] for e in events if e["ph"] == "C" and e["pid"] == SERVER_PID}
    assert counters == {"seats in use", "queued", "busy cores", "pending CSRs"}


def test_node_slices_nest_inside_the_join() -> None:
    run = sample_run()
    events = trace_events(run.record, run.result.events)["traceEvents"]
    slices = [e for e in events if e["ph"] == "X" and e["pid"] == NODES_PID and e["tid"] == 1]
    join, *phases = slices
    assert join["name"] == "joined" and [p["name"] for p in phases] == [
        "discovery", "config", "kubelet start", "csr approve+sign", "node ready"]
    end = join["ts"] + join["dur"]
    assert all(join["ts"] <= p["ts"] and p["ts"] + p["dur"] <= end + 1e-3 for p in phases)
    assert all(a["ts"] + a["dur"] <= b["ts"] + 1e-3 for a, b in zip(phases, phases[1:]))
    failed = [e for e in events if e["ph"] == "X" and e["tid"] == 4 and e["pid"] == NODES_PID][0]
    assert failed["name"] == "failed in preflight" and failed["args"]["error"].startswith("error execution phase")


def test_write_trace(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "trace.json"
    write_trace(sample(), sample().sequence, str(path))
    doc = json.loads(path.read_text())
    assert doc["displayTimeUnit"] == "ms" and doc["otherData"]["scenario"] == "sample"
