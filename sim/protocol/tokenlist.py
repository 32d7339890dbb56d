"""Render ``kubeadm token list`` output byte for byte: durations, Go's tabwriter, token rows.

Why: the listing is what an operator sees, and kubeadm's quirks (a fresh
tabwriter per token, fixed paddings, apimachinery's ShortHumanDuration) make
its exact text hard to reproduce by eye. Upstream: cmd/kubeadm/app/cmd/token.go,
text/tabwriter, staging/src/k8s.io/apimachinery/pkg/util/duration/duration.go.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Sequence

from sim.protocol.gotime import format_rfc3339
from sim.protocol.tokens import BootstrapToken

__all__ = ["format_token_list", "short_human_duration"]

# cmd/kubeadm/app/cmd/token.go: tokenTextPrinter columns and tabwriter.NewWriter(w, 10, 4, 3, ' ', 0).
TOKEN_LIST_COLUMNS = ("TOKEN", "TTL", "EXPIRES", "USAGES", "DESCRIPTION", "EXTRA GROUPS")
TABWRITER_MINWIDTH = 10
TABWRITER_PADDING = 3


def short_human_duration(seconds: float) -> str:
    """Render a duration as apimachinery's ShortHumanDuration (``23h``, ``6d``, ``<invalid>``).

    Each unit truncates toward zero as Go's ``int(d.Seconds())`` does, and up to
    one second in the past still reads ``0s`` to tolerate clock skew.
    """
    secs = math.trunc(seconds)
    if secs < -1:
        return "<invalid>"
    if secs < 0:
        return "0s"
    if secs < 60:
        return f"{secs}s"
    if (minutes := math.trunc(seconds / 60)) < 60:
        return f"{minutes}m"
    if (hours := math.trunc(seconds / 3600)) < 24:
        return f"{hours}h"
    if hours < 24 * 365:
        return f"{hours // 24}d"
    return f"{math.trunc(seconds / 3600 / 24 / 365)}y"


def _tabwrite(text: str, minwidth: int = TABWRITER_MINWIDTH, padding: int = TABWRITER_PADDING) -> str:
    """Align tab-separated cells as Go's text/tabwriter with padchar ' ' and no flags.

    A column block is a run of consecutive lines that have a cell in that
    column; each cell is padded to the block's widest cell plus ``padding``
    (at least ``minwidth``). The text after a line's last tab is not a cell
    and is never padded.
    """
    lines = [line.split("\t") for line in text.split("\n")]
    widths: list[int] = []
    out: list[str] = []

    def write(line0: int, line1: int) -> None:
        for i in range(line0, line1):
            for j, cell in enumerate(lines[i]):
                out.append(cell.ljust(widths[j]) if j < len(widths) else cell)
            if i + 1 < len(lines):
                out.append("\n")

    def fmt(line0: int, line1: int) -> None:
        column, this = len(widths), line0
        while this < line1:
            if column >= len(lines[this]) - 1:
                this += 1
                continue
            write(line0, this)
            line0, width = this, minwidth
            while this < line1 and column < len(lines[this]) - 1:
                width = max(width, len(lines[this][column]) + padding)
                this += 1
            widths.append(width)
            fmt(line0, this)
            widths.pop()
            line0 = this
        write(line0, line1)

    fmt(0, len(lines))
    return "".join(out)


def _token_row(token: BootstrapToken, now: datetime) -> str:
    """Format one row as kubeadm's formatBootstrapToken, fixed paddings included."""
    ttl, expires = "<forever>", "<never>"
    if token.expires is not None:
        ttl = short_human_duration((token.expires - now).total_seconds())
        expires = format_rfc3339(token.expires)
    usages = ",".join(token.usages) or "<none>"
    groups = ",".join(token.groups) or "<none>"
    description = token.description or "<none>"
    return f"{token.token}\t{ttl:<9}\t{expires}\t{usages:<22}\t{description:<56}\t{groups}\n"


def format_token_list(tokens: Sequence[BootstrapToken], now: datetime) -> str:
    """Return exactly what ``kubeadm token list`` prints for these tokens at ``now``.

    kubeadm flushes a fresh tabwriter per token, so only the header and the
    first row are aligned together; the fixed paddings keep later rows in
    line. With no tokens it prints nothing, not even the header.
    """
    chunks = []
    for i, token in enumerate(tokens):
        header = "\t".join(TOKEN_LIST_COLUMNS) + "\n" if i == 0 else ""
        chunks.append(_tabwrite(header + _token_row(token, now)))
    return "".join(chunks)
