"""Parse, generate, store and read back bootstrap tokens as kubeadm and the cluster do.

How this works: a token ``<id>.<secret>`` lives in the Secret
``kube-system/bootstrap-token-<id>``. kubeadm writes it (``token_to_secret``)
and lists it (``tokenlist.format_token_list``); the API server's
authenticator, the bootstrapsigner and the tokencleaner read it with
``get_expiration`` and ``get_groups``, each against its own clock (``now``).
Upstream: staging/src/k8s.io/cluster-bootstrap/token/{api,util},
staging/src/k8s.io/cluster-bootstrap/util/secrets/secrets.go,
cmd/kubeadm/app/apis/bootstraptoken/v1/utils.go.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Mapping

from sim.protocol import constants as C
from sim.protocol import objects
from sim.protocol.errors import TokenError, go_quote, wrap
from sim.protocol.gotime import parse_rfc3339
from sim.protocol.rng import Rng

__all__ = [
    "BootstrapToken", "generate_bootstrap_token", "get_expiration", "get_groups", "has_expired",
    "is_valid_bootstrap_token", "is_valid_bootstrap_token_id", "parse_token", "secret_name",
    "token_from_secret", "token_to_secret", "validate_group", "validate_groups", "validate_usages",
]


def _go_regex(pattern: str) -> re.Pattern[str]:
    """Compile a Go pattern; Go's ``\\z`` (end of text) is Python's ``\\Z``."""
    return re.compile(pattern.replace(r"\z", r"\Z"))


_TOKEN_RE = _go_regex(C.BOOTSTRAP_TOKEN_PATTERN)
_TOKEN_ID_RE = _go_regex(C.BOOTSTRAP_TOKEN_ID_PATTERN)
_GROUP_RE = _go_regex(C.BOOTSTRAP_GROUP_PATTERN)


def is_valid_bootstrap_token_id(s: str) -> bool:
    """Tell whether ``s`` is a token id (``[a-z0-9]{6}``)."""
    return _TOKEN_ID_RE.match(s) is not None


def is_valid_bootstrap_token(s: str) -> bool:
    """Tell whether ``s`` is a token, with upstream's split-then-walk algorithm.

    Upstream avoids running the regex over the secret (a timing side channel)
    and instead checks its byte length and walks every byte (token/util/helpers.go).
    """
    parts = s.split(".")
    if len(parts) != 2 or not is_valid_bootstrap_token_id(parts[0]):
        return False
    secret = parts[1].encode()
    if len(secret) != C.BOOTSTRAP_TOKEN_SECRET_BYTES:
        return False
    ok = True
    for c in secret:
        ok &= (48 <= c <= 57) or (97 <= c <= 122)  # no early exit, like upstream
    return ok


def generate_bootstrap_token(rng: Rng) -> str:
    """Draw a token, each character uniform over ``[0-9a-z]`` (upstream uses ``rand.Int(36)``)."""
    def draw(n: int) -> str:
        return "".join(C.BOOTSTRAP_TOKEN_CHARS[rng.randrange(len(C.BOOTSTRAP_TOKEN_CHARS))] for _ in range(n))
    return f"{draw(C.BOOTSTRAP_TOKEN_ID_BYTES)}.{draw(C.BOOTSTRAP_TOKEN_SECRET_BYTES)}"


def parse_token(s: str) -> tuple[str, str]:
    """Split a token into (id, secret) or fail with kubeadm's NewBootstrapTokenString text."""
    m = _TOKEN_RE.match(s)
    if m is None:
        raise TokenError(
            f"the bootstrap token {go_quote(s)} was not of the form {go_quote(C.BOOTSTRAP_TOKEN_PATTERN)}"
        )
    return m.group(1), m.group(2)


def secret_name(token_id: str) -> str:
    """Return the name of the Secret that stores a token (``bootstrap-token-<id>``)."""
    return C.BOOTSTRAP_TOKEN_SECRET_PREFIX + token_id


def validate_usages(usages: Iterable[str]) -> None:
    """Reject unknown usages, listing them sorted and de-duplicated, as upstream does."""
    bad = sorted(set(usages) - set(C.KNOWN_TOKEN_USAGES))
    if bad:
        raise TokenError(
            f"invalid bootstrap token usage string: {','.join(bad)}, "
            f"valid usage options: {','.join(C.KNOWN_TOKEN_USAGES)}"
        )


def validate_group(group: str) -> None:
    """Reject a group outside ``system:bootstrappers:*`` (the plain group itself is rejected too)."""
    if _GROUP_RE.match(group) is None:
        raise TokenError(f"bootstrap group {go_quote(group)} is invalid (must match {C.BOOTSTRAP_GROUP_PATTERN})")


def validate_groups(groups: Iterable[str]) -> None:
    """Reject the first invalid extra group."""
    for group in groups:
        validate_group(group)


@dataclass(frozen=True, slots=True, kw_only=True)
class BootstrapToken:
    """Describe a token as kubeadm's BootstrapToken does; ``ttl`` is seconds.

    ``expires`` wins over ``ttl`` when both are set, as in encodeTokenSecretData.
    """

    token_id: str
    token_secret: str
    description: str = ""
    ttl: float | None = C.DEFAULT_TOKEN_TTL
    expires: datetime | None = None
    usages: tuple[str, ...] = C.DEFAULT_TOKEN_USAGES
    groups: tuple[str, ...] = C.DEFAULT_TOKEN_GROUPS

    @property
    def token(self) -> str:
        """Return the full ``id.secret`` string."""
        return f"{self.token_id}.{self.token_secret}"

    @classmethod
    def from_string(cls, s: str, **kw: Any) -> BootstrapToken:
        """Build a token from ``id.secret``, validating its form first."""
        token_id, token_secret = parse_token(s)
        return cls(token_id=token_id, token_secret=token_secret, **kw)


def token_to_secret(token: BootstrapToken, now: datetime) -> dict[str, Any]:
    """Return the Secret kubeadm writes for a token (encodeTokenSecretData).

    A TTL of 0 (or None) writes no expiration, so the token never expires.
    """
    data: dict[str, str] = {C.BOOTSTRAP_TOKEN_ID_KEY: token.token_id, C.BOOTSTRAP_TOKEN_SECRET_KEY: token.token_secret}
    if token.description:
        data[C.BOOTSTRAP_TOKEN_DESCRIPTION_KEY] = token.description
    expires = token.expires
    if expires is None and token.ttl is not None and token.ttl > 0:
        expires = now + timedelta(seconds=token.ttl)
    if expires is not None:
        data[C.BOOTSTRAP_TOKEN_EXPIRATION_KEY] = objects.format_time(expires.astimezone(timezone.utc))
    for usage in token.usages:
        data[C.BOOTSTRAP_TOKEN_USAGE_PREFIX + usage] = "true"
    if token.groups:
        data[C.BOOTSTRAP_TOKEN_EXTRA_GROUPS_KEY] = ",".join(token.groups)
    return objects.secret(secret_name(token.token_id), C.KUBE_SYSTEM_NAMESPACE, data, C.SECRET_TYPE_BOOTSTRAP_TOKEN)


def token_from_secret(secret: Mapping[str, Any]) -> BootstrapToken:
    """Decode a token Secret as BootstrapTokenFromSecret does, with its error texts.

    Usages come from every ``usage-bootstrap-*: "true"`` key, sorted; the
    result has ``expires`` from the stored time and no ``ttl``.
    """
    name, data = objects.name_of(secret), objects.secret_data(secret)
    token_id = data.get(C.BOOTSTRAP_TOKEN_ID_KEY, "")
    if not token_id:
        raise TokenError(f"bootstrap Token Secret has no token-id data: {name}")
    if name != secret_name(token_id):
        raise TokenError(
            f"bootstrap token name is not of the form '{C.BOOTSTRAP_TOKEN_SECRET_PREFIX}(token-id)'. "
            f"Actual: {go_quote(name)}. Expected: {go_quote(secret_name(token_id))}"
        )
    token_secret = data.get(C.BOOTSTRAP_TOKEN_SECRET_KEY, "")
    if not token_secret:
        raise TokenError(f"bootstrap Token Secret has no token-secret data: {name}")
    try:
        parse_token(f"{token_id}.{token_secret}")
    except TokenError as err:
        raise TokenError(wrap("bootstrap Token Secret is invalid and couldn't be parsed", err)) from err
    expires = None
    if raw := data.get(C.BOOTSTRAP_TOKEN_EXPIRATION_KEY, ""):
        try:
            expires = parse_rfc3339(raw)
        except ValueError as err:
            raise TokenError(wrap(f"can't parse expiration time of bootstrap token {go_quote(name)}", err)) from err
    usages = sorted(k[len(C.BOOTSTRAP_TOKEN_USAGE_PREFIX):] for k, v in data.items()
                    if k.startswith(C.BOOTSTRAP_TOKEN_USAGE_PREFIX) and v == "true")
    groups_raw = data.get(C.BOOTSTRAP_TOKEN_EXTRA_GROUPS_KEY, "")
    return BootstrapToken(
        token_id=token_id, token_secret=token_secret, description=data.get(C.BOOTSTRAP_TOKEN_DESCRIPTION_KEY, ""),
        ttl=None, expires=expires, usages=tuple(usages), groups=tuple(groups_raw.split(",")) if groups_raw else (),
    )


def get_expiration(data: Mapping[str, str], now: datetime) -> tuple[bool, float | None]:
    """Return (expired, seconds remaining) of decoded Secret data (secrets.go GetExpiration).

    ``now`` is the checking component's own aware clock. No expiration: ``(False, None)``. Unparseable: expired. Remaining ``<= 0``:
    expired, with no grace; an expired token reports ``0.0`` remaining.
    """
    raw = data.get(C.BOOTSTRAP_TOKEN_EXPIRATION_KEY, "")
    if not raw:
        return False, None
    try:
        remaining = (parse_rfc3339(raw) - now).total_seconds()
    except ValueError:
        return True, 0.0
    return (True, 0.0) if remaining <= 0 else (False, remaining)


def has_expired(data: Mapping[str, str], now: datetime) -> bool:
    """Tell whether decoded Secret data is expired at ``now``."""
    return get_expiration(data, now)[0]


def get_groups(data: Mapping[str, str]) -> list[str]:
    """Return the authenticated groups: the default group plus valid extras, sorted.

    Any invalid extra group fails the whole token (secrets.go GetGroups).
    Entries are not trimmed, so ``"a, b"`` fails on ``" b"``.
    """
    groups = {C.BOOTSTRAP_DEFAULT_GROUP}
    extra = data.get(C.BOOTSTRAP_TOKEN_EXTRA_GROUPS_KEY, "")
    if extra:
        for group in extra.split(","):
            validate_group(group)
            groups.add(group)
    return sorted(groups)
