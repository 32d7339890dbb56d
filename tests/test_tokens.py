"""Check bootstrap tokens against upstream's tables (cluster-bootstrap, kubeadm bootstraptoken/v1)."""

from __future__ import annotations

import random
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.protocol import constants as C
from sim.protocol import objects
from sim.protocol.errors import TokenError
from sim.protocol.tokens import (
    BootstrapToken, generate_bootstrap_token, get_expiration, get_groups, has_expired, is_valid_bootstrap_token,
    is_valid_bootstrap_token_id, parse_token, secret_name, token_from_secret, token_to_secret, validate_group,
    validate_groups, validate_usages,
)

UTC = timezone.utc
# Upstream utils_test.go refTime.
REF_TIME = datetime(1970, 1, 1, 1, 1, 1, tzinfo=UTC)
TOKEN_FORM = r'"\\A([a-z0-9]{6})\\.([a-z0-9]{16})\\z"'
GROUP_RULE = r"(must match \Asystem:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]\z)"
ID, SECRET = "abcdef", "abcdef0123456789"


# --- format ---

@pytest.mark.parametrize(
    ("token", "valid"),
    [
        # upstream helpers_test.go TestIsValidBootstrapToken
        pytest.param("", False, id="invalid: empty"),
        pytest.param(".", False, id="invalid: dot only"),
        pytest.param("1234567890123456789012", False, id="invalid: no separator"),
        pytest.param("12345.1234567890123456", False, id="invalid: short id"),
        pytest.param(".1234567890123456", False, id="invalid: empty id"),
        pytest.param("123456.", False, id="invalid: empty secret"),
        pytest.param("123456:1234567890.123456", False, id="invalid: colon separator"),
        pytest.param("abcdef:1234567890123456", False, id="invalid: colon instead of dot"),
        pytest.param("Abcdef.1234567890123456", False, id="invalid: upper-case id"),
        pytest.param("123456.AABBCCDDEEFFGGHH", False, id="invalid: upper-case secret"),
        pytest.param("123456.AABBCCD-EEFFGGHH", False, id="invalid: dash in secret"),
        pytest.param("abc*ef.1234567890123456", False, id="invalid: asterisk in id"),
        pytest.param("ABCDEF.abcdef0123456789", False, id="invalid: upper-case id 2"),
        pytest.param("abcdef.1234567890123456", True, id="valid: digits secret"),
        pytest.param("123456.aabbccddeeffgghh", True, id="valid: digits id"),
        pytest.param("abcdef.abcdef0123456789", True, id="valid: mixed"),
        pytest.param("123456.1234560123456789", True, id="valid: all digits"),
        # ours
        pytest.param("abcdef.abcdef0123456789\n", False, id="invalid: trailing newline"),
        pytest.param("abcdef.abcdef012345678", False, id="invalid: 15-char secret"),
        pytest.param("abcdef.abcdef01234567890", False, id="invalid: 17-char secret"),
        pytest.param("abcdef.abcdef0123456é", False, id="invalid: non-ascii secret of 16 bytes"),
        pytest.param("abcdef.abcdef0123456789.x", False, id="invalid: three parts"),
    ],
)
def test_is_valid_bootstrap_token(token: str, valid: bool) -> None:
    assert is_valid_bootstrap_token(token) is valid
    assert (re.fullmatch(r"[a-z0-9]{6}\.[a-z0-9]{16}", token) is not None) is valid


@pytest.mark.parametrize(
    ("token_id", "valid"),
    [
        pytest.param("", False, id="invalid: empty"),
        pytest.param("1234567890123456789012", False, id="invalid: too long"),
        pytest.param("12345", False, id="invalid: too short"),
        pytest.param("Abcdef", False, id="invalid: capital first"),
        pytest.param("ABCDEF", False, id="invalid: all capitals"),
        pytest.param("abcdef.", False, id="invalid: trailing dot"),
        pytest.param("abcdef\n", False, id="invalid: trailing newline"),
        pytest.param("abcdef", True, id="valid: letters"),
        pytest.param("123456", True, id="valid: digits"),
    ],
)
def test_is_valid_bootstrap_token_id(token_id: str, valid: bool) -> None:
    assert is_valid_bootstrap_token_id(token_id) is valid


@given(st.text(alphabet="abcdef0123456789.AZ-é\n", max_size=26))
def test_split_algorithm_agrees_with_regex(s: str) -> None:
    assert is_valid_bootstrap_token(s) is (re.fullmatch(r"[a-z0-9]{6}\.[a-z0-9]{16}", s) is not None)


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        pytest.param("abcdef.1234567890123456", ("abcdef", "1234567890123456"), id="valid: simple"),
        pytest.param("123456.aabbccddeeffgghh", ("123456", "aabbccddeeffgghh"), id="valid: digits id"),
    ],
)
def test_parse_token_valid(token: str, expected: tuple[str, str]) -> None:
    assert parse_token(token) == expected
    assert BootstrapToken.from_string(token).token == token


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("", id="invalid: empty"),
        pytest.param("invalid-token", id="invalid: word"),
        pytest.param("abcdef.ABCDEF0123456789", id="invalid: upper-case secret"),
        pytest.param('abc"ef.1234567890123456', id="invalid: quote is escaped in the message"),
    ],
)
def test_parse_token_invalid_message(token: str) -> None:
    quoted = '"' + token.replace('"', '\\"') + '"'
    with pytest.raises(TokenError) as info:
        parse_token(token)
    assert str(info.value) == f"the bootstrap token {quoted} was not of the form {TOKEN_FORM}"


# --- generation ---

class _RecordingRng(random.Random):
    """Record every randrange call, to prove generation draws one uniform index per character."""

    def __init__(self, seed: int) -> None:
        super().__init__(seed)
        self.calls: list[tuple[Any, ...]] = []

    def randrange(self, *args: Any, **kwargs: Any) -> int:
        self.calls.append(args)
        return super().randrange(*args, **kwargs)


def test_generation_is_deterministic_and_draws_36_way() -> None:
    rng = _RecordingRng(42)
    token = generate_bootstrap_token(rng)
    assert token == generate_bootstrap_token(random.Random(42))
    assert rng.calls == [(36,)] * 22
    assert token != generate_bootstrap_token(random.Random(43))


def test_generation_uses_only_token_chars() -> None:
    rng = random.Random(7)
    seen = "".join(generate_bootstrap_token(rng).replace(".", "") for _ in range(300))
    assert set(seen) == set(C.BOOTSTRAP_TOKEN_CHARS)


@given(seed=st.integers(min_value=0, max_value=2**64), ttl=st.integers(min_value=0, max_value=10**8))
def test_generated_token_is_valid_and_round_trips(seed: int, ttl: int) -> None:
    now = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
    token = BootstrapToken.from_string(generate_bootstrap_token(random.Random(seed)), ttl=ttl)
    assert is_valid_bootstrap_token(token.token)
    back = token_from_secret(token_to_secret(token, now))
    assert (back.token_id, back.token_secret, back.ttl) == (token.token_id, token.token_secret, None)
    assert back.usages == ("authentication", "signing") and back.groups == C.DEFAULT_TOKEN_GROUPS
    assert back.expires == (now + timedelta(seconds=ttl) if ttl else None)


# --- usages and groups ---

@pytest.mark.parametrize(
    ("usages", "message"),
    [
        pytest.param(["signing"], None, id="valid: signing"),
        pytest.param(["authentication"], None, id="valid: authentication"),
        pytest.param(["authentication", "signing"], None, id="valid: both"),
        pytest.param([], None, id="valid: none"),
        pytest.param(["authentication", "foo"], "foo", id="invalid: one unknown"),
        pytest.param(["foo", "bar"], "bar,foo", id="invalid: all unknown, listed sorted"),
        pytest.param(["foo", "foo"], "foo", id="invalid: duplicates listed once"),
    ],
)
def test_validate_usages(usages: list[str], message: str | None) -> None:
    if message is None:
        validate_usages(usages)
        return
    with pytest.raises(TokenError) as info:
        validate_usages(usages)
    assert str(info.value) == f"invalid bootstrap token usage string: {message}, valid usage options: signing,authentication"


@pytest.mark.parametrize(
    ("group", "valid"),
    [
        pytest.param("system:bootstrappers:foo", True, id="valid: simple"),
        pytest.param("system:bootstrappers:foo:bar:baz", True, id="valid: nested"),
        pytest.param("system:bootstrappers:foo-bar-42", True, id="valid: dashes and number"),
        pytest.param("system:bootstrappers:" + "x" * 256, True, id="valid: longest"),
        pytest.param("system:bootstrappers:Foo", False, id="invalid: uppercase"),
        pytest.param("foo", False, id="invalid: missing prefix"),
        pytest.param("system:bootstrappers:", False, id="invalid: prefix with no body"),
        pytest.param("system:bootstrappers", False, id="invalid: the default group itself"),
        pytest.param("system:bootstrappers: ", False, id="invalid: space"),
        pytest.param("system:bootstrappers:*", False, id="invalid: asterisk"),
        pytest.param("system:bootstrappers:foo:", False, id="invalid: trailing colon"),
        pytest.param("system:bootstrappers:foo-", False, id="invalid: trailing dash"),
        pytest.param('system:bootstrappers:<script> alert("scary?!") </script>', False, id="invalid: script tags"),
        pytest.param("system:bootstrappers:" + "x" * 300, False, id="invalid: too long"),
        pytest.param("system:bootstrappers:foo\n", False, id="invalid: trailing newline"),
    ],
)
def test_validate_group(group: str, valid: bool) -> None:
    if valid:
        validate_group(group)
        validate_groups([C.NODE_BOOTSTRAP_TOKEN_AUTH_GROUP, group])
        return
    with pytest.raises(TokenError):
        validate_groups([C.NODE_BOOTSTRAP_TOKEN_AUTH_GROUP, group])


def test_group_message_quotes_name_and_prints_pattern_plainly() -> None:
    with pytest.raises(TokenError) as info:
        validate_group("system:bootstrappers")
    assert str(info.value) == f'bootstrap group "system:bootstrappers" is invalid {GROUP_RULE}'


@pytest.mark.parametrize(
    ("extra", "groups"),
    [
        pytest.param(None, ["system:bootstrappers"], id="valid: not set"),
        pytest.param("", ["system:bootstrappers"], id="valid: empty value"),
        pytest.param("system:bootstrappers:foo,system:bootstrappers:bar,system:bootstrappers:bar",
                     ["system:bootstrappers", "system:bootstrappers:bar", "system:bootstrappers:foo"],
                     id="valid: de-duplicated and sorted"),
        pytest.param("foo", "foo", id="invalid: missing prefix"),
        pytest.param("system:bootstrappers", "system:bootstrappers", id="invalid: default group alone"),
        pytest.param("system:bootstrappers:a, system:bootstrappers:b", " system:bootstrappers:b",
                     id="invalid: entries are not trimmed"),
        pytest.param("system:bootstrappers:a,", "", id="invalid: trailing comma gives an empty group"),
    ],
)
def test_get_groups(extra: str | None, groups: list[str] | str) -> None:
    data = {} if extra is None else {C.BOOTSTRAP_TOKEN_EXTRA_GROUPS_KEY: extra}
    if isinstance(groups, list):
        assert get_groups(data) == groups
        return
    with pytest.raises(TokenError) as info:
        get_groups(data)
    assert str(info.value) == f'bootstrap group "{groups}" is invalid {GROUP_RULE}'


# --- Secret encoding (upstream TestEncodeTokenSecretData, refTime as "now") ---

def _bt(**kw: Any) -> BootstrapToken:
    base: dict[str, Any] = {"token_id": ID, "token_secret": SECRET, "ttl": None, "usages": (), "groups": ()}
    return BootstrapToken(**{**base, **kw})


MINIMAL = {"token-id": ID, "token-secret": SECRET}
GROUPS = ("system:bootstrappers", "system:bootstrappers:foo")


@pytest.mark.parametrize(
    ("token", "data"),
    [
        pytest.param(_bt(), MINIMAL, id="valid: minimum"),
        pytest.param(_bt(description="foo"), {**MINIMAL, "description": "foo"}, id="valid: description"),
        pytest.param(_bt(ttl=7200), {**MINIMAL, "expiration": "1970-01-01T03:01:01Z"}, id="valid: ttl"),
        pytest.param(_bt(ttl=0), MINIMAL, id="valid: ttl 0 never expires"),
        pytest.param(_bt(expires=REF_TIME), {**MINIMAL, "expiration": "1970-01-01T01:01:01Z"}, id="valid: expires"),
        pytest.param(_bt(ttl=7200, expires=REF_TIME), {**MINIMAL, "expiration": "1970-01-01T01:01:01Z"},
                     id="valid: ttl and expires, expires wins"),
        pytest.param(_bt(expires=datetime(1970, 1, 1, 2, 1, 1, 999999, tzinfo=timezone(timedelta(hours=1)))),
                     {**MINIMAL, "expiration": "1970-01-01T01:01:01Z"}, id="valid: expires written in UTC, seconds"),
        pytest.param(_bt(usages=("authentication", "signing")),
                     {**MINIMAL, "usage-bootstrap-signing": "true", "usage-bootstrap-authentication": "true"},
                     id="valid: usages"),
        pytest.param(_bt(groups=GROUPS), {**MINIMAL, "auth-extra-groups": ",".join(GROUPS)}, id="valid: groups"),
    ],
)
def test_token_to_secret_data(token: BootstrapToken, data: dict[str, str]) -> None:
    assert objects.secret_data(token_to_secret(token, REF_TIME)) == data


def test_token_to_secret_object_shape() -> None:
    token = _bt(description="foo", expires=REF_TIME, usages=("signing", "authentication"), groups=GROUPS)
    secret = token_to_secret(token, REF_TIME)
    assert secret == objects.secret(
        "bootstrap-token-abcdef", "kube-system",
        {"token-id": ID, "token-secret": SECRET, "description": "foo", "expiration": "1970-01-01T01:01:01Z",
         "usage-bootstrap-signing": "true", "usage-bootstrap-authentication": "true",
         "auth-extra-groups": "system:bootstrappers,system:bootstrappers:foo"},
        "bootstrap.kubernetes.io/token",
    )
    assert (secret["apiVersion"], secret["kind"], secret["type"]) == ("v1", "Secret", C.SECRET_TYPE_BOOTSTRAP_TOKEN)
    assert secret["metadata"] == {"name": secret_name(ID), "namespace": "kube-system"}


def test_token_defaults_are_kubeadms() -> None:
    token = BootstrapToken(token_id=ID, token_secret=SECRET)
    data = objects.secret_data(token_to_secret(token, REF_TIME))
    assert data["expiration"] == "1970-01-02T01:01:01Z"
    assert data["usage-bootstrap-signing"] == data["usage-bootstrap-authentication"] == "true"
    assert data["auth-extra-groups"] == "system:bootstrappers:kubeadm:default-node-token"


# --- Secret decoding (upstream TestBootstrapTokenFromSecret) ---

def _secret(data: dict[str, str], name: str = "bootstrap-token-abcdef") -> dict[str, Any]:
    return objects.secret(name, "kube-system", data, C.SECRET_TYPE_BOOTSTRAP_TOKEN)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(MINIMAL, _bt(), id="valid: minimum"),
        pytest.param({**MINIMAL, "description": "foo"}, _bt(description="foo"), id="valid: description"),
        pytest.param({**MINIMAL, "expiration": "1970-01-01T01:01:01Z"}, _bt(expires=REF_TIME), id="valid: expiration"),
        pytest.param({**MINIMAL, "usage-bootstrap-signing": "true", "usage-bootstrap-authentication": "true"},
                     _bt(usages=("authentication", "signing")), id="valid: usages sorted"),
        pytest.param({**MINIMAL, "usage-bootstrap-signing": "true", "usage-bootstrap-authentication": "true",
                      "usage-bootstrap-foo": "false", "usage-bootstrap-bar": "", "usage-bootstrap-baz": "True"},
                     _bt(usages=("authentication", "signing")), id="valid: only exactly true counts"),
        pytest.param({**MINIMAL, "auth-extra-groups": ",".join(GROUPS)}, _bt(groups=GROUPS), id="valid: groups"),
        pytest.param({**MINIMAL, "auth-extra-groups": ""}, _bt(), id="valid: empty groups value"),
    ],
)
def test_token_from_secret(data: dict[str, str], expected: BootstrapToken) -> None:
    assert token_from_secret(_secret(data)) == expected


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        pytest.param("bootstrap-token-abcdef", {"token-secret": SECRET},
                     "bootstrap Token Secret has no token-id data: bootstrap-token-abcdef", id="invalid: no token-id"),
        pytest.param("bootstrap-token-abcdef", {"token-id": "abcdeF", "token-secret": SECRET},
                     "bootstrap token name is not of the form 'bootstrap-token-(token-id)'. "
                     'Actual: "bootstrap-token-abcdef". Expected: "bootstrap-token-abcdeF"',
                     id="invalid: token id does not match name"),
        pytest.param("foo", MINIMAL,
                     "bootstrap token name is not of the form 'bootstrap-token-(token-id)'. "
                     'Actual: "foo". Expected: "bootstrap-token-abcdef"', id="invalid: secret naming"),
        pytest.param("bootstrap-token-abcdef", {"token-id": ID},
                     "bootstrap Token Secret has no token-secret data: bootstrap-token-abcdef",
                     id="invalid: no token-secret"),
        pytest.param("bootstrap-token-abcdef", {"token-id": ID, "token-secret": "ABCDEF0123456789"},
                     "bootstrap Token Secret is invalid and couldn't be parsed: the bootstrap token "
                     f'"abcdef.ABCDEF0123456789" was not of the form {TOKEN_FORM}', id="invalid: token secret"),
        pytest.param("bootstrap-token-abcdef", {**MINIMAL, "expiration": "invalid date"},
                     "can't parse expiration time of bootstrap token \"bootstrap-token-abcdef\": "
                     'parsing time "invalid date" as "2006-01-02T15:04:05Z07:00": cannot parse "invalid date" as "2006"',
                     id="invalid: expiration"),
    ],
)
def test_token_from_secret_errors(name: str, data: dict[str, str], message: str) -> None:
    with pytest.raises(TokenError) as info:
        token_from_secret(_secret(data, name))
    assert str(info.value) == message


def test_secret_round_trip_keeps_everything_but_ttl() -> None:
    token = _bt(description="foo", expires=REF_TIME, usages=("authentication", "signing"), groups=GROUPS)
    assert token_from_secret(token_to_secret(token, REF_TIME)) == token


# --- expiry (secrets.go GetExpiration) ---

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expiration", "expected"),
    [
        pytest.param(None, (False, None), id="valid: no expiration never expires"),
        pytest.param("", (False, None), id="valid: empty expiration never expires"),
        pytest.param("2024-05-01T12:00:01Z", (False, 1.0), id="valid: one second left"),
        pytest.param("2024-05-02T12:00:00Z", (False, 86400.0), id="valid: one day left"),
        pytest.param("2024-05-01T13:00:00+01:00", (True, 0.0), id="invalid: equal time with offset is expired"),
        pytest.param("2024-05-01T12:00:00Z", (True, 0.0), id="invalid: equal time is expired"),
        pytest.param("2024-05-01T11:59:59Z", (True, 0.0), id="invalid: past"),
        pytest.param("tomorrow", (True, 0.0), id="invalid: unparseable is expired"),
        pytest.param("2024-05-02 12:00:00Z", (True, 0.0), id="invalid: space instead of T is expired"),
    ],
)
def test_get_expiration(expiration: str | None, expected: tuple[bool, float | None]) -> None:
    data = {} if expiration is None else {C.BOOTSTRAP_TOKEN_EXPIRATION_KEY: expiration}
    assert get_expiration(data, NOW) == expected
    assert has_expired(data, NOW) is expected[0]


def test_expiry_has_no_grace_below_a_second() -> None:
    data = {C.BOOTSTRAP_TOKEN_EXPIRATION_KEY: "2024-05-01T12:00:00Z"}
    assert not has_expired(data, NOW - timedelta(microseconds=1))
    assert has_expired(data, NOW)
