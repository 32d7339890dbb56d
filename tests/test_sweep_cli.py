"""Check ``joinsim sweep`` and ``joinsim report DIR``: output, exit codes 0/1/2, resuming, plots."""

from __future__ import annotations

import pathlib

import pytest

import sim.sweep.cli as sweep_cli
from sim.cli import main
from tests.sweep_support import break_seed, write_scenario

VARY = ["--vary", "nodes[0].count=1,3", "--vary", "network.latency=1ms,5ms", "--seeds", "2", "--workers", "1"]


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """Return the directory of one small sweep (2 x 2 values, 2 seeds), run once for the module."""
    tmp = tmp_path_factory.mktemp("sweep")
    assert main(["sweep", write_scenario(tmp), *VARY, "--out", str(tmp / "out")]) == 0
    return tmp / "out"


def test_sweep_prints_what_it_runs_and_resumes(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, out = write_scenario(tmp_path), tmp_path / "out"
    assert main(["sweep", path, *VARY[:4], "--workers", "1", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert f"storm.yaml: 4 runs (4 combination(s) x 1 seed(s)) on this process, into {out}/" in text
    assert "4 finished now, 0 already complete, 0 failed" in text and "join_time.p50 mean" in text
    assert f"table: {out}/results.parquet, {out}/results.csv\nplot: joinsim report {out}" in text
    assert main(["sweep", path, *VARY[:4], "--seeds", "2", "--workers", "1", "--out", str(out)]) == 0
    assert "4 finished now, 4 already complete, 0 failed" in capsys.readouterr().out


def test_another_sweep_in_out_exits_2_unless_forced(tmp_path: pathlib.Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    path, out = write_scenario(tmp_path), tmp_path / "out"
    assert main(["sweep", path, "--vary", "nodes[0].count=1,3", "--workers", "1", "--out", str(out)]) == 0
    kept = (out / "sweep.json").read_bytes()
    capsys.readouterr()
    other = ["sweep", path, "--vary", "nodes[0].count=2", "--workers", "1", "--out", str(out)]
    assert main(other) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == (
        f"{out}/sweep.json holds another sweep's plan (storm.yaml, 2 runs, 2 of them not in this sweep): "
        "choose a new --out, or add --force to replace that plan\n")
    assert (out / "sweep.json").read_bytes() == kept
    assert main([*other, "--force"]) == 0
    assert "1 finished now, 0 already complete, 0 failed" in capsys.readouterr().out
    assert (out / "sweep.json").read_bytes() != kept


def test_the_file_sweep_section_needs_no_flags(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_scenario(tmp_path, "sweep:\n  vary:\n    nodes[0].count: [1, 2]\n  seeds: 2\n")
    assert main(["sweep", path, "--workers", "1", "--out", str(tmp_path / "out")]) == 0
    assert "4 runs (2 combination(s) x 2 seed(s))" in capsys.readouterr().out


@pytest.mark.parametrize(
    "flags, lines",
    [
        pytest.param(["--vary", "nodes[0].count=1,-3"], ["storm.yaml: nodes[0].count: must be a positive integer "
                                                         "(got -3)"], id="invalid: a value"),
        pytest.param(["--vary", "nodes[3].count=1", "--vary", "cores"],
                     ["storm.yaml: --vary 'cores': want path=v1,v2,..., such as nodes[0].count=10,100"],
                     id="invalid: a flag's form, found before the file's fields"),
        pytest.param(["--vary", "nodes[3].count=1"], ["storm.yaml: --vary nodes[3].count: no item 3 (the list has 2)"],
                     id="invalid: a path"),
        pytest.param(["--set", "nodes[0].cuont=1"], ["storm.yaml: nodes[0].cuont: unknown field (did you mean "
                                                     "'count'?)"], id="invalid: an override"),
    ],
)
def test_bad_input_exits_2_before_any_run(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str],
                                          flags: list[str], lines: list[str]) -> None:
    assert main(["sweep", write_scenario(tmp_path), *flags, "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.splitlines() == lines
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "flags, line",
    [
        pytest.param(["--workers", "0"], "storm.yaml: --workers: must be a positive integer (got 0)",
                     id="invalid: workers"),
        pytest.param(["--seeds", "-1"], "storm.yaml: --seeds: must be a positive integer (got -1)", id="invalid: seeds"),
    ],
)
def test_bad_counts_exit_2(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], flags: list[str],
                           line: str) -> None:
    assert main(["sweep", write_scenario(tmp_path), *flags, "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == line + "\n"


def test_an_unreachable_scheduler_exits_2_writing_nothing(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sweep_cli, "SCHEDULER_TIMEOUT", 0.5)
    flags = ["--dask-scheduler", "tcp://127.0.0.1:1", "--out", str(tmp_path / "out")]
    assert main(["sweep", write_scenario(tmp_path), *flags]) == 2
    assert capsys.readouterr().err.startswith("cannot reach the Dask scheduler at tcp://127.0.0.1:1: ")
    assert not (tmp_path / "out").exists()


def test_one_executor_at_a_time(tmp_path: pathlib.Path) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["sweep", write_scenario(tmp_path), "--workers", "2", "--dask-scheduler", "tcp://127.0.0.1:8786"])
    assert caught.value.code == 2


def test_a_failed_run_exits_1_naming_it(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    break_seed(monkeypatch, 2, OSError("disk full"))
    assert main(["sweep", write_scenario(tmp_path), "--seeds", "2", "--workers", "1", "--out", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert "1 finished now, 0 already complete, 1 failed" in captured.out
    assert "failed: seed=2: OSError: disk full\n" in captured.err


def test_report_draws_a_metric_against_a_field(swept: pathlib.Path, tmp_path: pathlib.Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(swept), "--metric", "w.join_time.p99", "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "storm: w.join_time.p99 over seeds" in text and "2/2" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.join_time.p99-vs-nodes_0_.count.png",
                                                          "w.join_time.p99-vs-nodes_0_.count.svg"]
    assert main(["report", str(swept), "--x", "network.latency", "--no-plots"]) == 0
    assert not list(swept.glob("*.png"))


@pytest.mark.parametrize(
    "flags, message",
    [
        pytest.param(["--metric", "join_time.p51"], "--metric join_time.p51: no such column (did you mean "
                     "'join_time.p50'?)", id="invalid: metric"),
        pytest.param(["--x", "nodes[0].cuont"], "--x nodes[0].cuont: not varied (did you mean 'nodes[0].count'?)",
                     id="invalid: field"),
    ],
)
def test_report_refuses_unknown_columns(swept: pathlib.Path, capsys: pytest.CaptureFixture[str], flags: list[str],
                                        message: str) -> None:
    assert main(["report", str(swept), *flags]) == 2
    assert capsys.readouterr().err == f"{swept}: {message}\n"


def test_report_on_a_directory_that_is_no_sweep_exits_2(tmp_path: pathlib.Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path)]) == 2
    assert capsys.readouterr().err == f"{tmp_path}/sweep.json: No such file or directory\n"
