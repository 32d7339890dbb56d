"""Pin the detached JWS to upstream's vectors (cluster-bootstrap token/jws/jws_test.go)."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.protocol.jws import compute_detached_signature, detached_token_is_valid

CONTENT = "Hello from the other side. I must have called a thousand times."
TOKEN_ID = "joshua"
SECRET = "my voice is my passcode"
JOSHUA = "eyJhbGciOiJIUzI1NiIsImtpZCI6Impvc2h1YSJ9..VShe2taLd-YTrmWuRkcL_8QTNDHYxQIEBsAYYiIj1_8"

# (content, token id, secret, expected detached JWS), from upstream's TestComputeDetachedSignature.
VECTORS = [
    pytest.param(CONTENT, TOKEN_ID, SECRET, JOSHUA, id="valid: joshua vector"),
    pytest.param(
        "", TOKEN_ID, SECRET,
        "eyJhbGciOiJIUzI1NiIsImtpZCI6Impvc2h1YSJ9..7Ui1ALizW4jXphVUB7xUqC9vLYLL9RZeOFfVLoB7Tgk",
        id="valid: empty content",
    ),
    pytest.param(
        CONTENT, TOKEN_ID, "",
        "eyJhbGciOiJIUzI1NiIsImtpZCI6Impvc2h1YSJ9..UfkqvDGiIFxrMnFseDj9LYJOLNrvjW8aHhF71mvvAs8",
        id="valid: empty secret",
    ),
]


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.mark.parametrize(("content", "token_id", "secret", "expected"), VECTORS)
def test_compute_matches_upstream_vectors(content: str, token_id: str, secret: str, expected: str) -> None:
    assert compute_detached_signature(content, token_id, secret) == expected


@pytest.mark.parametrize(("content", "token_id", "secret", "expected"), VECTORS)
def test_vectors_verify(content: str, token_id: str, secret: str, expected: str) -> None:
    assert detached_token_is_valid(expected, content, token_id, secret)


def test_protected_header_bytes_are_exact() -> None:
    header, payload, _ = compute_detached_signature(CONTENT, "abcdef", SECRET).split(".")
    assert _unb64url(header) == b'{"alg":"HS256","kid":"abcdef"}'
    assert payload == ""


@pytest.mark.parametrize(
    ("detached", "content", "token_id", "secret"),
    [
        pytest.param(JOSHUA + "foo", CONTENT, TOKEN_ID, SECRET, id="invalid: extra characters (upstream case)"),
        pytest.param(JOSHUA + "=", CONTENT, TOKEN_ID, SECRET, id="invalid: base64 padding added"),
        pytest.param(JOSHUA, CONTENT + " ", TOKEN_ID, SECRET, id="invalid: content changed"),
        pytest.param(JOSHUA, CONTENT, "joshub", SECRET, id="invalid: other token id"),
        pytest.param(JOSHUA, CONTENT, TOKEN_ID, SECRET + "!", id="invalid: other secret"),
        pytest.param(JOSHUA.replace("..", ".SGVsbG8.", 1), CONTENT, TOKEN_ID, SECRET,
                     id="invalid: attached payload instead of detached"),
        pytest.param(
            base64.urlsafe_b64encode(b'{"kid":"joshua","alg":"HS256"}').rstrip(b"=").decode() + JOSHUA[JOSHUA.index(".."):],
            CONTENT, TOKEN_ID, SECRET, id="invalid: same header fields in another order",
        ),
        pytest.param("", CONTENT, TOKEN_ID, SECRET, id="invalid: empty signature"),
    ],
)
def test_detached_token_rejects(detached: str, content: str, token_id: str, secret: str) -> None:
    assert not detached_token_is_valid(detached, content, token_id, secret)


@given(content=st.text(), secret=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", max_size=31))
def test_zero_padding_short_secrets_to_32_bytes_changes_nothing(content: str, secret: str) -> None:
    """Upstream's go-jose v4 copy pads short secrets to 32 bytes; the MAC must not change."""
    header, _, mac = compute_detached_signature(content, TOKEN_ID, secret).split(".")
    signing_input = f"{header}.{base64.urlsafe_b64encode(content.encode()).rstrip(b'=').decode()}".encode()
    padded = secret.encode().ljust(32, b"\0")
    assert _unb64url(mac) == hmac.new(padded, signing_input, hashlib.sha256).digest()
