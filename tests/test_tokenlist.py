"""Check ``kubeadm token list`` output against upstream's token.go text and Go's tabwriter."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from sim.protocol import constants as C
from sim.protocol.tokenlist import format_token_list, short_human_duration
from sim.protocol.tokens import BootstrapToken

UTC = timezone.utc
ID, SECRET = "abcdef", "abcdef0123456789"
NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def _bt(**kw: Any) -> BootstrapToken:
    base: dict[str, Any] = {"token_id": ID, "token_secret": SECRET, "ttl": None, "usages": (), "groups": ()}
    return BootstrapToken(**{**base, **kw})


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        pytest.param(-2.0, "<invalid>", id="invalid: two seconds in the past"),
        pytest.param(-1.5, "0s", id="valid: skew up to one second reads 0s"),
        pytest.param(-0.5, "0s", id="valid: half a second in the past"),
        pytest.param(0.0, "0s", id="valid: zero"),
        pytest.param(59.9, "59s", id="valid: seconds truncate"),
        pytest.param(60.0, "1m", id="valid: one minute"),
        pytest.param(3599.0, "59m", id="valid: minutes truncate"),
        pytest.param(3600.0, "1h", id="valid: one hour"),
        pytest.param(86399.0, "23h", id="valid: just under a day"),
        pytest.param(86400.0, "1d", id="valid: one day"),
        pytest.param(365 * 86400.0 - 1, "364d", id="valid: just under a year"),
        pytest.param(365 * 86400.0, "1y", id="valid: one year"),
        pytest.param(800 * 86400.0, "2y", id="valid: years truncate"),
    ],
)
def test_short_human_duration(seconds: float, text: str) -> None:
    assert short_human_duration(seconds) == text


def test_token_list_upstream_text_output() -> None:
    """Upstream token_test.go TestTokenOutput, "text output" case."""
    token = BootstrapToken(token_id=ID, token_secret="1234567890123456", description="valid bootstrap tooken",
                           ttl=None, usages=("signing", "authentication"))
    expected = (
        "TOKEN                     TTL         EXPIRES   USAGES                   DESCRIPTION"
        "                                                EXTRA GROUPS\n"
        "abcdef.1234567890123456   <forever>   <never>   signing,authentication   valid bootstrap tooken"
        "                                     system:bootstrappers:kubeadm:default-node-token\n"
    )
    assert format_token_list([token], NOW) == expected


def test_token_list_rows_after_the_first_are_aligned_alone() -> None:
    """kubeadm flushes one tabwriter per token, so row 2's EXPIRES column is narrower (widths by hand)."""
    first = BootstrapToken(token_id=ID, token_secret="0123456789abcdef", description=C.INIT_TOKEN_DESCRIPTION,
                           expires=NOW + timedelta(hours=23, minutes=30), usages=("authentication", "signing"))
    second = BootstrapToken(token_id="ghijkl", token_secret="0123456789abcdef", ttl=None, usages=(), groups=())
    expected = (
        "TOKEN" + " " * 21 + "TTL" + " " * 9 + "EXPIRES" + " " * 16 + "USAGES" + " " * 19
        + "DESCRIPTION" + " " * 48 + "EXTRA GROUPS\n"
        + "abcdef.0123456789abcdef" + " " * 3 + "23h" + " " * 9 + "2024-05-02T11:30:00Z" + " " * 3
        + "authentication,signing" + " " * 3 + C.INIT_TOKEN_DESCRIPTION + " " * 3
        + "system:bootstrappers:kubeadm:default-node-token\n"
        + "ghijkl.0123456789abcdef" + " " * 3 + "<forever>" + " " * 3 + "<never>" + " " * 3
        + "<none>" + " " * 19 + "<none>" + " " * 53 + "<none>\n"
    )
    assert format_token_list([first, second], NOW) == expected


@pytest.mark.parametrize(
    ("expires", "ttl_cell", "expires_cell"),
    [
        pytest.param(datetime(2024, 5, 1, 20, 0, 0, tzinfo=timezone(timedelta(hours=8))), "0s",
                     "2024-05-01T20:00:00+08:00", id="valid: offset kept as stored, expired now reads 0s"),
        pytest.param(NOW - timedelta(seconds=5), "<invalid>", "2024-05-01T11:59:55Z", id="invalid: past expiry"),
    ],
)
def test_token_list_ttl_and_expires_cells(expires: datetime, ttl_cell: str, expires_cell: str) -> None:
    token = _bt(expires=expires)
    row = format_token_list([token], NOW).splitlines()[1].split()
    assert row[1:3] == [ttl_cell, expires_cell]


def test_token_list_of_nothing_prints_nothing() -> None:
    assert format_token_list([], NOW) == ""
