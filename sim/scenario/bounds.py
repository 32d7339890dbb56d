"""Parse and check the bounds an ``expect`` block states: ``3``, ``all``, ``>= 5``, ``< 2s``, ``1s..3s``, ``>= 10/s``.

A bound is a comparison (``==``, ``>=``, ``<=``, ``>``, ``<``) with one
value, or an inclusive range ``low..high``. Values carry a unit: node
counts (a bare integer means ``==``; ``all`` means every node the check is
about), durations (Go's spelling) or rates (``10/s``). ``text`` prints the
bound back in the same spelling, for result files and for the line that
says what was expected when a check fails.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Final

from sim.engine.units import parse_duration, parse_rate
from sim.protocol.poll import go_duration
from sim.scenario.kinds import format_rate
from sim.scenario.problems import INVALID, Path, Problem, got

__all__ = ["COUNT", "DURATION", "RATE", "Bound", "BoundKind", "Unit"]

_FORM: Final = re.compile(r"\s*(==|>=|<=|>|<)?\s*(.+?)\s*")
_RANGE: Final = re.compile(r"\s*(.+?)\s*\.\.\s*(.+?)\s*")


@dataclass(frozen=True, slots=True)
class Unit:
    """Say how a bound's values are read and written."""

    name: str
    read: Callable[[str], float]
    write: Callable[[float], str]
    example: str


def _count(text: str) -> float:
    if not text.isdigit():
        raise ValueError(f"{text!r} is not a non-negative integer")
    return float(int(text))


COUNT: Final = Unit("count", _count, lambda v: str(int(v)), "3, all, >= 5 or 1..4")
DURATION: Final = Unit("duration", parse_duration, go_duration, '"< 2s", ">= 4m50s" or "1s..3s"')
RATE: Final = Unit("rate", parse_rate, format_rate, '">= 10/s" or "5/s..20/s"')


@dataclass(frozen=True, slots=True, kw_only=True)
class Bound:
    """Hold one bound: ``op`` with ``value`` (``value`` None with ``all``), or ``op == ".."`` with ``low..value``."""

    op: str
    value: float | None
    unit: Unit
    low: float = 0.0

    def holds(self, actual: float, every: float = 0.0) -> bool:
        """Tell whether ``actual`` satisfies the bound (``every`` is what ``all`` stands for)."""
        value = every if self.value is None else self.value
        return {"==": actual == value, ">=": actual >= value, "<=": actual <= value, ">": actual > value,
                "<": actual < value, "..": self.low <= actual <= value}[self.op]

    def text(self) -> str:
        """Return the bound as a scenario spells it."""
        if self.value is None:
            return "all"
        if self.op == "..":
            return f"{self.unit.write(self.low)}..{self.unit.write(self.value)}"
        if self.op == "==" and self.unit is COUNT:
            return self.unit.write(self.value)
        return f"{self.op} {self.unit.write(self.value)}"


@dataclass(frozen=True, slots=True)
class BoundKind:
    """Parse a bound of one unit; ``null`` (not checked) parses to ``None``."""

    unit: Unit

    def parse(self, raw: object, path: Path, problems: list[Problem]) -> Any:
        """Return a ``Bound`` or ``None``, or record why the text is not a bound."""
        if raw is None:
            return None
        if self.unit is COUNT and isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
            return Bound(op="==", value=float(raw), unit=COUNT)
        if self.unit is COUNT and raw == "all":
            return Bound(op="==", value=None, unit=COUNT)
        try:
            if not isinstance(raw, str):
                raise ValueError("not a string")
            return self._parse_text(raw)
        except ValueError as err:
            problems.append(Problem(path=path, message=f"must be a {self.unit.name} bound such as "
                                    f"{self.unit.example} ({err}) {got(raw)}"))
            return INVALID

    def _parse_text(self, raw: str) -> Bound:
        span = _RANGE.fullmatch(raw)
        if span:
            low, high = self.unit.read(span.group(1)), self.unit.read(span.group(2))
            if high < low:
                raise ValueError("the range ends below its start")
            return Bound(op="..", low=low, value=high, unit=self.unit)
        form = _FORM.fullmatch(raw)
        if form is None:
            raise ValueError("it is empty")
        op = form.group(1) or ("==" if self.unit is COUNT else "")
        if not op:
            raise ValueError("a comparison (<, <=, >, >=) or a range is needed")
        return Bound(op=op, value=self.unit.read(form.group(2)), unit=self.unit)

    def dump(self, value: Any) -> object:
        """Return the bound's text (an integer for an exact count), or ``None``."""
        if value is None:
            return None
        if value.op == "==" and value.value is not None and self.unit is COUNT:
            return int(value.value)
        return str(value.text())
