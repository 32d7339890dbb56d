"""Parse nested scenario data into frozen dataclasses, checking every field and filling every default.

How this works: a scenario's records are frozen dataclasses whose fields are
declared with ``option(kind, doc, default)``; ``Record(cls)`` reads those
declarations, so each record is described once, by its own class. Parsing a
mapping reports unknown keys (with a did-you-mean), missing required
fields and every bad value, and goes on after a problem, so one pass finds
them all. A record class may define ``resolved()`` (fill a default that
depends on other fields), ``problems()`` (checks across its fields, as
``(field, message)`` pairs) and ``build()`` (make the engine's object; a
ValueError it raises is reported with the engine's own message). ``ListOf``, ``MapOf`` and ``OneOf`` compose
kinds; every kind can ``dump`` its value back to the scenario's spelling.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

from sim.scenario.kinds import Kind
from sim.scenario.problems import INVALID, Path, Problem, did_you_mean, got

__all__ = ["ListOf", "MapOf", "Maybe", "OneOf", "Record", "doc_of", "kind_of", "option", "options_of"]


def option(kind: Kind, doc: str, default: Any = dataclasses.MISSING) -> Any:
    """Declare a record field: how it is parsed, what it means, its default (none: required)."""
    return dataclasses.field(default=default, metadata={"kind": kind, "doc": doc})


def options_of(cls: type) -> tuple[dataclasses.Field[Any], ...]:
    """Return the fields of a record class that were declared with ``option``."""
    return tuple(f for f in dataclasses.fields(cls) if "kind" in f.metadata)


def kind_of(f: dataclasses.Field[Any]) -> Kind:
    """Return how a declared field is parsed."""
    kind: Kind = f.metadata["kind"]
    return kind


def doc_of(f: dataclasses.Field[Any]) -> str:
    """Return what a declared field means."""
    return str(f.metadata["doc"])


@dataclass(frozen=True, slots=True)
class Record:
    """Parse a mapping into the dataclass ``cls`` (module docstring)."""

    cls: type

    def parse(self, raw: object, path: Path, problems: list[Problem]) -> Any:
        """Return an instance of ``cls``, or record every problem and return ``INVALID``."""
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            problems.append(Problem(path=path, message=f"must be a mapping of fields {got(raw)}"))
            return INVALID
        declared = options_of(self.cls)
        names = [f.name for f in declared]
        ok = True
        for key in raw:
            if key not in names:
                problems.append(Problem(path=(*path, str(key)), message=did_you_mean(str(key), names)))
                ok = False
        values: dict[str, Any] = {}
        for f in declared:
            if f.name in raw:
                values[f.name] = kind_of(f).parse(raw[f.name], (*path, f.name), problems)
            elif f.default is not dataclasses.MISSING:
                values[f.name] = f.default
            else:
                problems.append(Problem(path=(*path, f.name), message="is required"))
                values[f.name] = INVALID
            ok = ok and values[f.name] is not INVALID
        if not ok:
            return INVALID
        try:
            value = self.cls(**values)
        except ValueError as err:  # a dataclass's own __post_init__ check
            problems.append(Problem(path=path, message=str(err)))
            return INVALID
        resolved = getattr(value, "resolved", None)
        if resolved is not None:
            value = resolved()
        checks = getattr(value, "problems", None)
        found = [Problem(path=(*path, key) if key else path, message=message) for key, message in (
            checks() if checks is not None else ())]
        build = getattr(value, "build", None)
        if not found and build is not None:
            try:
                build()
            except ValueError as err:  # what the engine's own object refuses, in its words
                found.append(Problem(path=path, message=str(err)))
        problems.extend(found)
        return INVALID if found else value

    def dump(self, value: Any) -> object:
        """Return every field, defaults included, in the scenario's spelling."""
        return {f.name: kind_of(f).dump(getattr(value, f.name)) for f in options_of(self.cls)}


@dataclass(frozen=True, slots=True)
class ListOf:
    """Parse a list whose items are all of one kind, into a tuple."""

    item: Kind
    min_items: int = 0

    def parse(self, raw: object, path: Path, problems: list[Problem]) -> Any:
        """Return a tuple of items, or record every problem."""
        if raw is None:
            raw = []
        if not isinstance(raw, list):
            problems.append(Problem(path=path, message=f"must be a list {got(raw)}"))
            return INVALID
        if len(raw) < self.min_items:
            problems.append(Problem(path=path, message=f"must have at least {self.min_items} item(s)"))
            return INVALID
        items = [self.item.parse(value, (*path, index), problems) for index, value in enumerate(raw)]
        return INVALID if any(item is INVALID for item in items) else tuple(items)

    def dump(self, value: Any) -> object:
        """Return a list."""
        return [self.item.dump(item) for item in value]


@dataclass(frozen=True, slots=True)
class MapOf:
    """Parse a mapping with keys of one kind and values of another, into a tuple of pairs in written order."""

    key: Kind
    value: Kind

    def parse(self, raw: object, path: Path, problems: list[Problem]) -> Any:
        """Return ``((key, value), ...)``, or record every problem."""
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            problems.append(Problem(path=path, message=f"must be a mapping {got(raw)}"))
            return INVALID
        pairs = [(self.key.parse(k, (*path, str(k)), problems), self.value.parse(v, (*path, str(k)), problems))
                 for k, v in raw.items()]
        return INVALID if any(INVALID in pair for pair in pairs) else tuple(pairs)

    def dump(self, value: Any) -> object:
        """Return a mapping."""
        return {self.key.dump(k): self.value.dump(v) for k, v in value}


@dataclass(frozen=True, slots=True)
class OneOf:
    """Parse a mapping with exactly one key naming a variant (``{uniform: {window: 10s}}``), or a bare name."""

    variants: Mapping[str, Record]
    bare: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    """Plain strings that stand for a whole value (``all_at_once``)."""

    def parse(self, raw: object, path: Path, problems: list[Problem]) -> Any:
        """Return the chosen variant's value, or record why none fits."""
        if isinstance(raw, str) and raw in self.bare:
            return self.bare[raw]
        if isinstance(raw, dict) and len(raw) == 1:
            ((key, body),) = raw.items()
            if key in self.variants:
                return self.variants[key].parse(body, (*path, key), problems)
            problems.append(Problem(path=(*path, str(key)), message=did_you_mean(str(key), self.variants)))
            return INVALID
        problems.append(Problem(path=path, message="must be a mapping with exactly one of: " + ", ".join(
            self.variants) + f" {got(raw)}"))
        return INVALID

    def variant_of(self, value: Any) -> str:
        """Return the name of the variant a value is."""
        for key, record in self.variants.items():
            if type(value) is record.cls:
                return key
        raise TypeError(f"{value!r} is none of the variants {', '.join(self.variants)}")

    def dump(self, value: Any) -> object:
        """Return ``{variant: fields}``."""
        key = self.variant_of(value)
        return {key: self.variants[key].dump(value)}


@dataclass(frozen=True, slots=True)
class Maybe:
    """Parse a value of one kind, or ``null`` for "not set" (``None``)."""

    kind: Kind

    def parse(self, raw: object, path: Path, problems: list[Problem]) -> Any:
        """Return ``None`` for null, else the kind's value."""
        return None if raw is None else self.kind.parse(raw, path, problems)

    def dump(self, value: Any) -> object:
        """Return null for ``None``, else the kind's spelling."""
        return None if value is None else self.kind.dump(value)
