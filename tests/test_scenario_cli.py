"""Check ``joinsim run``, ``report`` and ``list``: outputs, exit codes 0/1/2, determinism of ``result.json``."""

from __future__ import annotations

import json
import pathlib

import pytest

from sim.cli import main

SCENARIO = """\
description: Two workers join; a third group is refused by a firewall.
cluster: {ca_key_type: ecdsa}
network:
  firewall: [{action: REJECT, source: walled}]
nodes:
  - {name: w, count: 2}
  - {name: walled, count: 1, join: {discovery_timeout: 20s}}
expect:
  outcomes: {w: {joined: all}, walled: {failed: all}}
  errors: [{group: walled, contains: "connect: connection refused"}]
"""


@pytest.fixture
def scenario(tmp_path: pathlib.Path) -> pathlib.Path:
    path = tmp_path / "two.yaml"
    path.write_text(SCENARIO)
    return path


def without_wall_time(path: pathlib.Path) -> list[bytes]:
    return [line for line in path.read_bytes().splitlines() if not line.startswith(b'"wall_time":')]


def test_run_prints_the_summary_and_writes_the_result(scenario: pathlib.Path, tmp_path: pathlib.Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["run", str(scenario), "--out", str(out), "--no-plots", "--trace", str(tmp_path / "t.json")]) == 0
    text = capsys.readouterr().out
    assert "Two workers join" in text and "expect: all 3 checks passed" in text
    assert ('[1] error execution phase preflight: couldn\'t validate the identity of the API Server: failed to request '
            'the cluster-info ConfigMap: Get "https://10.0.0.1:6443/api/v1/namespaces/kube-public/configmaps/'
            'cluster-info?timeout=10s": dial tcp 10.0.0.1:6443: connect: connection refused\n') in text
    doc = json.loads((out / "two" / "result.json").read_text())
    assert doc["passed"] and doc["scenario"]["nodes"][1]["join"]["discovery_timeout"] == "20s"
    assert doc["trace_node"] == "walled-1"
    trace = json.loads((tmp_path / "t.json").read_text())
    assert trace["traceEvents"]


def test_same_scenario_and_seed_give_the_same_file_but_for_the_wall_time(scenario: pathlib.Path,
                                                                        tmp_path: pathlib.Path) -> None:
    for name in ("a", "b", "c"):
        seed = ["--seed", "5"] if name != "c" else ["--seed", "6"]
        assert main(["run", str(scenario), "--out", str(tmp_path / name), "--no-plots", *seed]) == 0
    a, b, c = (without_wall_time(tmp_path / n / "two" / "result.json") for n in "abc")
    assert a == b and a != c
    assert json.loads((tmp_path / "a" / "two" / "result.json").read_text())["seed"] == 5


def test_a_failed_expectation_exits_1_saying_what_happened(scenario: pathlib.Path, tmp_path: pathlib.Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", str(scenario), "--out", str(tmp_path), "--no-plots", "--set", "expect.outcomes.w.joined=5"])
    assert code == 1
    assert "  two.yaml: expect.outcomes.w.joined: expected 5; got 2\n" in capsys.readouterr().out


def test_bad_input_exits_2_with_one_line_per_problem(scenario: pathlib.Path, tmp_path: pathlib.Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "mitm.yaml"
    bad.write_text("nodes:\n  - {name: w, count: -3, cuont: 1}\n")
    code = main(["run", str(scenario), str(bad), "--out", str(tmp_path / "out")])
    assert code == 2
    assert capsys.readouterr().err.splitlines() == [
        "mitm.yaml: nodes[0].cuont: unknown field (did you mean 'count'?)",
        "mitm.yaml: nodes[0].count: must be a positive integer (got -3)"]
    assert not (tmp_path / "out").exists()  # nothing runs when any file is wrong
    assert main(["run", str(scenario), "--set", "nodes[9].count=1"]) == 2
    assert capsys.readouterr().err == "two.yaml: --set nodes[9].count: no item 9 (the list has 2)\n"


def test_an_out_that_cannot_be_a_directory_exits_2_before_running(scenario: pathlib.Path, tmp_path: pathlib.Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    taken = tmp_path / "taken"
    taken.write_text("")
    assert main(["run", str(scenario), "--out", str(taken), "--no-plots"]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"{taken}: File exists\n" and captured.out == ""


def test_report_redraws_from_the_file(scenario: pathlib.Path, tmp_path: pathlib.Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(scenario), "--out", str(tmp_path), "--no-plots"]) == 0
    ran = capsys.readouterr().out
    result = tmp_path / "two" / "result.json"
    assert main(["report", str(result), "--out", str(tmp_path / "plots")]) == 0
    reported = capsys.readouterr().out
    assert reported.split("result:")[0] == ran.split("result:")[0]
    assert sorted(p.name for p in (tmp_path / "plots").iterdir())[:2] == ["apiserver.png", "apiserver.svg"]
    assert (tmp_path / "plots" / "sequence.svg").exists()
    assert main(["report", str(tmp_path / "none.json")]) == 2


def test_list_prints_the_library(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("happy-path-pinned.yaml ") and "  Five workers join" in line for line in lines)
    (tmp_path / "a.yaml").write_text("description: fine\nnodes: [{name: w, count: 1}]\n")
    (tmp_path / "b.yaml").write_text("nodes: [{name: w, count: 0}]\n")
    assert main(["list", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "a.yaml  fine", "b.yaml  (invalid: b.yaml: nodes[0].count: must be a positive integer (got 0))"]
