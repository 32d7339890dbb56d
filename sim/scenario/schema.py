"""List a scenario file's sections and turn a parsed YAML document into a validated ``Scenario``, in one place.

How this works: ``SECTIONS`` is the table of sections, in the order a
resolved scenario is written; each row is a ``Section`` from
``sim.scenario.sections`` (one module a concern). ``parse_document`` fills
defaults, parses every section (collecting every problem with its path),
then runs the sections' cross-checks on the whole tree, and raises one
``ScenarioError`` listing them all, or returns the frozen ``Scenario``.
``resolved`` writes it back with every default filled in; ``engine_config``
asks each section for its part of the engine's ``EngineConfig``.
"""

from __future__ import annotations

import re
from typing import Any, Final

from sim.engine import EngineConfig
from sim.scenario.kinds import Text
from sim.scenario.problems import INVALID, Problem, ScenarioError, did_you_mean
from sim.scenario.sections.admin import ADMIN
from sim.scenario.sections.attackers import ATTACKERS
from sim.scenario.sections.cluster import APISERVER, CLUSTER, CONTROLLERS
from sim.scenario.sections.expect import EXPECT
from sim.scenario.sections.network import NETWORK
from sim.scenario.sections.nodes import NODES
from sim.scenario.sections.run import RUN
from sim.scenario.sections.sweep import SWEEP
from sim.scenario.tree import Scenario, Section

__all__ = ["SECTIONS", "TOP_FIELDS", "engine_config", "parse_document", "resolved"]

SECTIONS: Final[tuple[Section[Any], ...]] = (RUN, CLUSTER, APISERVER, CONTROLLERS, NETWORK, NODES, ATTACKERS, ADMIN,
                                              EXPECT, SWEEP)
TOP_FIELDS: Final = {"name": "the scenario's name (default: the file name without .yaml)",
                     "description": "one line saying what the scenario shows"}
_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def parse_document(raw: object, source: str, default_name: str) -> Scenario:
    """Return the validated scenario, or raise ``ScenarioError`` with every problem (module docstring)."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ScenarioError(source, [Problem(path=(), message="must be a mapping of sections (name, description, "
                                             + ", ".join(s.key for s in SECTIONS) + ")")])
    problems: list[Problem] = []
    known = [*TOP_FIELDS, *(s.key for s in SECTIONS)]
    for key in raw:
        if key not in known:
            problems.append(Problem(path=(str(key),), message=did_you_mean(str(key), known)))
    name = Text().parse(raw.get("name", default_name), ("name",), problems)
    if name is not INVALID and not _NAME.fullmatch(name):
        problems.append(Problem(path=("name",), message=f"must be letters, digits, '.', '_' or '-' (got {name!r})"))
    description = Text(empty=True).parse(raw.get("description", ""), ("description",), problems)
    sections: dict[str, Any] = {}
    for section in SECTIONS:
        if section.key in raw:
            sections[section.key] = section.kind.parse(raw[section.key], (section.key,), problems)
        elif section.required:
            problems.append(Problem(path=(section.key,), message="is required"))
        else:
            sections[section.key] = section.default
    if problems:
        raise ScenarioError(source, problems)
    scenario = Scenario(name=name, description=description, source=source, sections=sections, table=SECTIONS)
    for section in SECTIONS:
        if section.check is not None:
            problems.extend(section.check(scenario.get(section), scenario))
    if problems:
        raise ScenarioError(source, problems)
    return scenario


def resolved(scenario: Scenario) -> dict[str, Any]:
    """Return the scenario with every default filled in, in the file's own spelling."""
    out: dict[str, Any] = {"name": scenario.name, "description": scenario.description}
    for section in SECTIONS:
        out[section.key] = section.kind.dump(scenario.get(section))
    return out


def engine_config(scenario: Scenario, **changes: Any) -> EngineConfig:
    """Return the engine's configuration: each section's part, plus ``changes`` (``log_requests``...)."""
    fields: dict[str, Any] = {}
    for section in SECTIONS:
        if section.engine is None:
            continue
        part = section.engine(scenario.get(section), scenario)
        overlap = set(part) & set(fields)
        assert not overlap, f"section {section.key!r} sets {sorted(overlap)} again"
        fields.update(part)
    try:
        return EngineConfig(**fields, **changes)
    except ValueError as err:  # a check the sections missed: report it as a problem, not a traceback
        raise ScenarioError(scenario.source, [Problem(path=(), message=str(err))]) from None
