"""Check ``result.json``: it round-trips byte for byte, keeps the wall time on a line of its own, refuses garbage."""

from __future__ import annotations

import dataclasses
import json

import pytest

from sim.report.record import ResultFile, fail_time, join_time, outcome
from tests.report_support import sample


def test_the_file_round_trips_byte_for_byte() -> None:
    record = sample()
    data = record.dumps()
    again = ResultFile.loads(data)
    assert again == record and again.dumps() == data
    assert again.wall_time == record.wall_time  # kept, though not compared


def test_the_file_is_json_with_one_top_level_field_a_line() -> None:
    data = sample().dumps().decode()
    doc = json.loads(data)
    assert doc["format"] == 1 and doc["seed"] == 1 and doc["scenario"]["name"] == "sample"
    assert [n["name"] for n in doc["nodes"]] == ["ok-1", "ok-2", "ok-3", "bad-1", "bad-2"]
    assert "logs" not in doc["nodes"][0] and doc["logs"]  # the drawn node's lines are kept apart
    walls = [line for line in data.splitlines() if line.startswith('"wall_time":')]
    assert len(walls) == 1 and data.count("wall_time") == 1


def test_a_different_wall_time_changes_only_its_line() -> None:
    record = sample()
    a = record.dumps().decode().splitlines()
    b = dataclasses.replace(record, wall_time=123.0).dumps().decode().splitlines()
    assert [i for i, (x, y) in enumerate(zip(a, b)) if x != y] == [a.index(
        next(line for line in a if line.startswith('"wall_time":')))]


@pytest.mark.parametrize(
    "data, message",
    [
        pytest.param(b"{", "not a joinsim result file", id="invalid: not JSON"),
        pytest.param(b'{"format": 2}', "unsupported result format 2", id="invalid: another format"),
        pytest.param(b'{"format": 1}', "not a joinsim result file: no field 'name'", id="invalid: fields missing"),
        pytest.param(b"[]", "not a joinsim result file: not a JSON object", id="invalid: a JSON list"),
    ],
)
def test_garbage_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ResultFile.loads(data)


def test_node_outcomes_and_times() -> None:
    record = sample()
    ok, bad = record.nodes[0], record.nodes[3]
    assert (outcome(ok), outcome(bad)) == ("joined", "failed")
    assert join_time(ok) is not None and join_time(ok) > 10.0 and fail_time(ok) is None  # type: ignore[operator]
    assert join_time(bad) is None and fail_time(bad) is not None


def test_log_lines_are_written_with_their_verbosity() -> None:
    record = sample()
    doc = json.loads(record.dumps())
    assert {len(line) for line in doc["logs"]} == {4}
    assert {line[3] for line in doc["logs"]} == {0, 1}  # the drawn node printed lines at V(0) and V(1)


@pytest.mark.parametrize(("line", "verbosity"), [
    pytest.param([1.0, "stdout", "[discovery] Retrying due to error: x", 1], 1, id="valid: the verbosity is kept"),
    pytest.param([1.0, "stdout", "[preflight] Running pre-flight checks"], 0,
                 id="valid: a file written before verbosities were kept reads as verbosity 0"),
])
def test_log_lines_load_with_their_verbosity(line: list[object], verbosity: int) -> None:
    doc = json.loads(sample().dumps())
    doc["logs"] = [line]
    loaded, = ResultFile.loads(json.dumps(doc)).logs
    assert (loaded.t, loaded.stream, loaded.text, loaded.verbosity) == (*line[:3], verbosity)
