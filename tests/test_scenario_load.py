"""Check reading scenario files: YAML errors with line and column, duplicate keys, ``--set`` overrides."""

from __future__ import annotations

import pathlib
from typing import Any

import pytest

from sim.scenario import ScenarioError, load_scenario
from sim.scenario.load import ByName, apply_override, parse_path, read_yaml
from sim.scenario.sections.nodes import NODES
from sim.scenario.sections.run import RUN

GOOD = "description: two workers\nnodes:\n  - name: w\n    count: 2\n"


def write(tmp_path: pathlib.Path, text: str, name: str = "s.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    "text, expected",
    [
        pytest.param("nodes: [\n", "s.yaml: line 2, column 1: expected the node content, but found '<stream end>'",
                     id="invalid: unclosed list"),
        pytest.param("nodes:\n  - name: w\n    count: 2\n    count: 3\n",
                     "s.yaml: line 4, column 5: duplicate key 'count'", id="invalid: duplicate key"),
        pytest.param("a: b: c\n", "s.yaml: line 1, column 5: mapping values are not allowed here",
                     id="invalid: bad mapping"),
    ],
)
def test_yaml_errors_name_the_line(tmp_path: pathlib.Path, text: str, expected: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(write(tmp_path, text))
    assert caught.value.lines() == [expected]


def test_a_missing_file_is_a_problem_not_a_traceback(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(str(tmp_path / "none.yaml"))
    assert caught.value.lines() == [f"none.yaml: cannot read {tmp_path / 'none.yaml'}: No such file or directory"]


def test_the_name_defaults_to_the_file_name(tmp_path: pathlib.Path) -> None:
    scenario = load_scenario(write(tmp_path, GOOD, "two-workers.yaml"))
    assert (scenario.name, scenario.description, scenario.source) == ("two-workers", "two workers", "two-workers.yaml")


@pytest.mark.parametrize(
    "text, parts",
    [
        pytest.param("nodes[0].count", ("nodes", 0, "count"), id="valid: index"),
        pytest.param("nodes[w].join.token", ("nodes", ByName("w"), "join", "token"), id="valid: by name"),
        pytest.param("run.seed", ("run", "seed"), id="valid: keys"),
        pytest.param("expect.outcomes.w-1.joined", ("expect", "outcomes", "w-1", "joined"), id="valid: dashes"),
    ],
)
def test_paths_parse(text: str, parts: tuple[Any, ...]) -> None:
    assert parse_path(text) == parts


@pytest.mark.parametrize("text", [pytest.param(t, id=f"invalid: {t!r}") for t in ("", "a..b", "[0].a", "a[]", "a.")])
def test_bad_paths_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="cannot read the field path"):
        parse_path(text)


@pytest.mark.parametrize(
    "assignment, expected",
    [
        pytest.param("nodes[0].count=50", {"nodes": [{"name": "w", "count": 50}]}, id="valid: a number"),
        pytest.param("nodes[w].count=7", {"nodes": [{"name": "w", "count": 7}]}, id="valid: by group name"),
        pytest.param("cluster.token_ttl=1m", {"nodes": [{"name": "w", "count": 2}], "cluster": {"token_ttl": "1m"}},
                     id="valid: a new section"),
        pytest.param("nodes[0].join.ca_cert_hashes=[cluster, 'sha256:ab']",
                     {"nodes": [{"name": "w", "count": 2, "join": {"ca_cert_hashes": ["cluster", "sha256:ab"]}}]},
                     id="valid: a YAML list"),
    ],
)
def test_overrides_set_fields(assignment: str, expected: dict[str, Any]) -> None:
    doc = {"nodes": [{"name": "w", "count": 2}]}
    assert apply_override(doc, assignment) == expected
    assert doc == {"nodes": [{"name": "w", "count": 2}]}  # the original is left alone


@pytest.mark.parametrize(
    "assignment, message",
    [
        pytest.param("nodes[3].count=1", "--set nodes[3].count: no item 3 (the list has 1)", id="invalid: index"),
        pytest.param("nodes[v].count=1", "--set nodes[v].count: no item named 'v'", id="invalid: name"),
        pytest.param("nodes.count=1", "--set nodes.count: 'count' is set inside a value that is not a mapping",
                     id="invalid: key in a list"),
        pytest.param("nodes", "--set 'nodes': want path=value, such as nodes[0].count=50", id="invalid: no value"),
        pytest.param("nodes[0].count=[1", "--set nodes[0].count: cannot read the value '[1': expected ',' or ']', "
                     "but got '<stream end>'", id="invalid: a value that is not YAML"),
    ],
)
def test_bad_overrides_are_refused(assignment: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        apply_override({"nodes": [{"name": "w", "count": 2}]}, assignment)
    assert str(caught.value) == message


def test_overrides_are_validated_like_the_file(tmp_path: pathlib.Path) -> None:
    path = write(tmp_path, GOOD)
    scenario = load_scenario(path, ["nodes[w].count=5", "run.seed=9"])
    assert scenario.get(NODES)[0].count == 5 and scenario.get(RUN).seed == 9
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path, ["nodes[0].count=-3", "nodes[0].cuont=2", "nodes[9].count=1"])
    assert caught.value.lines() == ["s.yaml: --set nodes[9].count: no item 9 (the list has 1)"]
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path, ["nodes[0].count=-3", "nodes[0].cuont=2"])
    assert caught.value.lines() == ["s.yaml: nodes[0].cuont: unknown field (did you mean 'count'?)",
                                    "s.yaml: nodes[0].count: must be a positive integer (got -3)"]


def test_read_yaml_reads_plain_documents() -> None:
    assert read_yaml("a: [1, 2]\nb: {c: 5m}\n", "x") == {"a": [1, 2], "b": {"c": "5m"}}
