"""Check ``expect`` blocks: bounds, counts by group and outcome, error texts, time statistics, invariants."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from sim.engine import AttackerResult, JoinRecord, TimeSeries
from sim.report.record import NodeRecord, ResultFile, ServerRecord
from sim.scenario import parse_document
from sim.scenario.bounds import COUNT, DURATION, RATE, Bound, BoundKind, Unit
from sim.scenario.checks import check_expectations, statistic
from sim.scenario.problems import INVALID, Problem
from sim.scenario.sections.expect import EXPECT

PIN = "sha256:cluster"
ERROR = "error execution phase preflight: couldn't validate the identity of the API Server: boom"


@pytest.mark.parametrize(
    "unit, raw, actual, every, holds, text",
    [
        pytest.param(COUNT, 3, 3, 0, True, "3", id="valid: exact count"),
        pytest.param(COUNT, "all", 4, 4, True, "all", id="valid: all"),
        pytest.param(COUNT, ">= 2", 1, 0, False, ">= 2", id="valid: at least, not met"),
        pytest.param(COUNT, "1..4", 4, 0, True, "1..4", id="valid: inclusive range"),
        pytest.param(DURATION, "< 2s", 1.5, 0, True, "< 2s", id="valid: duration below"),
        pytest.param(DURATION, "4m59s..5m1s", 300.0, 0, True, "4m59s..5m1s", id="valid: duration range"),
        pytest.param(DURATION, ">=1m", 59.0, 0, False, ">= 1m0s", id="valid: no space, Go's spelling back"),
        pytest.param(RATE, ">= 10/s", 600 / 60, 0, True, ">= 10/s", id="valid: rate"),
    ],
)
def test_bounds(unit: Unit, raw: object, actual: float, every: float, holds: bool, text: str) -> None:
    bound = BoundKind(unit).parse(raw, ("x",), [])
    assert isinstance(bound, Bound)
    assert bound.holds(actual, every) is holds and bound.text() == text


@pytest.mark.parametrize(
    "unit, raw",
    [
        pytest.param(COUNT, -1, id="invalid: negative count"),
        pytest.param(COUNT, "some", id="invalid: a word"),
        pytest.param(DURATION, "2s", id="invalid: a bare duration"),
        pytest.param(DURATION, "3s..1s", id="invalid: a range ending below its start"),
        pytest.param(DURATION, "", id="invalid: empty"),
        pytest.param(RATE, ">= 10", id="invalid: rate without a period"),
    ],
)
def test_bad_bounds(unit: Unit, raw: object) -> None:
    found: list[Problem] = []
    assert BoundKind(unit).parse(raw, ("x",), found) is INVALID and len(found) == 1


def node(name: str, group: str, *, joined: bool = True, finished: bool = True, start: float = 0.0,
         took: float = 1.0, error: str = "", pin: str = PIN, pinned: bool = True, csr_server: str = "cp") -> NodeRecord:
    marks = ((start, "phase:preflight"), (start + took, "joined")) if joined else ((start, "phase:preflight"),)
    return NodeRecord(name=name, group=group, finished=finished, joined=joined, phase="" if joined else "preflight",
                      error=error, trusted_ca_pin=pin, pinned=pinned, discovery_server="cp", csr_name="",
                      csr_server=csr_server, started=start, ended=start + took if finished else None, marks=marks)


def result(*nodes: NodeRecord) -> ResultFile:
    return ResultFile(name="t", description="", source="t.yaml", scenario={}, seed=1, version="0", sim_time=10.0,
                      ca_pin=PIN, counts={}, nodes=nodes, servers=(ServerRecord(
                          name="cp", requests=0, rejected_429=0, series=TimeSeries(interval=1.0, times=(),
                                                                                  columns={})),))


RUN = result(node("a-1", "a", took=1.0), node("a-2", "a", took=3.0),
             node("b-1", "b", joined=False, took=300.0, error=ERROR, pin=""),
             node("b-2", "b", joined=False, took=300.0, error="other failure", pin=""),
             node("c-1", "c", joined=False, finished=False, pin=""))


def checks(expect: dict[str, Any], run: ResultFile = RUN) -> list[tuple[str, str, str, bool]]:
    groups = [{"name": g, "count": 2} for g in ("a", "b", "c")]
    scenario = parse_document({"nodes": groups, "expect": expect}, "t.yaml", default_name="t")
    return [(c.path, c.expected, c.actual, c.ok) for c in check_expectations(scenario.get(EXPECT), run)]


@pytest.mark.parametrize(
    "expect, expected",
    [
        pytest.param({"outcomes": {"a": {"joined": "all"}, "b": {"failed": 1}, "all": {"unfinished": ">= 1"}}},
                     [("expect.outcomes.a.joined", "all (2)", "2", True), ("expect.outcomes.b.failed", "1", "2", False),
                      ("expect.outcomes.all.unfinished", ">= 1", "1", True)], id="valid: outcome counts"),
        pytest.param({"errors": [{"group": "b", "contains": "couldn't validate the identity", "count": 1}]},
                     [("expect.errors[0]", "1 failed nodes of b print an error containing \"couldn't validate the "
                       "identity\"", "1 of 2 failed nodes; another error: other failure", True)],
                     id="valid: error text, counted"),
        pytest.param({"errors": [{"group": "b", "contains": "boom"}]},
                     [("expect.errors[0]", "all (2) failed nodes of b print an error containing 'boom'",
                       "1 of 2 failed nodes; another error: other failure", False)], id="valid: error text, all"),
        pytest.param({"errors": [{"group": "a", "contains": "boom"}]},
                     [("expect.errors[0]", "all (0) failed nodes of a print an error containing 'boom'",
                       "0 of 0 failed nodes", False)], id="valid: all needs at least one failure"),
        pytest.param({"join_time": {"a": {"p50": "< 3s", "max": "<= 2s"}}, "failure_time": {"b": {"min": ">= 5m"}}},
                     [("expect.join_time.a.p50", "< 3s", "2s", True), ("expect.join_time.a.max", "<= 2s", "3s", False),
                      ("expect.failure_time.b.min", ">= 5m0s", "5m0s", True)], id="valid: time statistics"),
        pytest.param({"join_time": {"c": {"p99": "< 1s"}}},
                     [("expect.join_time.c.p99", "< 1s", "no node to measure", False)], id="valid: nothing to measure"),
        pytest.param({"throughput": ">= 1/s"}, [("expect.throughput", ">= 1/s", "0.666667/s", False)],
                     id="valid: throughput"),
        pytest.param({"invariants": ["every-node-finished", "pinned-nodes-trust-only-the-cluster-ca"]},
                     [("expect.invariants.every-node-finished",
                       "every node finished (joined or failed) before the run ended", "broken by 1 node(s): c-1",
                       False),
                      ("expect.invariants.pinned-nodes-trust-only-the-cluster-ca",
                       "no pinned node trusted a foreign CA", "held", True)], id="valid: invariants"),
    ],
)
def test_expectations(expect: dict[str, Any], expected: list[tuple[str, str, str, bool]]) -> None:
    assert checks(expect) == expected


@pytest.mark.parametrize(
    "invariant, bad",
    [
        pytest.param("pinned-nodes-trust-only-the-cluster-ca", node("a-1", "a", pin="sha256:evil"),
                     id="invalid: a pinned node trusts another CA"),
        pytest.param("no-node-trusts-a-foreign-ca", node("a-1", "a", pin="sha256:evil", pinned=False),
                     id="invalid: an unpinned node trusts another CA"),
        pytest.param("csrs-reach-only-the-cluster", node("a-1", "a", csr_server="attacker"),
                     id="invalid: a CSR went to the attacker"),
        pytest.param("failures-carry-kubeadm-errors", node("a-1", "a", joined=False),
                     id="invalid: a failure without kubeadm's text"),
    ],
)
def test_invariants_find_the_node_that_breaks_them(invariant: str, bad: NodeRecord) -> None:
    ((path, _, actual, ok),) = checks({"invariants": [invariant]}, result(node("a-2", "a"), bad))
    assert (ok, actual) == (False, "broken by 1 node(s): a-1")


@pytest.mark.parametrize(
    "name, value",
    [pytest.param("min", 1.0, id="valid: min"), pytest.param("max", 4.0, id="valid: max"),
     pytest.param("mean", 2.5, id="valid: mean"), pytest.param("p50", 2.5, id="valid: median interpolates"),
     pytest.param("p99", 3.97, id="valid: p99")],
)
def test_statistics(name: str, value: float) -> None:
    assert statistic(name, [4.0, 1.0, 3.0, 2.0]) == pytest.approx(value)


def test_attacker_expectations() -> None:
    mallory = AttackerResult(name="mallory", kind="mitm", ca_pin="sha256:evil", intercepted=30, victims=("a-1",),
                             identities=("system:node:a-1",))
    run = dataclasses.replace(result(node("a-1", "a", pin="sha256:evil", pinned=False), node("a-2", "a")),
                              attackers=(mallory,))
    groups = [{"name": "a", "count": 2}]
    scenario = parse_document({"nodes": groups, "attackers": [{"mitm": {"name": "mallory", "group": "a"}}],
                               "expect": {"attackers": {"mallory": {"trusted_by": 1, "identities": ">= 2",
                                                                    "node_registered": False,
                                                                    "error_contains": "EOF"}}}},
                              "t.yaml", default_name="t")
    assert [(c.path, c.expected, c.actual, c.ok) for c in check_expectations(scenario.get(EXPECT), run)] == [
        ("expect.attackers.mallory.identities", ">= 2", "1", False),
        ("expect.attackers.mallory.trusted_by", "1", "1", True),
        ("expect.attackers.mallory.node_registered", "false", "false", True),
        ("expect.attackers.mallory.error_contains", "'EOF'", "''", False)]


def test_errors_of_earlier_joins() -> None:
    first = JoinRecord(started=0.0, ended=1.0, joined=True, phase="", error="")
    again = JoinRecord(started=30.0, ended=30.0, joined=False, phase="preflight",
                       error="error execution phase preflight: preflight checks failed")
    rejoined = dataclasses.replace(node("a-1", "a"), joins=(first, again, first))
    expect = {"errors": [{"group": "a", "contains": "preflight checks failed", "joins": "any", "count": 1},
                         {"group": "a", "contains": "preflight checks failed"}]}
    assert checks(expect, result(rejoined)) == [
        ("expect.errors[0]", "1 failed joins of a print an error containing 'preflight checks failed'",
         "1 of 1 failed joins", True),
        ("expect.errors[1]", "all (0) failed nodes of a print an error containing 'preflight checks failed'",
         "0 of 0 failed nodes", False)]
