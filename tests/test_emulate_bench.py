"""Run ``joinsim bench --emulate``'s measurement with a few real joins, and check its argument errors."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from sim.emulate.bench import run_emulate_bench


def test_a_few_real_joins_are_measured_and_written_as_json(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    target = tmp_path / "bench.json"

    code = run_emulate_bench(3, 2, str(target), ca_key_type="ecdsa", stdout=out, stderr=err)

    assert (code, err.getvalue()) == (0, "")
    summary = json.loads(target.read_text())
    assert (summary["mode"], summary["nodes"], summary["concurrency"], summary["joined"], summary["failed"]) == (
        "emulate", 3, 2, 3, 0)
    latency = summary["latency_seconds"]
    assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"] <= latency["max"] <= summary["wall_seconds"]
    # discovery (2), config reads (3), node check, CSR, Node create and status, annotation: at least 10 per join
    assert summary["requests"] >= 10 * 3
    assert summary["requests_per_second"] == pytest.approx(summary["requests"] / summary["wall_seconds"], rel=0.01)
    assert summary["joins_per_second"] == pytest.approx(3 / summary["wall_seconds"], rel=0.01)
    cpu = summary["cpu_seconds_per_join"]
    assert cpu["server"] > 0 and cpu["clients"] > 0 and cpu["total"] == pytest.approx(cpu["server"] + cpu["clients"],
                                                                                       abs=1e-4)
    table = out.getvalue().splitlines()
    assert table[0].startswith("joinsim bench --emulate: real joins over HTTPS on loopback (ecdsa CA")
    assert [line.split()[0] for line in table[1:]] == ["joins", "wall", "joins/s", "join", "requests/s", "CPU"]
    assert table[1].split()[1] == "3/3"


@pytest.mark.parametrize("nodes, concurrency, message", [
    pytest.param(0, 1, "joinsim bench: --nodes must be a positive integer (got 0)", id="invalid: no nodes"),
    pytest.param(2, -1, "joinsim bench: --concurrency must be a positive integer (got -1)", id="invalid: concurrency"),
])
def test_bad_arguments_exit_2_before_starting_anything(tmp_path: Path, nodes: int, concurrency: int,
                                                      message: str) -> None:
    err = io.StringIO()
    assert run_emulate_bench(nodes, concurrency, str(tmp_path / "x.json"), stderr=err) == 2
    assert err.getvalue() == message + "\n" and not (tmp_path / "x.json").exists()

