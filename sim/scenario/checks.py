"""Check a run's records against the scenario's ``expect`` block, saying what was expected and what happened.

Each statement of the block becomes one ``CheckRecord``: the path where it
is written (``expect.outcomes.w.joined``), the expectation as written (with
what ``all`` stood for), what the run produced, and whether it held. The
statistics are the report's own (``sim.report.metrics``), so a table and a
check never disagree.
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

from sim.report.metrics import percentile, throughput
from sim.report.record import CheckRecord, NodeRecord, ResultFile, fail_time, join_time, outcome
from sim.scenario.bounds import Bound
from sim.scenario.invariants import INVARIANTS
from sim.scenario.kinds import format_rate
from sim.scenario.sections.expect import ALL_GROUPS, ExpectSpec, TimeBounds
from sim.protocol.poll import go_duration

__all__ = ["check_expectations", "statistic"]


def _members(result: ResultFile, group: str) -> list[NodeRecord]:
    return [n for n in result.nodes if group == ALL_GROUPS or n.group == group]


def _expected(bound: Bound, every: int) -> str:
    return f"all ({every})" if bound.value is None else bound.text()


def statistic(name: str, values: Sequence[float]) -> float:
    """Return ``min``, ``max``, ``mean`` or ``pNN`` of the values (NaN for none)."""
    if not values:
        return math.nan
    if name == "min":
        return min(values)
    if name == "max":
        return max(values)
    if name == "mean":
        return sum(values) / len(values)
    return percentile(values, float(name[1:]))


def _outcomes(spec: ExpectSpec, result: ResultFile) -> Iterable[CheckRecord]:
    for group, counts in spec.outcomes:
        members = _members(result, group)
        for kind in ("joined", "failed", "unfinished"):
            bound: Bound | None = getattr(counts, kind)
            if bound is None:
                continue
            actual = sum(outcome(n) == kind for n in members)
            yield CheckRecord(path=f"expect.outcomes.{group}.{kind}", expected=_expected(bound, len(members)),
                              actual=str(actual), ok=bound.holds(actual, len(members)))


def _errors(spec: ExpectSpec, result: ResultFile) -> Iterable[CheckRecord]:
    for index, error in enumerate(spec.errors):
        members = _members(result, error.group)
        if error.joins == "last":
            texts = [n.error for n in members if outcome(n) == "failed"]
        else:
            texts = [j.error for n in members for j in (n.joins or ()) if j.ended is not None and not j.joined]
        matching = sum(error.contains in text for text in texts)
        ok = error.count.holds(matching, len(texts)) and (error.count.value is not None or matching > 0)
        others = sorted({text for text in texts if error.contains not in text})
        what = "failed nodes" if error.joins == "last" else "failed joins"
        actual = f"{matching} of {len(texts)} {what}" + (f"; another error: {others[0]}" if others else "")
        yield CheckRecord(path=f"expect.errors[{index}]", ok=ok, actual=actual,
                          expected=f"{_expected(error.count, len(texts))} {what} of {error.group} print an "
                                   f"error containing {error.contains!r}")


def _attackers(spec: ExpectSpec, result: ResultFile) -> Iterable[CheckRecord]:
    found = {a.name: a for a in result.attackers}
    for name, want in spec.attackers:
        got = found.get(name)
        pin = got.ca_pin if got is not None else ""
        trusting = sum(bool(pin) and n.trusted_ca_pin == pin for n in result.nodes)
        for field in ("intercepted", "victims", "csrs_created", "csrs_failed", "identities", "trusted_by"):
            bound: Bound | None = getattr(want, field)
            if bound is not None:
                value = trusting if field == "trusted_by" else getattr(got, field, 0) if got is not None else 0
                actual = len(value) if isinstance(value, tuple) else int(value)
                yield CheckRecord(path=f"expect.attackers.{name}.{field}", expected=bound.text(), actual=str(actual),
                                  ok=bound.holds(actual))
        if want.node_registered is not None:
            registered = bool(got and got.node_registered)
            yield CheckRecord(path=f"expect.attackers.{name}.node_registered", ok=registered == want.node_registered,
                              expected=str(want.node_registered).lower(), actual=str(registered).lower())
        if want.error_contains is not None:
            error = got.error if got is not None else ""
            yield CheckRecord(path=f"expect.attackers.{name}.error_contains", expected=repr(want.error_contains),
                              actual=repr(error), ok=want.error_contains in error)


def _times(key: str, bounds: TimeBounds, result: ResultFile) -> Iterable[CheckRecord]:
    for group, stats in bounds:
        members = _members(result, group)
        values = [t for t in ((join_time(n) if key == "join_time" else fail_time(n)) for n in members) if t is not None]
        for stat, bound in stats:
            value = statistic(stat, values)
            ok = not math.isnan(value) and bound.holds(value)
            actual = go_duration(round(value, 6)) if not math.isnan(value) else "no node to measure"
            yield CheckRecord(path=f"expect.{key}.{group}.{stat}", expected=bound.text(), actual=actual, ok=ok)


def check_expectations(spec: ExpectSpec, result: ResultFile) -> tuple[CheckRecord, ...]:
    """Return one check per statement of the ``expect`` block (module docstring)."""
    checks = [*_outcomes(spec, result), *_errors(spec, result), *_times("join_time", spec.join_time, result),
              *_times("failure_time", spec.failure_time, result), *_attackers(spec, result)]
    if spec.throughput is not None:
        rate = throughput(result.nodes)
        checks.append(CheckRecord(path="expect.throughput", expected=spec.throughput.text(), actual=format_rate(rate),
                                  ok=spec.throughput.holds(rate)))
    for name in spec.invariants:
        invariant = INVARIANTS[name]
        broken = invariant.violators(result)
        actual = "held" if not broken else f"broken by {len(broken)} node(s): " + ", ".join(broken[:5]) + (
            ", ..." if len(broken) > 5 else "")
        checks.append(CheckRecord(path=f"expect.invariants.{name}", expected=invariant.sentence, actual=actual,
                                  ok=not broken))
    return tuple(checks)
