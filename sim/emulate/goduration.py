"""Parse durations as Go's ``time.ParseDuration`` does, with its error texts.

Why: kubeadm's ``--ttl`` flag and the ``timeouts`` of a JoinConfiguration are
Go durations (``24h0m0s``, ``90s``, ``1.5h``); a user who mistypes one should
see Go's message. Upstream: src/time/format.go ParseDuration.
"""

from __future__ import annotations

import re

from sim.protocol.errors import ValidationError, go_quote

_UNITS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "\u03bcs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"([0-9]*)(\.[0-9]*)?([^0-9.]*)")


def parse_duration(text: str) -> float:
    """Return the duration in seconds, or raise ``ValidationError`` with Go's ``time: ...`` text."""
    original, rest = text, text
    sign = 1.0
    if rest[:1] in "+-" and rest:
        sign = -1.0 if rest[0] == "-" else 1.0
        rest = rest[1:]
    if rest == "0":
        return 0.0
    if not rest:
        raise ValidationError(f"time: invalid duration {go_quote(original)}")
    total = 0.0
    while rest:
        match = _PART.match(rest)
        assert match is not None
        whole, frac, unit = match.group(1), match.group(2) or "", match.group(3)
        if not whole and frac in ("", "."):
            raise ValidationError(f"time: invalid duration {go_quote(original)}")
        if not unit:
            raise ValidationError(f"time: missing unit in duration {go_quote(original)}")
        unit_match = re.match(r"[a-z\u00b5\u03bc]+", unit)
        unit = unit_match.group(0) if unit_match else unit[:1]
        if unit not in _UNITS:
            raise ValidationError(f"time: unknown unit {go_quote(unit)} in duration {go_quote(original)}")
        total += float((whole or "0") + (frac if frac != "." else "")) * _UNITS[unit]
        rest = rest[match.start(3) + len(unit):]
    return sign * total
