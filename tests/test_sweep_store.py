"""Check that a sweep's output directory keeps one sweep: a plan resumes it only if it keeps every run there."""

from __future__ import annotations

import pathlib

import pytest

from sim.sweep.plan import Plan, make_plan
from sim.sweep.spec import parse_vary
from sim.sweep.store import MANIFEST, OtherSweep, check_manifest, write_manifest
from tests.sweep_support import write_scenario

COUNTS = "nodes[0].count=1,2"


def plan(tmp_path: pathlib.Path, *vary: str, seeds: int = 2, overrides: tuple[str, ...] = ()) -> Plan:
    """Return the plan of the support scenario varied by ``vary`` (default ``COUNTS``), as ``joinsim sweep`` makes it."""
    return make_plan(write_scenario(tmp_path), overrides, [parse_vary(v) for v in vary or (COUNTS,)], seeds)


@pytest.mark.parametrize(("vary", "seeds", "overrides", "error"), [
    pytest.param((COUNTS,), 2, (), None, id="valid: the same plan resumes"),
    pytest.param((COUNTS,), 3, (), None, id="valid: more seeds resume"),
    pytest.param(("nodes[0].count=1,2,3",), 2, (), None, id="valid: more values resume"),
    pytest.param(("nodes[0].count=2,1",), 2, (), None, id="valid: the same values in another order resume"),
    pytest.param((COUNTS,), 1, (), "holds another sweep's plan (storm.yaml, 4 runs, 2 of them not in this sweep)",
                 id="invalid: fewer seeds"),
    pytest.param((COUNTS,), 2, ("cluster.ca_key_type=rsa",),
                 "holds another sweep's plan (storm.yaml, 4 runs, 4 of them not in this sweep)",
                 id="invalid: another --set"),
    pytest.param(("network.latency=1ms,5ms",), 2, (),
                 "holds another sweep's plan (storm.yaml, 4 runs, 4 of them not in this sweep)",
                 id="invalid: another field varied"),
])
def test_a_plan_may_replace_only_one_it_contains(tmp_path: pathlib.Path, vary: tuple[str, ...], seeds: int,
                                                 overrides: tuple[str, ...], error: str | None) -> None:
    out = str(tmp_path / "out")
    write_manifest(out, plan(tmp_path))
    again = plan(tmp_path, *vary, seeds=seeds, overrides=overrides)
    if error is None:
        check_manifest(out, again)
    else:
        with pytest.raises(OtherSweep) as raised:
            check_manifest(out, again)
        assert str(raised.value) == f"{out}/{MANIFEST} {error}"


@pytest.mark.parametrize(("text", "error"), [
    pytest.param(None, None, id="valid: no plan yet"),
    pytest.param("{", "not a joinsim sweep file: ", id="invalid: a plan that is not JSON"),
    pytest.param('{"format": 1}', "not a joinsim sweep file: no list of runs", id="invalid: a plan without runs"),
])
def test_an_unreadable_plan_is_not_replaced(tmp_path: pathlib.Path, text: str | None, error: str | None) -> None:
    out = tmp_path / "out"
    if text is not None:
        out.mkdir()
        (out / MANIFEST).write_text(text)
    if error is None:
        check_manifest(str(out), plan(tmp_path))
    else:
        with pytest.raises(OtherSweep) as raised:
            check_manifest(str(out), plan(tmp_path))
        assert str(raised.value).startswith(f"{out}/{MANIFEST}: {error}")
