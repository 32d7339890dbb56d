"""Parse durations and rates as scenarios write them, with Go's rules and error texts.

Durations follow Go's ``time.ParseDuration`` (``250ms``, ``1h30m``, ``1.5s``,
``0``): a sequence of decimal numbers, each with a unit among ``ns``, ``us``
(or ``µs``/``μs``), ``ms``, ``s``, ``m``, ``h``. Like Go, the value is
computed in whole nanoseconds (fractions truncate) and must fit an int64, and
a mistake is reported with Go's own text (``time: unknown unit "d" in duration
"1d"``), so a scenario author reads the message kubeadm's flags would give.
Rates are ``<count>/<period>``: ``10/s``, ``600/m``, ``5/100ms``.
Upstream: go/src/time/format.go ParseDuration.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["UNITS_NS", "parse_duration", "parse_rate"]

# go/src/time/format.go unitMap (both spellings of the micro sign, as Go accepts).
UNITS_NS: Final[dict[str, int]] = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,  # U+00B5 micro sign
    "\u03bcs": 1_000,  # U+03BC Greek small letter mu
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60 * 1_000_000_000,
    "h": 3600 * 1_000_000_000,
}

_MAX_NS: Final = 1 << 63  # Go's Duration is an int64 of nanoseconds
_NUMBER = re.compile(r"([0-9]*)(?:\.([0-9]*))?")
_RATE_COUNT = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def parse_duration(text: str) -> float:
    """Return the seconds a Go duration string means; raise ValueError with Go's text if it is malformed."""
    if not isinstance(text, str):
        raise ValueError(f'a duration must be a string with a unit, such as "10s" or "250ms", not {text!r}')
    orig, rest = text, text
    negative = False
    if rest[:1] in ("-", "+"):
        negative, rest = rest[0] == "-", rest[1:]
    if rest == "0":
        return 0.0
    if rest == "":
        raise ValueError("time: invalid duration " + _quote(orig))
    total = 0
    while rest:
        if not (rest[0] == "." or rest[0].isascii() and rest[0].isdigit()):
            raise ValueError("time: invalid duration " + _quote(orig))
        match = _NUMBER.match(rest)
        assert match is not None  # the pattern matches the empty string
        whole, fraction = match.group(1), match.group(2)
        if not whole and not fraction:  # no digits at all, e.g. ".s"
            raise ValueError("time: invalid duration " + _quote(orig))
        rest = rest[match.end():]
        end = 0
        while end < len(rest) and not (rest[end] == "." or rest[end].isascii() and rest[end].isdigit()):
            end += 1
        if end == 0:
            raise ValueError("time: missing unit in duration " + _quote(orig))
        unit, rest = rest[:end], rest[end:]
        if unit not in UNITS_NS:
            raise ValueError("time: unknown unit " + _quote(unit) + " in duration " + _quote(orig))
        scale = UNITS_NS[unit]
        value = int(whole or "0") * scale
        if fraction:
            value += int(fraction) * scale // 10 ** len(fraction)
        total += value
        if total > _MAX_NS - (0 if negative else 1):
            raise ValueError("time: invalid duration " + _quote(orig))
    return (-total if negative else total) / 1e9


def parse_rate(text: str) -> float:
    """Return events per second for ``<count>/<period>`` (``10/s``, ``600/m``, ``5/100ms``)."""
    if not isinstance(text, str):
        raise ValueError(f'a rate must be a string such as "10/s" or "600/m", not {text!r}')
    count_text, slash, period_text = text.strip().partition("/")
    if not slash:
        raise ValueError(f'invalid rate {_quote(text)}: want <count>/<period>, such as "10/s" or "600/m"')
    count_text, period_text = count_text.strip(), period_text.strip()
    if not _RATE_COUNT.fullmatch(count_text):
        raise ValueError(f"invalid rate {_quote(text)}: the count {_quote(count_text)} is not a non-negative number")
    if period_text[:1].isalpha() or period_text[:1] in ("\u00b5", "\u03bc"):
        period_text = "1" + period_text  # "/s" means "/1s"
    try:
        period = parse_duration(period_text)
    except ValueError as err:
        raise ValueError(f"invalid rate {_quote(text)}: {err}") from None
    if period <= 0:
        raise ValueError(f"invalid rate {_quote(text)}: the period must be positive")
    return float(count_text) / period
