"""Read a scenario file, apply ``--set path=value`` overrides, and validate it into a ``Scenario``.

YAML is read with PyYAML's safe loader, extended to refuse a key written
twice in one mapping (plain YAML keeps the last silently, which hides typos
in long files). A syntax error is reported with its line and column. An
override names a field with the same path syntax the error messages use
(``nodes[0].count=50``; ``nodes[w].count=50`` picks the list item whose
``name`` is ``w``); its value is read as YAML, so ``50`` is a number and
``5m`` a string. Every problem becomes one line of a ``ScenarioError``.
"""

from __future__ import annotations

import copy
import os
import re
from dataclasses import dataclass
from typing import Any, Final, Sequence

import yaml

from sim.scenario.problems import Problem, ScenarioError
from sim.scenario.schema import parse_document
from sim.scenario.tree import Scenario

__all__ = ["ByName", "apply_override", "load_scenario", "parse_path", "read_yaml"]

_PATH: Final = re.compile(r"[^.\[\]]+(?:\[[^\[\]]+\]|\.[^.\[\]]+)*")
_TOKEN: Final = re.compile(r"\[([^\[\]]+)\]|\.?([^.\[\]]+)")


@dataclass(frozen=True, slots=True)
class ByName:
    """Select the list item whose ``name`` is ``name`` (``nodes[w]``)."""

    name: str


class _UniqueKeyLoader(yaml.SafeLoader):
    """Load YAML safely, refusing duplicate keys in a mapping."""


def _mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[object] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def read_yaml(text: str, source: str) -> Any:
    """Return the parsed YAML document, or raise ``ScenarioError`` naming the line and column."""
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        raise ScenarioError(source, [Problem(path=(), message=f"{where}{err.problem}")]) from None
    except yaml.YAMLError as err:
        raise ScenarioError(source, [Problem(path=(), message=f"not valid YAML: {err}")]) from None


def parse_path(text: str) -> tuple[str | int | ByName, ...]:
    """Return the parts of ``nodes[0].join.token``: keys, list indexes, and ``[name]`` selections."""
    if not _PATH.fullmatch(text):
        raise ValueError(f"cannot read the field path {text!r} (want a path such as nodes[0].count)")
    return tuple(key if key else int(index) if index.isdigit() else ByName(index)
                 for index, key in _TOKEN.findall(text))


def apply_override(doc: Any, assignment: str) -> Any:
    """Return a copy of the document with ``path=value`` set; raise ValueError saying what is wrong."""
    path_text, equals, value_text = assignment.partition("=")
    if not equals:
        raise ValueError(f"--set {assignment!r}: want path=value, such as nodes[0].count=50")
    path = parse_path(path_text.strip())
    try:
        value = yaml.safe_load(value_text) if value_text.strip() else ""
    except yaml.YAMLError as err:
        reason = getattr(err, "problem", None) or str(err)
        raise ValueError(f"--set {path_text.strip()}: cannot read the value {value_text!r}: {reason}") from None
    doc = copy.deepcopy(doc) if doc is not None else {}
    if not isinstance(doc, dict):
        raise ValueError(f"--set {path_text}: the document is not a mapping")
    here: Any = doc
    for step, part in enumerate(path):
        last = step == len(path) - 1
        if isinstance(part, ByName):
            if not isinstance(here, list):
                raise ValueError(f"--set {path_text}: [{part.name}] selects from a list, but there is none here")
            matches = [i for i, item in enumerate(here) if isinstance(item, dict) and item.get("name") == part.name]
            if not matches:
                raise ValueError(f"--set {path_text}: no item named {part.name!r}")
            part = matches[0]
        if isinstance(part, int):
            if not isinstance(here, list) or not 0 <= part < len(here):
                size = len(here) if isinstance(here, list) else 0
                raise ValueError(f"--set {path_text}: no item {part} (the list has {size})")
        elif not isinstance(here, dict):
            raise ValueError(f"--set {path_text}: {part!r} is set inside a value that is not a mapping")
        if last:
            here[part] = value
        else:
            if isinstance(here, dict) and here.get(part) is None:
                here[part] = [] if isinstance(path[step + 1], int) else {}
            here = here[part]
    return doc


def load_scenario(path: str, overrides: Sequence[str] = ()) -> Scenario:
    """Return the validated scenario in the file, with overrides applied; raise ``ScenarioError`` otherwise."""
    source = os.path.basename(path)
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as err:
        reason = getattr(err, "strerror", None) or str(err)
        raise ScenarioError(source, [Problem(path=(), message=f"cannot read {path}: {reason}")]) from None
    doc = read_yaml(text, source)
    problems: list[Problem] = []
    for assignment in overrides:
        try:
            doc = apply_override(doc, assignment)
        except ValueError as err:
            problems.append(Problem(path=(), message=str(err)))
    if problems:
        raise ScenarioError(source, problems)
    stem = source[:-5] if source.endswith(".yaml") else source[:-4] if source.endswith(".yml") else source
    return parse_document(doc, source, default_name=stem)
