"""Parse and format RFC 3339 times exactly as Go's time package does, error texts included.

Why: kubeadm and the cluster store expirations and timestamps with
``Time.Format(time.RFC3339)`` and read them back with ``time.Parse``; the
texts of its errors reach users (``token list``, authenticator logs), and Go
accepts a few inputs strict RFC 3339 rejects. Upstream: time/format.go.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

__all__ = ["RFC3339_LAYOUT", "format_rfc3339", "parse_rfc3339"]

# Go's time.RFC3339 layout, as printed in time.Parse errors (time/format.go).
RFC3339_LAYOUT = "2006-01-02T15:04:05Z07:00"


def _go_time_quote(s: str) -> str:
    """Quote as Go's time package does: non-ASCII and control bytes become ``\\xNN``."""
    out: list[str] = []
    for ch in s:
        if ord(ch) >= 0x80 or ch < " ":
            out.extend(f"\\x{b:02x}" for b in ch.encode("utf-8", "surrogatepass"))
        else:
            out.append("\\" + ch if ch in '"\\' else ch)
    return '"' + "".join(out) + '"'


def _num(s: str, fixed: bool) -> tuple[int, str] | None:
    """Read one or (if ``fixed``) exactly two leading digits, as Go's getnum."""
    if s[:1] not in tuple("0123456789"):
        return None
    if s[1:2] not in tuple("0123456789"):
        return None if fixed else (int(s[0]), s[1:])
    return int(s[:2]), s[2:]


def _days_in(month: int, year: int) -> int:
    """Return the days in a month, with Go's proleptic leap rule (year 0 is leap)."""
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def parse_rfc3339(value: str) -> datetime:
    """Parse ``value`` as Go's ``time.Parse(time.RFC3339, ...)``, raising its error text.

    Go accepts a little more than strict RFC 3339 (a one-digit hour, a comma
    before fractional seconds, offsets up to 24:60); so does this. Times
    Python cannot hold (year 0, or past year 9999 after the offset) are clamped.
    """
    q = _go_time_quote

    def cannot(elem: str, at: str) -> ValueError:
        return ValueError(f"parsing time {q(value)} as {q(RFC3339_LAYOUT)}: cannot parse {q(at)} as {q(elem)}")

    def out_of_range(what: str) -> ValueError:
        return ValueError(f"parsing time {q(value)}: {what} out of range")

    if not re.match(r"[0-9]{4}", value):
        raise cannot("2006", value)
    fields, rest, nsec = [int(value[:4])], value[4:], 0
    for sep, elem, limit, what in (("-", "01", 12, "month"), ("-", "02", 99, ""), ("T", "15", 23, "hour"),
                                   (":", "04", 59, "minute"), (":", "05", 59, "second")):
        if not rest.startswith(sep):
            raise cannot(sep, rest)
        got = _num(rest[1:], fixed=elem != "15")
        if got is None:
            raise cannot(elem, rest[1:])
        if got[0] > limit or (elem == "01" and got[0] == 0):
            raise out_of_range(what)
        fields.append(got[0])
        rest = got[1]
    if m := re.match(r"[.,]([0-9]+)", rest):
        digits = m.group(1)[:9]
        nsec, rest = int(digits) * 10 ** (9 - len(digits)), rest[m.end():]
    offset, hold = 0, rest
    if rest[:1] == "Z":
        rest = rest[1:]
    else:
        if len(rest) < 6 or rest[3] != ":":
            raise cannot("Z07:00", hold)
        sign, hours, minutes, rest = rest[0], _num(rest[1:3], True), _num(rest[4:6], True), rest[6:]
        if hours is not None and hours[0] > 24:
            raise out_of_range("time zone offset hour")
        if hours is not None and minutes is not None and minutes[0] > 60:
            raise out_of_range("time zone offset minute")
        if hours is None or minutes is None or sign not in "+-":
            raise cannot("Z07:00", hold)
        offset = (hours[0] * 60 + minutes[0]) * 60 * (-1 if sign == "-" else 1)
    if rest:
        raise ValueError(f"parsing time {q(value)}: extra text: {q(rest)}")
    year, month, day, hour, minute, second = fields
    if day < 1 or day > _days_in(month, year):
        raise out_of_range("day")
    try:
        utc = datetime(year, month, day, hour, minute, second, nsec // 1000, timezone.utc)
        utc -= timedelta(seconds=offset)
        return utc.astimezone(timezone(timedelta(seconds=offset))) if abs(offset) < 86400 else utc
    except (OverflowError, ValueError):
        return (datetime.min if year < 5000 else datetime.max).replace(tzinfo=timezone.utc)


def format_rfc3339(when: datetime) -> str:
    """Format as Go's ``Time.Format(time.RFC3339)``: ``Z`` for UTC, else ``±hh:mm``."""
    base = f"{when.year:04d}-{when.month:02d}-{when.day:02d}T{when.hour:02d}:{when.minute:02d}:{when.second:02d}"
    off = int((when.utcoffset() or timedelta(0)).total_seconds())
    if off == 0:
        return base + "Z"
    return f"{base}{'-' if off < 0 else '+'}{abs(off) // 3600:02d}:{abs(off) // 60 % 60:02d}"

