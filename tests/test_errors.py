"""Check the Go texts shared by every layer (sim/protocol/errors.py)."""

from __future__ import annotations

import pytest

from sim.control import validation
from sim.protocol.errors import TokenError, go_quote
from sim.protocol.tokens import parse_token


@pytest.mark.parametrize(("value", "quoted"), [
    pytest.param("plain", '"plain"', id="valid: plain"),
    pytest.param("", '""', id="valid: empty"),
    pytest.param('q"\\', '"q\\"\\\\"', id="valid: quote and backslash"),
    pytest.param("a\nb\tc\rd", '"a\\nb\\tc\\rd"', id="valid: short escapes"),
    pytest.param("\a\b\f\v", '"\\a\\b\\f\\v"', id="valid: Go's other one-letter escapes"),
    pytest.param("\x01\x1f\x7f", '"\\x01\\x1f\\x7f"', id="valid: other control characters as hex"),
    pytest.param("caf\u00e9 \u4e16", '"caf\u00e9 \u4e16"', id="valid: printable runes kept"),
    pytest.param("\u00a0\u200b", '"\\u00a0\\u200b"', id="valid: unprintable runes as \\u"),
    pytest.param("\U000e0001", '"\\U000e0001"', id="valid: unprintable rune beyond the BMP as \\U"),
])
def test_go_quote(value: str, quoted: str) -> None:
    assert go_quote(value) == quoted


def test_field_validation_quotes_with_the_protocol_core() -> None:
    assert validation.go_quote is go_quote


@pytest.mark.parametrize(("token", "shown"), [
    pytest.param("abcdef.0123456789abcdeX", '"abcdef.0123456789abcdeX"', id="invalid: printable token shown as is"),
    pytest.param("abcdef.0123456789abcde\x01", '"abcdef.0123456789abcde\\x01"', id="invalid: control character escaped"),
])
def test_protocol_errors_quote_the_value(token: str, shown: str) -> None:
    with pytest.raises(TokenError) as caught:
        parse_token(token)
    assert str(caught.value).startswith(f"the bootstrap token {shown} was not of the form ")
