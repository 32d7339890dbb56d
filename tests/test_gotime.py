"""Check Go's time.Parse(time.RFC3339) against its accepted forms and exact error texts (time/format.go)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from sim.protocol.gotime import parse_rfc3339

UTC = timezone.utc
# Upstream utils_test.go refTime.
REF_TIME = datetime(1970, 1, 1, 1, 1, 1, tzinfo=UTC)
NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
LAYOUT = '"2006-01-02T15:04:05Z07:00"'


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("1970-01-01T01:01:01Z", REF_TIME, id="valid: utc"),
        pytest.param("2024-05-01T20:00:00+08:00", NOW, id="valid: positive offset"),
        pytest.param("2024-05-01T07:30:00-04:30", NOW, id="valid: negative offset"),
        pytest.param("2024-05-01T12:00:00.5Z", NOW + timedelta(milliseconds=500), id="valid: fraction"),
        pytest.param("2024-05-01T12:00:00,25Z", NOW + timedelta(milliseconds=250), id="valid: comma fraction (Go)"),
        pytest.param("2024-05-01T12:00:00.1234567891Z", NOW + timedelta(microseconds=123456),
                     id="valid: fraction beyond nanoseconds is truncated"),
        pytest.param("2024-02-29T00:00:00Z", datetime(2024, 2, 29, tzinfo=UTC), id="valid: leap day"),
    ],
)
def test_parse_rfc3339_valid(value: str, expected: datetime) -> None:
    assert parse_rfc3339(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param("invalid date", f'as {LAYOUT}: cannot parse "invalid date" as "2006"', id="invalid: words"),
        pytest.param("2024-05-01", f'as {LAYOUT}: cannot parse "" as "T"', id="invalid: date only"),
        pytest.param("2024-05-01T12:00:00", f'as {LAYOUT}: cannot parse "" as "Z07:00"', id="invalid: no zone"),
        pytest.param("2024-05-01t12:00:00Z", f'as {LAYOUT}: cannot parse "t12:00:00Z" as "T"', id="invalid: lower t"),
        pytest.param("2024-5-01T12:00:00Z", f'as {LAYOUT}: cannot parse "5-01T12:00:00Z" as "01"',
                     id="invalid: one-digit month"),
        pytest.param("2024-05-01T12:00:00+0800", f'as {LAYOUT}: cannot parse "+0800" as "Z07:00"',
                     id="invalid: offset without colon"),
        pytest.param("2024-13-01T12:00:00Z", ": month out of range", id="invalid: month 13"),
        pytest.param("2023-02-29T12:00:00Z", ": day out of range", id="invalid: not a leap year"),
        pytest.param("2024-05-01T24:00:00Z", ": hour out of range", id="invalid: hour 24"),
        pytest.param("2024-05-01T12:00:60Z", ": second out of range", id="invalid: leap second"),
        pytest.param("2024-05-01T12:00:00+25:00", ": time zone offset hour out of range", id="invalid: offset hour"),
        pytest.param("2024-05-01T12:00:00Z ", ': extra text: " "', id="invalid: trailing space"),
    ],
)
def test_parse_rfc3339_errors(value: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_rfc3339(value)
    assert str(info.value) == f'parsing time "{value}" {message}'.replace('" :', '":')
