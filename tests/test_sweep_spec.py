"""Check reading ``--vary``, the scenario's ``sweep`` section, and how the command line wins over the file."""

from __future__ import annotations

from typing import Any

import pytest

from sim.scenario import ScenarioError, parse_document
from sim.scenario.sections.sweep import SWEEP, SweepSpec
from sim.sweep.spec import Vary, merge, parse_vary

NODES = [{"name": "w", "count": 1}]


@pytest.mark.parametrize(
    "text, path, values",
    [
        pytest.param("nodes[0].count=1,10,100", "nodes[0].count", (1, 10, 100), id="valid: numbers"),
        pytest.param("nodes[w].count=5", "nodes[w].count", (5,), id="valid: one value, a group by name"),
        pytest.param("cluster.ca_key_type=rsa, ecdsa", "cluster.ca_key_type", ("rsa", "ecdsa"), id="valid: words"),
        pytest.param("network.latency=2ms,{uniform: [1ms, 5ms]}", "network.latency",
                     ("2ms", {"uniform": ["1ms", "5ms"]}), id="valid: a mapping keeps its commas"),
        pytest.param('description="a, b",c', "description", ("a, b", "c"), id="valid: a quoted comma"),
    ],
)
def test_vary_values_are_read_as_yaml(text: str, path: str, values: tuple[object, ...]) -> None:
    assert parse_vary(text) == Vary(path=path, values=values)


@pytest.mark.parametrize(
    "text, message",
    [
        pytest.param("nodes[0].count", "--vary 'nodes[0].count': want path=v1,v2,..., such as nodes[0].count=10,100",
                     id="invalid: no equals sign"),
        pytest.param("nodes[0.count=1", "--vary nodes[0.count: cannot read the field path 'nodes[0.count' (want a "
                     "path such as nodes[0].count)", id="invalid: path syntax"),
        pytest.param("sweep.seeds=1,2", "--vary sweep.seeds: the sweep cannot vary itself", id="invalid: the sweep"),
        pytest.param("nodes[0].count=", "--vary nodes[0].count: no values (want path=v1,v2,...)",
                     id="invalid: no values"),
        pytest.param("nodes[0].count=1,,2", "--vary nodes[0].count: cannot read the values '1,,2': expected the node "
                     "content, but found ','", id="invalid: an empty value"),
    ],
)
def test_bad_vary_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_vary(text)
    assert str(caught.value) == message


def spec(vary: dict[str, list[object]], seeds: int = 1) -> SweepSpec:
    return SweepSpec(vary=tuple((p, tuple(v)) for p, v in vary.items()), seeds=seeds)


@pytest.mark.parametrize(
    "file, flags, seeds, expected, count",
    [
        pytest.param(spec({}), [], None, [], 1, id="valid: nothing varied, one seed"),
        pytest.param(spec({"a": [1, 2], "b": [3]}, seeds=4), ["b=5,6", "c=x"], None,
                     [("a", (1, 2), "sweep.vary"), ("b", (5, 6), "--vary"), ("c", ("x",), "--vary")], 4,
                     id="valid: a flag replaces the file's list in place; new fields come after"),
        pytest.param(spec({"a": [1]}, seeds=4), [], 2, [("a", (1,), "sweep.vary")], 2,
                     id="valid: --seeds wins over sweep.seeds"),
        pytest.param(spec({}), ["run.seed=1,2,3"], None, [("run.seed", (1, 2, 3), "--vary")], 1,
                     id="valid: seeds listed by hand"),
    ],
)
def test_the_command_line_wins_over_the_file(file: SweepSpec, flags: list[str], seeds: int | None,
                                             expected: list[tuple[str, tuple[object, ...], str]], count: int) -> None:
    vary, got = merge("s.yaml", file, [parse_vary(f) for f in flags], seeds)
    assert [(v.path, v.values, v.origin) for v in vary] == expected and got == count


@pytest.mark.parametrize(
    "file, flags, seeds, lines",
    [
        pytest.param(spec({}), ["a=1", "a=2"], None, ["s.yaml: --vary a: given twice"], id="invalid: a flag twice"),
        pytest.param(spec({}), ["a=1,2,1"], None, ["s.yaml: --vary a: 1 is listed twice"],
                     id="invalid: a value twice"),
        pytest.param(spec({"a": ["x", "x"]}), [], None, ["s.yaml: sweep.vary a: 'x' is listed twice"],
                     id="invalid: a value twice in the file"),
        pytest.param(spec({}), ["run.seed=1,2"], 3, ["s.yaml: --seeds: run.seed is varied and seeds is 3: list every "
                                                     "seed in run.seed and leave seeds at 1"],
                     id="invalid: run.seed varied and counted"),
        pytest.param(spec({}), [], 0, ["s.yaml: --seeds: must be a positive integer (got 0)"], id="invalid: seeds"),
    ],
)
def test_bad_sweeps_are_refused_with_every_problem(file: SweepSpec, flags: list[str], seeds: int | None,
                                                   lines: list[str]) -> None:
    with pytest.raises(ScenarioError) as caught:
        merge("s.yaml", file, [parse_vary(f) for f in flags], seeds)
    assert caught.value.lines() == lines


@pytest.mark.parametrize(
    "section, expected",
    [
        pytest.param(None, {"vary": {}, "seeds": 1}, id="valid: no section, no sweep"),
        pytest.param({"vary": {"nodes[0].count": [1, 2], "network.latency": ["1ms", {"uniform": ["1ms", "2ms"]}]},
                      "seeds": 3},
                     {"vary": {"nodes[0].count": [1, 2], "network.latency": ["1ms", {"uniform": ["1ms", "2ms"]}]},
                      "seeds": 3}, id="valid: values of any shape"),
    ],
)
def test_the_sweep_section_parses_and_dumps(section: dict[str, Any] | None, expected: dict[str, Any]) -> None:
    doc: dict[str, Any] = {"nodes": NODES, **({"sweep": section} if section is not None else {})}
    scenario = parse_document(doc, "s.yaml", default_name="s")
    assert SWEEP.kind.dump(scenario.get(SWEEP)) == expected


@pytest.mark.parametrize(
    "section, lines",
    [
        pytest.param({"vary": {"nodes[0.count": [1]}}, ["s.yaml: sweep.vary.nodes[0.count: cannot read the field "
                                                         "path 'nodes[0.count' (want a path such as nodes[0].count)"],
                     id="invalid: path syntax"),
        pytest.param({"vary": {"sweep.seeds": [1]}}, ["s.yaml: sweep.vary.sweep.seeds: the sweep cannot vary itself"],
                     id="invalid: the sweep varies itself"),
        pytest.param({"vary": {"nodes[0].count": []}}, ["s.yaml: sweep.vary.nodes[0].count: must have at least 1 "
                                                        "item(s)"], id="invalid: no values"),
        pytest.param({"vary": {"nodes[0].count": 5}}, ["s.yaml: sweep.vary.nodes[0].count: must be a list (got 5)"],
                     id="invalid: not a list"),
        pytest.param({"seeds": 0, "vari": {}}, ["s.yaml: sweep.vari: unknown field (did you mean 'vary'?)",
                                                "s.yaml: sweep.seeds: must be a positive integer (got 0)"],
                     id="invalid: typo and seeds"),
        pytest.param({"vary": {"run.seed": [1, 2]}, "seeds": 2},
                     ["s.yaml: sweep.seeds: run.seed is varied and seeds is 2: list every seed in run.seed and leave "
                      "seeds at 1"], id="invalid: run.seed varied and counted"),
    ],
)
def test_bad_sweep_sections_name_the_field(section: dict[str, Any], lines: list[str]) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_document({"nodes": NODES, "sweep": section}, "s.yaml", default_name="s")
    assert caught.value.lines() == lines
