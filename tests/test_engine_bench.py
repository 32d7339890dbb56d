"""Check ``joinsim bench``: the JSON report's shape, positive figures, targets, size parsing and --emulate."""

from __future__ import annotations

import argparse
import io
import json
import pathlib
from typing import Any

import pytest

from sim import cli
from sim.bench_cli import _sizes, format_report, run
from sim.engine import bench
from sim.engine.bench import BenchRun, Target, targets

RUN_FIELDS = {"nodes", "crypto", "wall_seconds", "joined", "failed", "unfinished", "sim_seconds",
              "raw_events_per_second", "rss_growth_bytes", "joins_per_wall_second", "raw_events_per_join",
              "rss_bytes_per_node"}


def parse(*argv: str) -> argparse.Namespace:
    return cli.build_parser().parse_args(["bench", *argv])


def test_a_quick_run_writes_a_report_with_positive_figures(tmp_path: pathlib.Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    path = tmp_path / "bench.json"
    assert run(parse("--sizes", "4,8", "--real-sizes", "4", "--in-process", "--out", str(path)), out, err) == 0
    data = json.loads(path.read_text())
    assert data["raw_simpy_events_per_second"] > 0 and data["cpus"] >= 1
    assert [(r["crypto"], r["nodes"]) for r in data["runs"]] == [("modeled", 4), ("modeled", 8), ("real", 4)]
    for r in data["runs"]:
        assert set(r) == RUN_FIELDS
        assert r["joined"] == r["nodes"] and r["failed"] == r["unfinished"] == 0  # the happy path
        assert min(r["wall_seconds"], r["joins_per_wall_second"], r["raw_events_per_join"], r["sim_seconds"]) > 0
        assert r["rss_growth_bytes"] >= 0
    assert [t["comparison"] for t in data["targets"]] == ["<=", "<=", ">=", "<=", "<="]
    assert all(t["value"] is not None and t["value"] >= 0 and isinstance(t["met"], bool) for t in data["targets"])
    text = out.getvalue()
    assert "raw SimPy timeout events" in text and "wall-time ratio 8/4 (modeled)" in text and str(path) in text
    assert "modeled 8 nodes" in err.getvalue()


def test_a_storm_runs_in_a_fresh_interpreter() -> None:
    seen: list[tuple[int, int]] = []
    measured = bench.measure_isolated(3, "modeled", progress=lambda done, total: seen.append((done, total)))
    assert measured.joined == 3 and measured.wall_seconds > 0 and measured.raw_events_per_second > 0
    assert seen[-1] == (3, 3)


def test_the_happy_path_storm_arrives_below_the_approvers_rate() -> None:
    config = bench.storm_config(800, "modeled")
    assert config.crypto == "modeled" and config.groups[0].count == 800
    assert config.groups[0].arrival.window == 800 / bench.RATE and bench.RATE < 10  # QPS 20 / 2 calls per CSR


def run_of(nodes: int, crypto: str, wall: float, rss: int = 0) -> BenchRun:
    return BenchRun(nodes=nodes, crypto=crypto, wall_seconds=wall, joined=nodes, failed=0, unfinished=0,
                    sim_seconds=1.0, raw_events_per_second=1e6, rss_growth_bytes=rss)


@pytest.mark.parametrize(
    "runs, expected",
    [
        pytest.param([run_of(10_000, "modeled", 0.2, 10_000_000), run_of(100_000, "modeled", 2.0, 150_000_000),
                      run_of(1_000, "real", 0.5)], [True, True, True, True, True], id="valid: every target met"),
        pytest.param([run_of(10_000, "modeled", 1.0), run_of(100_000, "modeled", 40.0, 10**9),
                      run_of(1_000, "real", 2.0)], [False, False, False, False, False], id="invalid: every target missed"),
        pytest.param([run_of(1_000, "real", 0.5)], [None, None, True, None, None], id="valid: only a real run"),
    ],
)
def test_targets(runs: list[BenchRun], expected: list[bool | None]) -> None:
    assert [t.met for t in targets(runs)] == expected


def test_a_target_scales_with_a_smaller_storm() -> None:
    first = targets([run_of(10_000, "modeled", 1.0)])[0]
    assert first.limit == pytest.approx(2.0) and first.met


@pytest.mark.parametrize(
    "text, expected",
    [
        pytest.param("1000,10000,100000", (1000, 10000, 100000), id="valid: plain numbers"),
        pytest.param("1k, 10K,100k", (1000, 10000, 100000), id="valid: k suffixes and blanks"),
        pytest.param("", (), id="valid: none"),
        pytest.param("ten", None, id="invalid: not a number"),
        pytest.param("0", None, id="invalid: zero"),
        pytest.param("5,-1", None, id="invalid: negative"),
    ],
)
def test_sizes(text: str, expected: tuple[int, ...] | None) -> None:
    if expected is None:
        with pytest.raises(argparse.ArgumentTypeError):
            _sizes(text)
    else:
        assert _sizes(text) == expected


def test_emulate_hands_over_to_the_emulation_benchmark(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []

    def fake(nodes: int, concurrency: int, out: str | None) -> int:
        calls.append({"nodes": nodes, "concurrency": concurrency, "out": out})
        return 7

    import sim.emulate.bench
    monkeypatch.setattr(sim.emulate.bench, "run_emulate_bench", fake)
    assert cli.main(["bench", "--emulate", "--nodes", "5", "--concurrency", "2", "--out", "x.json"]) == 7
    assert calls == [{"nodes": 5, "concurrency": 2, "out": "x.json"}]


def test_the_report_reads_as_two_tables() -> None:
    data = bench.report([run_of(10, "modeled", 0.1), run_of(20, "modeled", 0.2)], 1e6, seed=1)
    text = format_report(data)
    assert "crypto" in text and "target" in text and "not measured" in text and text.count("MISS") >= 1
    assert isinstance(targets([])[0], Target)
