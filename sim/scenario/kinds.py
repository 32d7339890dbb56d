"""Parse and print the scalar values a scenario is written in: counts, numbers, names, durations, rates.

Each kind turns what YAML gave into a checked Python value (``parse``),
recording a problem and returning ``INVALID`` when it cannot, and turns the
value back into the scenario's own spelling (``dump``), so a result file
records the resolved scenario in the form its author would write. Durations
and rates use the engine's parsers (Go's ``time.ParseDuration`` rules and
texts); latencies use the engine's latency specs. Composite kinds (records,
lists, maps, one-of) live in ``sim.scenario.records``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

from sim.engine.latency import parse_latency
from sim.engine.network import split_endpoint
from sim.engine.units import parse_duration, parse_rate
from sim.protocol.poll import go_duration
from sim.scenario.problems import INVALID, Path, Problem, got

__all__ = [
    "Choice", "Duration", "Endpoint", "Flag", "Integer", "Kind", "Latency", "Number", "Rate", "Text", "format_rate",
]


class Kind(Protocol):
    """Turn one raw YAML value into a checked value, and back."""

    def parse(self, raw: object, path: Path, problems: list[Problem]) -> Any:
        """Return the checked value, or record problems and return ``INVALID``."""
        ...

    def dump(self, value: Any) -> object:
        """Return the value as the scenario would spell it (plain YAML/JSON data)."""
        ...


def _fail(problems: list[Problem], path: Path, message: str) -> Any:
    problems.append(Problem(path=path, message=message))
    return INVALID


@dataclass(frozen=True, slots=True)
class Integer:
    """Accept a whole number at or above ``minimum`` (YAML ``3``, not ``3.0`` nor ``"3"``)."""

    minimum: int = 0
    maximum: int | None = None

    def parse(self, raw: object, path: Path, problems: list[Problem]) -> Any:
        """Return the integer, or record why it is not acceptable."""
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < self.minimum:
            return _fail(problems, path, f"must be {self.want()} {got(raw)}")
        if self.maximum is not None and raw > self.maximum:
            return _fail(problems, path, f"must be at most {self.maximum:,} {got(raw)}")
        return raw

    def want(self) -> str:
        """Name what is accepted, for messages."""
        return {0: "a non-negative integer", 1: "a positive integer"}.get(
            self.minimum, f"an integer of at least {self.minimum}")

    def dump(self, value: Any) -> object:
        """Return the integer."""
        return value


@dataclass(frozen=True, slots=True)
class Number:
    """Accept a finite number in [``minimum``, ``below``) (or (``minimum``, ``below``) when ``open_low``)."""

    minimum: float = 0.0
    below: float = math.inf
    open_low: bool = False

    def parse(self, raw: object, path: Path, problems: list[Problem]) -> Any:
        """Return the number as a float, or record why it is not acceptable."""
        ok = isinstance(raw, (int, float)) and not isinstance(raw, bool) and math.isfinite(raw)
        if ok:
            value = float(raw)  # type: ignore[arg-type]
            ok = (value > self.minimum if self.open_low else value >= self.minimum) and value < self.below
        if not ok:
            low = f"above {self.minimum:g}" if self.open_low else f"at least {self.minimum:g}"
            high = "" if math.isinf(self.below) else f" and below {self.below:g}"
            return _fail(problems, path, f"must be a number {low}{high} {got(raw)}")
        return float(raw)  # type: ignore[arg-type]

    def dump(self, value: Any) -> object:
        """Return the number."""
        return value


@dataclass(frozen=True, slots=True)
class Text:
    """Accept a non-empty string (or any string when ``empty``)."""

    empty: bool = False

    def parse(self, raw: object, path: Path, problems: list[Problem]) -> Any:
        """Return the string, or record why it is not acceptable."""
        if not isinstance(raw, str) or not (raw or self.empty):
            return _fail(problems, path, f"must be a non-empty string {got(raw)}")
        return raw

    def dump(self, value: Any) -> object:
        """Return the string."""
        return value


@dataclass(frozen=True, slots=True)
class Choice:
    """Accept one of ``options`` (a number YAML read from an unquoted ``1.22`` counts if it spells an option)."""

    options: tuple[str, ...]

    def parse(self, raw: object, path: Path, problems: list[Problem]) -> Any:
        """Return the chosen option, or record the options."""
        text = str(raw) if isinstance(raw, (int, float)) and not isinstance(raw, bool) else raw
        if not isinstance(text, str) or text not in self.options:
            return _fail(problems, path, "must be one of: " + ", ".join(self.options) + f" {got(raw)}")
        return text

    def dump(self, value: Any) -> object:
        """Return the option."""
        return value


@dataclass(frozen=True, slots=True)
class Flag:
    """Accept ``true`` or ``false``."""

    def parse(self, raw: object, path: Path, problems: list[Problem]) -> Any:
        """Return the boolean, or record that it is not one."""
        if not isinstance(raw, bool):
            return _fail(problems, path, f"must be true or false {got(raw)}")
        return raw

    def dump(self, value: Any) -> object:
        """Return the boolean."""
        return value


@dataclass(frozen=True, slots=True)
class Duration:
    """Accept a Go duration string (``250ms``, ``5m``); ``never`` when ``never`` is given (its value stands in)."""

    minimum: float = 0.0
    negative: bool = False
    never: object = INVALID

    def parse(self, raw: object, path: Path, problems: list[Problem]) -> Any:
        """Return seconds (a float), the ``never`` value, or record Go's parse error."""
        if raw == "never" and self.never is not INVALID:
            return self.never
        if raw == 0 and not isinstance(raw, bool):
            raw = "0"
        if not isinstance(raw, str):
            hint = ' or "never"' if self.never is not INVALID else ""
            return _fail(problems, path, f'must be a duration with a unit, such as "10s" or "250ms"{hint} {got(raw)}')
        try:
            seconds = parse_duration(raw)
        except ValueError as err:
            return _fail(problems, path, str(err))
        if not self.negative and seconds < self.minimum:
            limit = "must not be negative" if self.minimum == 0 else f"must be at least {go_duration(self.minimum)}"
            return _fail(problems, path, f"{limit} {got(raw)}")
        return seconds

    def dump(self, value: Any) -> object:
        """Return Go's spelling (``5m0s``), or ``never``."""
        if self.never is not INVALID and value == self.never:
            return "never"
        return go_duration(value)


def format_rate(per_second: float) -> str:
    """Return ``10/s`` for 10.0 events a second (``0.5/s`` for half)."""
    return f"{per_second:g}/s"


@dataclass(frozen=True, slots=True)
class Rate:
    """Accept ``<count>/<period>`` (``10/s``, ``600/m``); the value is events a second, above ``minimum``."""

    minimum: float = 0.0

    def parse(self, raw: object, path: Path, problems: list[Problem]) -> Any:
        """Return events a second, or record the parse error."""
        try:
            rate = parse_rate(raw)  # type: ignore[arg-type]
        except ValueError as err:
            return _fail(problems, path, str(err))
        if not rate > self.minimum:
            return _fail(problems, path, f"must be a rate above {format_rate(self.minimum)} {got(raw)}")
        return rate

    def dump(self, value: Any) -> object:
        """Return ``<n>/s``."""
        return format_rate(value)


@dataclass(frozen=True, slots=True)
class Latency:
    """Accept a latency spec (``2ms``, ``{uniform: [1ms, 5ms]}``, ``{lognormal: {median, p99}}``)."""

    def parse(self, raw: object, path: Path, problems: list[Problem]) -> Any:
        """Return the engine's latency model, or record the engine's message."""
        try:
            return parse_latency(raw)  # type: ignore[arg-type]
        except ValueError as err:
            return _fail(problems, path, str(err))
        except TypeError:
            return _fail(problems, path, f"must be a latency such as \"2ms\" {got(raw)}")

    def dump(self, value: Any) -> object:
        """Return the spec form."""
        return value.spec()


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Accept ``host:port`` (``[v6]:port`` for IPv6)."""

    def parse(self, raw: object, path: Path, problems: list[Problem]) -> Any:
        """Return the endpoint string, or record why it is malformed."""
        if not isinstance(raw, str):
            return _fail(problems, path, f"must be host:port {got(raw)}")
        try:
            split_endpoint(raw)
        except ValueError as err:
            return _fail(problems, path, str(err))
        return raw

    def dump(self, value: Any) -> object:
        """Return the endpoint."""
        return value
