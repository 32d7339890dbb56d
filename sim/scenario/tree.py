"""Hold a validated scenario as a frozen tree of sections, each described by one ``Section`` row.

How this works: a scenario file is a mapping of a few top-level fields
(``name``, ``description``) and sections (``cluster``, ``network``,
``nodes``, ``expect``...). Each section is one ``Section``: its key, how it
is parsed (a kind from ``sim.scenario.records``), its default, what it adds
to the engine's ``EngineConfig`` (``engine``) and the checks that need the
rest of the scenario (``check``, run once every section has parsed: a
firewall rule's source group must be a node group, say) and the network
groups it adds (``groups``: node groups, attackers). The table of
sections lives in ``sim.scenario.schema``; adding a section is one module
and one row there. ``Scenario.get(SECTION)`` returns a section's value with
its type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Iterable, Mapping, TypeVar

from sim.scenario.kinds import Kind
from sim.scenario.problems import Problem

__all__ = ["Scenario", "Section"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class Section(Generic[T]):
    """Describe one section of a scenario file (module docstring)."""

    key: str
    kind: Kind
    default: T
    doc: str
    required: bool = False
    """The file must have this section (its ``default`` is then unused)."""
    engine: Callable[[T, "Scenario"], Mapping[str, Any]] | None = None
    """Return the ``EngineConfig`` fields this section sets (each field is set by one section only)."""
    check: Callable[[T, "Scenario"], Iterable[Problem]] | None = None
    """Return problems that need other sections to see (paths from the document's top)."""
    groups: Callable[[T], Iterable[str]] | None = None
    """Return the network groups this section adds (node groups, attackers), for sections that name groups."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    """Hold one validated scenario: its name, one-line description, source file and every section's value."""

    name: str
    description: str
    source: str
    """The file it came from (its base name), for messages and result files."""
    sections: Mapping[str, Any] = field(default_factory=dict)
    table: tuple[Section[Any], ...] = ()
    """The sections, in order (``sim.scenario.schema.SECTIONS``)."""

    def groups(self) -> list[str]:
        """Return every network group, as the sections add them (the control plane's, node groups, attackers)."""
        out: list[str] = []
        for section in self.table:
            if section.groups is not None:
                out += section.groups(self.get(section))
        return out

    def get(self, section: Section[T]) -> T:
        """Return the value of one section (its default if the file left it out)."""
        value: T = self.sections[section.key]
        return value
