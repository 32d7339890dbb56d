"""Authenticate API requests as kube-apiserver's authenticator chain does (kubeadm's flags).

How this works: the chain is a union tried in order, then wrapped.
1. A client certificate the driver's TLS layer verified: user = CN, groups = O.
2. A bearer token: the only token authenticator is the bootstrap-token one
   (``--enable-bootstrap-token-auth``), behind a cache that keeps successes
   for 10 s and failures for 0 s. A token it rejects is an error, so the
   request gets 401 even on public paths; it is never treated as anonymous.
3. Otherwise (no ``Authorization`` header, a non-bearer scheme, or an empty
   ``Bearer ``), the anonymous user, if anonymous auth is on; else 401.
Every authenticated user gains ``system:authenticated``; anonymous is in
``system:unauthenticated`` only.
Upstream: pkg/kubeapiserver/authenticator/config.go,
staging/src/k8s.io/apiserver/pkg/authentication/request/bearertoken/bearertoken.go,
staging/src/k8s.io/apiserver/pkg/authentication/token/cache/cached_token_authenticator.go,
staging/src/k8s.io/apiserver/pkg/util/cache/expiring.go,
plugin/pkg/auth/authenticator/token/bootstrap/bootstrap.go.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, Mapping

from sim.control import status
from sim.control.store import Store
from sim.protocol import gotime, objects, tokens
from sim.protocol.constants import (
    ANONYMOUS_USER, AUTHENTICATED_GROUP, BOOTSTRAP_TOKEN_EXPIRATION_KEY, BOOTSTRAP_TOKEN_EXTRA_GROUPS_KEY,
    BOOTSTRAP_TOKEN_ID_KEY, BOOTSTRAP_TOKEN_PATTERN, BOOTSTRAP_TOKEN_SECRET_KEY, BOOTSTRAP_TOKEN_SECRET_PREFIX,
    BOOTSTRAP_TOKEN_USAGE_AUTHENTICATION, BOOTSTRAP_USER_PREFIX, KUBE_SYSTEM_NAMESPACE, SECRET_TYPE_BOOTSTRAP_TOKEN,
    TOKEN_SUCCESS_CACHE_TTL, UNAUTHENTICATED_GROUP,
)
from sim.protocol.errors import TokenError
from sim.protocol.http import Request

__all__ = ["Authenticator", "INVALID_BEARER_TOKEN", "UserInfo", "anonymous_user"]

INVALID_BEARER_TOKEN = "invalid bearer token"
"""The error the bearer-token authenticator returns when no token authenticator accepted the token."""

_EMPTY_EXTRA: Mapping[str, tuple[str, ...]] = MappingProxyType({})
# util/tokens/tokens.go ParseToken uses the full token regex (Go's \z is Python's \Z).
_TOKEN_RE = re.compile(BOOTSTRAP_TOKEN_PATTERN.replace(r"\z", r"\Z"))


@dataclass(frozen=True, slots=True, kw_only=True)
class UserInfo:
    """Describe an authenticated identity (user.Info): name, uid, groups and extra."""

    name: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: _EMPTY_EXTRA, hash=False)

    def to_json(self) -> dict[str, Any]:
        """Return the ``userInfo`` shape of the authentication API (empty uid and extra omitted)."""
        out: dict[str, Any] = {"username": self.name}
        if self.uid:
            out["uid"] = self.uid
        out["groups"] = list(self.groups)
        if self.extra:
            out["extra"] = {k: list(v) for k, v in self.extra.items()}
        return out


def anonymous_user() -> UserInfo:
    """Return the anonymous user the apiserver assigns to requests without credentials."""
    return UserInfo(name=ANONYMOUS_USER, groups=(UNAUTHENTICATED_GROUP,))


def _with_authenticated(user: UserInfo) -> UserInfo:
    """Add ``system:authenticated`` unless present (group.AuthenticatedGroupAdder)."""
    if AUTHENTICATED_GROUP in user.groups:
        return user
    return UserInfo(name=user.name, uid=user.uid, groups=(*user.groups, AUTHENTICATED_GROUP), extra=user.extra)


class Authenticator:
    """Turn a request into a ``UserInfo`` or raise the 401 ``Status``; keep the last V(3) reason."""

    def __init__(self, store: Store, *, anonymous_auth: bool = True,
                 token_cache_ttl: float = TOKEN_SUCCESS_CACHE_TTL) -> None:
        self._store = store
        self.anonymous_auth = anonymous_auth
        self.token_cache_ttl = token_cache_ttl
        self._cache: dict[str, tuple[datetime, UserInfo]] = {}
        self.last_failure: str = ""
        """The V(3) log line of the last rejected credential ("" if the last request raised none)."""

    def authenticate(self, request: Request, now: datetime) -> UserInfo:
        """Return the request's user, or raise ``status.unauthorized()`` for a bad credential."""
        self.last_failure = ""
        if request.client is not None and request.client.common_name:  # x509: an empty CN is no identity
            subject = request.client
            return _with_authenticated(UserInfo(name=subject.common_name, groups=tuple(subject.organizations)))
        token = _bearer_token(request.header("Authorization"))
        if token is not None:
            user = self._authenticate_token(token, now)
            if user is None:
                raise status.unauthorized()
            return _with_authenticated(user)
        if self.anonymous_auth:
            return anonymous_user()
        self.last_failure = "no credentials and anonymous authentication is disabled"
        raise status.unauthorized()

    def _authenticate_token(self, token: str, now: datetime) -> UserInfo | None:
        """Consult the success cache, then the bootstrap-token authenticator (failures are not cached)."""
        cached = self._cache.get(token)
        if cached is not None:
            expiry, hit = cached
            if now < expiry:  # expiring.go: an entry is gone once now is not Before(expiry)
                return hit
            del self._cache[token]
        user = self.bootstrap_token_user(token, now)
        if user is None:
            if not self.last_failure:
                self.last_failure = INVALID_BEARER_TOKEN
            return None
        if self.token_cache_ttl > 0:
            self._cache[token] = (now + timedelta(seconds=self.token_cache_ttl), user)
        return user

    def bootstrap_token_user(self, token: str, now: datetime) -> UserInfo | None:
        """Run the bootstrap-token authenticator alone (no cache, no ``system:authenticated``).

        Returns None when the token is not accepted; ``last_failure`` then
        holds upstream's V(3) log line (empty for a token of the wrong form,
        which upstream ignores silently).
        """
        self.last_failure = ""
        match = _TOKEN_RE.match(token)
        if match is None:
            return None
        token_id, token_secret = match.group(1), match.group(2)
        name = BOOTSTRAP_TOKEN_SECRET_PREFIX + token_id
        secret = self._store.peek("secrets", KUBE_SYSTEM_NAMESPACE, name)
        if secret is None:
            self.last_failure = f"No secret of name {name} to match bootstrap bearer token"
            return None
        prefix = f"Bootstrap secret {objects.namespace_of(secret)}/{objects.name_of(secret)} matching bearer token "
        if (secret.get("metadata") or {}).get("deletionTimestamp"):
            self.last_failure = prefix + "is deleted and awaiting removal"
            return None
        if secret.get("type") != SECRET_TYPE_BOOTSTRAP_TOKEN or secret.get("data") is None:
            self.last_failure = prefix + f"has invalid type, expected {SECRET_TYPE_BOOTSTRAP_TOKEN}."
            return None
        data = objects.secret_data(secret)
        if not hmac.compare_digest(data.get(BOOTSTRAP_TOKEN_SECRET_KEY, "").encode(), token_secret.encode()):
            self.last_failure = (prefix + f"has invalid value for key {BOOTSTRAP_TOKEN_SECRET_KEY}, "
                                 f"expected {token_secret}.")
            return None
        if data.get(BOOTSTRAP_TOKEN_ID_KEY, "") != token_id:
            self.last_failure = prefix + f"has invalid value for key {BOOTSTRAP_TOKEN_ID_KEY}, expected {token_id}."
            return None
        if tokens.has_expired(data, now):
            self.last_failure = _expiry_log(secret, data[BOOTSTRAP_TOKEN_EXPIRATION_KEY])
            return None
        if data.get(BOOTSTRAP_TOKEN_USAGE_AUTHENTICATION) != "true":
            self.last_failure = prefix + f"not marked {BOOTSTRAP_TOKEN_USAGE_AUTHENTICATION}=true."
            return None
        try:
            groups = tokens.get_groups(data)
        except TokenError as err:
            self.last_failure = prefix + f"has invalid value for key {BOOTSTRAP_TOKEN_EXTRA_GROUPS_KEY}: {err}."
            return None
        return UserInfo(name=BOOTSTRAP_USER_PREFIX + token_id, groups=tuple(groups))


def _bearer_token(header: str | None) -> str | None:
    """Extract a bearer token as bearertoken.go does; None means "no token credential"."""
    if header is None:
        return None
    auth = header.strip()
    parts = auth.split(" ", 2)
    if len(parts) < 2 or parts[0].lower() != "bearer":
        return None
    return parts[1] or None


def _expiry_log(secret: Mapping[str, Any], raw: str) -> str:
    """Return GetExpiration's V(3) line for an expired or unparseable expiration (secrets.go)."""
    where = f"{objects.namespace_of(secret)}/{objects.name_of(secret)}"
    try:
        gotime.parse_rfc3339(raw)
    except ValueError as err:
        return f"Unparseable expiration time ({raw}) in {where} Secret: {err}. Treating as expired."
    return f"Expired bootstrap token in {where} Secret: {raw}"
