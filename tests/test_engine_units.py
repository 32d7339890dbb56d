"""Check duration and rate parsing against Go's time.ParseDuration table (go/src/time/time_test.go)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.engine.units import UNITS_NS, parse_duration, parse_rate
from sim.protocol.poll import go_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        # upstream parseDurationTests
        pytest.param("0", 0.0, id="valid: bare zero"),
        pytest.param("5s", 5.0, id="valid: seconds"),
        pytest.param("30s", 30.0, id="valid: two digits"),
        pytest.param("1478s", 1478.0, id="valid: many digits"),
        pytest.param("-5s", -5.0, id="valid: minus sign"),
        pytest.param("+5s", 5.0, id="valid: plus sign"),
        pytest.param("-0", 0.0, id="valid: negative zero"),
        pytest.param("+0", 0.0, id="valid: positive zero"),
        pytest.param("5.0s", 5.0, id="valid: decimal"),
        pytest.param("5.6s", 5.6, id="valid: fraction"),
        pytest.param("5.s", 5.0, id="valid: trailing dot"),
        pytest.param(".5s", 0.5, id="valid: leading dot"),
        pytest.param("1.004s", 1.004, id="valid: milliseconds in fraction"),
        pytest.param("100.00100s", 100.001, id="valid: trailing zeros"),
        pytest.param("10ns", 10e-9, id="valid: nanoseconds"),
        pytest.param("11us", 11e-6, id="valid: microseconds us"),
        pytest.param("12\u00b5s", 12e-6, id="valid: microseconds micro sign"),
        pytest.param("12\u03bcs", 12e-6, id="valid: microseconds greek mu"),
        pytest.param("13ms", 13e-3, id="valid: milliseconds"),
        pytest.param("15m", 900.0, id="valid: minutes"),
        pytest.param("16h", 57600.0, id="valid: hours"),
        pytest.param("3h30m", 12600.0, id="valid: hours and minutes"),
        pytest.param("10.5s4m", 250.5, id="valid: units in any order"),
        pytest.param("-2m3.4s", -123.4, id="valid: negative compound"),
        pytest.param("1h2m3s4ms5us6ns", 3723.004005006, id="valid: every unit"),
        pytest.param("39h9m14.425s", 39 * 3600 + 9 * 60 + 14.425, id="valid: large compound"),
        pytest.param("52763797000ns", 52.763797, id="valid: many nanoseconds"),
        pytest.param("0.3333333333333333333h", 1200.0, id="valid: long fraction truncates to ns"),
        pytest.param("9223372036854775807ns", 9223372036.854775807, id="valid: largest duration"),
        pytest.param("-9223372036854775808ns", -9223372036.854775808, id="valid: smallest duration"),
        # ours: the forms scenarios use
        pytest.param("250ms", 0.25, id="valid: 250ms"),
        pytest.param("5m", 300.0, id="valid: kubeadm discovery timeout"),
        pytest.param("1h30m", 5400.0, id="valid: 1h30m"),
    ],
)
def test_parse_duration_valid(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("", 'time: invalid duration ""', id="invalid: empty"),
        pytest.param("3", 'time: missing unit in duration "3"', id="invalid: no unit"),
        pytest.param("-", 'time: invalid duration "-"', id="invalid: sign only"),
        pytest.param("s", 'time: invalid duration "s"', id="invalid: unit only"),
        pytest.param(".", 'time: invalid duration "."', id="invalid: dot only"),
        pytest.param("-.", 'time: invalid duration "-."', id="invalid: sign and dot"),
        pytest.param(".s", 'time: invalid duration ".s"', id="invalid: dot and unit"),
        pytest.param("+.s", 'time: invalid duration "+.s"', id="invalid: sign dot unit"),
        pytest.param("1d", 'time: unknown unit "d" in duration "1d"', id="invalid: days"),
        pytest.param("1ms2", 'time: missing unit in duration "1ms2"', id="invalid: trailing number"),
        pytest.param("5 s", 'time: unknown unit " s" in duration "5 s"', id="invalid: space before unit"),
        pytest.param("9223372036854775808ns", 'time: invalid duration "9223372036854775808ns"',
                     id="invalid: overflow by one"),
        pytest.param("3000000h", 'time: invalid duration "3000000h"', id="invalid: overflow in hours"),
        pytest.param(10, 'a duration must be a string with a unit, such as "10s" or "250ms", not 10',
                     id="invalid: a number"),
    ],
)
def test_parse_duration_invalid(text: str, message: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_duration(text)
    assert str(err.value) == message


@given(st.integers(min_value=0, max_value=10**6), st.sampled_from(sorted(UNITS_NS)))
def test_parse_duration_scales_each_unit(number: int, unit: str) -> None:
    assert parse_duration(f"{number}{unit}") == pytest.approx(number * UNITS_NS[unit] / 1e9)


@given(st.integers(min_value=0, max_value=10**15))
def test_parse_duration_reads_what_go_duration_writes(nanos: int) -> None:
    assert parse_duration(go_duration(nanos / 1e9)) == pytest.approx(nanos / 1e9, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize(
    ("text", "per_second"),
    [
        pytest.param("10/s", 10.0, id="valid: per second"),
        pytest.param("600/m", 10.0, id="valid: per minute"),
        pytest.param("36000/h", 10.0, id="valid: per hour"),
        pytest.param("5/100ms", 50.0, id="valid: per duration"),
        pytest.param("2.5/s", 2.5, id="valid: fractional count"),
        pytest.param(".5/s", 0.5, id="valid: leading-dot count"),
        pytest.param(" 10 / s ", 10.0, id="valid: spaces around parts"),
        pytest.param("0/s", 0.0, id="valid: zero"),
        pytest.param("1/1h30m", 1 / 5400, id="valid: compound period"),
        pytest.param("1/\u00b5s", 1e6, id="valid: per microsecond"),
    ],
)
def test_parse_rate_valid(text: str, per_second: float) -> None:
    assert parse_rate(text) == pytest.approx(per_second)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("10", 'invalid rate "10": want <count>/<period>, such as "10/s" or "600/m"',
                     id="invalid: no slash"),
        pytest.param("x/s", 'invalid rate "x/s": the count "x" is not a non-negative number', id="invalid: count"),
        pytest.param("-1/s", 'invalid rate "-1/s": the count "-1" is not a non-negative number',
                     id="invalid: negative count"),
        pytest.param("10/", 'invalid rate "10/": time: invalid duration ""', id="invalid: no period"),
        pytest.param("10/d", 'invalid rate "10/d": time: unknown unit "d" in duration "1d"', id="invalid: days"),
        pytest.param("10/0s", 'invalid rate "10/0s": the period must be positive', id="invalid: zero period"),
        pytest.param("10/-1s", 'invalid rate "10/-1s": the period must be positive', id="invalid: negative period"),
        pytest.param("10/s/s", 'invalid rate "10/s/s": time: unknown unit "s/s" in duration "1s/s"',
                     id="invalid: two slashes"),
        pytest.param(10, 'a rate must be a string such as "10/s" or "600/m", not 10', id="invalid: a number"),
    ],
)
def test_parse_rate_invalid(text: str, message: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_rate(text)
    assert str(err.value) == message
