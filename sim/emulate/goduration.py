"""Parse durations as Go's ``time.ParseDuration`` does, raising the CLI's ``ValidationError``.

Why: kubeadm's ``--ttl`` flag and the ``timeouts`` of a JoinConfiguration are
Go durations (``24h0m0s``, ``90s``, ``1.5h``); a user who mistypes one should
see Go's message. The parser is the scenarios' (``sim.engine.units``); this
module only gives its errors the type the emulated commands report.
"""

from __future__ import annotations

from sim.engine import units
from sim.protocol.errors import ValidationError

__all__ = ["parse_duration"]


def parse_duration(text: str) -> float:
    """Return the duration in seconds, or raise ``ValidationError`` with Go's ``time: ...`` text."""
    try:
        return units.parse_duration(text)
    except ValueError as err:
        raise ValidationError(str(err)) from None
