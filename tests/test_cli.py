"""Check the ``joinsim`` command line: help, demo, token generate and calibrate, run in-process."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sim import __version__
from sim.cli import build_parser, main
from sim.protocol.tokens import is_valid_bootstrap_token

TOKEN_RE = re.compile(r"^[a-z0-9]{6}\.[a-z0-9]{16}$")
COST_KEYS = {"keygen_ecdsa_p256", "keygen_rsa2048", "csr_build", "csr_verify", "sign_rsa2048_ca", "sign_ecdsa_ca", "jws_sign",
             "jws_verify", "pin"}


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run ``joinsim argv`` in-process; return the exit code, stdout and stderr."""
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


# --- help and usage errors ------------------------------------------------------------------------

def test_help_lists_every_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--help"], capsys)
    assert code == 0
    assert out.startswith("usage: joinsim")
    for command in ("demo", "calibrate", "token"):
        assert command in out


@pytest.mark.parametrize("command", ["demo", "calibrate", "token"], ids=lambda c: f"valid: {c} --help")
def test_subcommand_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run([command, "--help"], capsys)
    assert code == 0 and out.startswith(f"usage: joinsim {command}")


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--version"], capsys)
    assert code == 0 and out == f"joinsim {__version__}\n"


@pytest.mark.parametrize(
    "argv, message",
    [
        pytest.param(["demo", "--nodes", "0"], "argument --nodes: must be a positive integer (got 0)",
                     id="invalid: zero nodes"),
        pytest.param(["demo", "--nodes", "-3"], "argument --nodes: must be a positive integer (got -3)",
                     id="invalid: negative nodes"),
        pytest.param(["demo", "--nodes", "two"], "argument --nodes: must be a positive integer (got 'two')",
                     id="invalid: not a number"),
        pytest.param(["demo", "--ca-key", "dsa"], "argument --ca-key: invalid choice: 'dsa'",
                     id="invalid: unknown CA key type"),
        pytest.param(["demo", "--kubernetes-version", "1.10"], "argument --kubernetes-version: invalid choice: '1.10'",
                     id="invalid: unknown profile"),
        pytest.param(["calibrate", "--repeat", "0"], "argument --repeat: must be a positive integer (got 0)",
                     id="invalid: zero repetitions"),
        pytest.param(["frobnicate"], "argument COMMAND: invalid choice: 'frobnicate'", id="invalid: unknown command"),
    ],
)
def test_bad_arguments_exit_2_with_a_clear_message(argv: list[str], message: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(argv, capsys)
    assert code == 2 and out == ""
    assert message in err and "usage: joinsim" in err


@pytest.mark.parametrize("argv", [[], ["token"]], ids=["invalid: no command", "invalid: token without subcommand"])
def test_missing_command_prints_help_and_exits_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(argv, capsys)
    assert code == 2 and out == "" and err.startswith("usage: joinsim")


def test_parser_defaults() -> None:
    args = build_parser().parse_args(["demo"])
    assert (args.nodes, args.seed, args.ca_key, args.kubernetes_version, args.verbose) == (3, 1, "rsa", "current",
                                                                                          False)
    assert build_parser().parse_args(["calibrate"]).repeat == 200


# --- token generate -------------------------------------------------------------------------------

def test_token_generate_prints_a_valid_random_token(capsys: pytest.CaptureFixture[str]) -> None:
    tokens = []
    for _ in range(3):
        code, out, err = run(["token", "generate"], capsys)
        assert code == 0 and err == "" and out.endswith("\n")
        tokens.append(out.strip())
    for token in tokens:
        assert TOKEN_RE.match(token) and is_valid_bootstrap_token(token)
    assert len(set(tokens)) == 3


# --- demo -----------------------------------------------------------------------------------------

def test_demo_joins_two_workers(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["demo", "--nodes", "2"], capsys)
    assert code == 0, err
    assert "Your Kubernetes control-plane has initialized successfully!" in out
    assert "This node has joined the cluster:" in out
    assert out.count("Approved,Issued") == 2
    assert re.search(r"^node-1\s+Ready", out, re.M) and re.search(r"^node-2\s+Ready", out, re.M)
    assert "node-1: joined in" in out and "node-2: joined in" in out
    assert "FAILED" not in out + err


def test_demo_verbose_prefixes_every_node(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["demo", "--nodes", "2", "--ca-key", "ecdsa", "--verbose"], capsys)
    assert code == 0
    assert "[node-1] [preflight] Running pre-flight checks" in out
    assert "[node-2] [preflight] Running pre-flight checks" in out


def test_demo_1_22_profile(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["demo", "--nodes", "1", "--ca-key", "ecdsa", "--kubernetes-version", "1.22"], capsys)
    assert code == 0
    assert "[init] Using Kubernetes version: v1.22.17" in out
    assert 'Creating a ConfigMap "kubelet-config-1.22"' in out
    assert "Approved,Issued" in out


def test_demo_is_deterministic_for_a_seed(capsys: pytest.CaptureFixture[str]) -> None:
    first = run(["demo", "--nodes", "1", "--ca-key", "ecdsa", "--seed", "5"], capsys)
    again = run(["demo", "--nodes", "1", "--ca-key", "ecdsa", "--seed", "5"], capsys)
    other = run(["demo", "--nodes", "1", "--ca-key", "ecdsa", "--seed", "6"], capsys)
    assert first == again and first[1] != other[1]


def test_demo_shows_the_control_plane_join_command_it_claims_with_control_plane_endpoint(
    capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["demo", "--nodes", "1", "--ca-key", "ecdsa"], capsys)
    assert code == 0
    assert out.startswith("$ kubeadm init --control-plane-endpoint 10.0.0.1:6443")
    assert "You can now join any number of control-plane nodes" in out and "--control-plane" in out


# --- calibrate ------------------------------------------------------------------------------------

def test_calibrate_writes_valid_json_atomically(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "out" / "costs.json"
    code, out, _ = run(["calibrate", "--repeat", "3", "--out", str(target)], capsys)
    assert code == 0
    table = json.loads(target.read_text())
    assert json.loads(out) == table
    assert set(table["costs"]) == COST_KEYS
    assert all(isinstance(v, float) and v > 0 for v in table["costs"].values())
    assert table["repeat"] == 3 and table["unit"] == "microseconds (median)"
    assert {"python", "cryptography", "machine", "processor"} <= set(table["host"])
    assert sorted(p.name for p in target.parent.iterdir()) == ["costs.json"]
    assert oct(target.stat().st_mode & 0o777) == oct(0o644)


def test_calibrate_failing_write_keeps_the_old_file_and_leaves_no_temp_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "costs.json"
    target.write_text("old\n")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk on fire"):
        main(["calibrate", "--repeat", "1", "--out", str(target)])
    capsys.readouterr()
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["costs.json"]


@pytest.mark.parametrize("command", [
    pytest.param(["calibrate", "--repeat", "1", "--out"], id="invalid: calibrate --out under a file"),
    pytest.param(["report", "no-result.json", "--trace"], id="invalid: report of a missing file"),
])
def test_a_path_that_cannot_be_used_is_one_line_and_exit_2(command: list[str], tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file").write_text("")
    code, _, err = run([*command, str(tmp_path / "file" / "x.json")], capsys)
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err


def test_calibrate_without_out_only_prints(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(["calibrate", "--repeat", "1"], capsys)
    assert code == 0 and set(json.loads(out)["costs"]) == COST_KEYS
    assert list(tmp_path.iterdir()) == []


# --- the installed entry point ------------------------------------------------------------------

def test_installed_console_script_runs() -> None:
    script = shutil.which("joinsim", path=os.path.dirname(sys.executable))
    if script is None:
        pytest.skip("the joinsim console script is not installed next to this interpreter")
    result = subprocess.run([script, "token", "generate"], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0 and TOKEN_RE.match(result.stdout.strip())
