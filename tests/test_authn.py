"""Test the authenticator chain: client certificates, the bootstrap-token authenticator, its cache, anonymous."""

from __future__ import annotations

from typing import Any

import pytest

from sim.control.authn import INVALID_BEARER_TOKEN, Authenticator, UserInfo
from sim.protocol.errors import ApiStatusError
from sim.protocol.http import ClientSubject, Request
from tests.api_fixtures import (
    NODE_GROUP, NOW, TOKEN, TOKEN_ID, TOKEN_SECRET, UNAUTHORIZED, call, later, make_server, token_secret,
)

PREFIX = f"Bootstrap secret kube-system/bootstrap-token-{TOKEN_ID} matching bearer token "
BAD_GROUP = "bootstrap group \"system:bootstrappers\" is invalid (must match " \
            r"\Asystem:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]\z)"


def bearer(token: str) -> Request:
    return Request.build("GET", "/api/v1/nodes/x", bearer=token)


def test_valid_token_authenticates_as_bootstrap_user_with_sorted_groups() -> None:
    api, _ = make_server()
    user = api.authenticator.authenticate(bearer(TOKEN), NOW)
    assert user == UserInfo(name=f"system:bootstrap:{TOKEN_ID}",
                            groups=("system:bootstrappers", NODE_GROUP, "system:authenticated"))
    assert api.authenticator.last_failure == ""


def test_extra_groups_are_deduplicated_and_sorted_with_the_default_group_first() -> None:
    api, store = make_server(with_token=False)
    store.create("secrets", token_secret(auth_extra_groups="system:bootstrappers:b,system:bootstrappers:a,"
                                                           "system:bootstrappers:b"), NOW)
    user = api.authenticator.bootstrap_token_user(TOKEN, NOW)
    assert user is not None
    assert user.groups == ("system:bootstrappers", "system:bootstrappers:a", "system:bootstrappers:b")


def _secret_with(**data: Any) -> dict[str, Any]:
    return token_secret(**data)


FAILURES = [
    pytest.param(TOKEN, _secret_with(expiration="2025-01-01T11:59:59Z"),
                 "Expired bootstrap token in kube-system/bootstrap-token-abcdef Secret: 2025-01-01T11:59:59Z",
                 id="invalid: expired a second ago"),
    pytest.param(TOKEN, _secret_with(expiration="2025-01-01T12:00:00Z"),
                 "Expired bootstrap token in kube-system/bootstrap-token-abcdef Secret: 2025-01-01T12:00:00Z",
                 id="invalid: expiring exactly now (no grace)"),
    pytest.param(TOKEN, _secret_with(expiration="tomorrow"),
                 'Unparseable expiration time (tomorrow) in kube-system/bootstrap-token-abcdef Secret: parsing time '
                 '"tomorrow" as "2006-01-02T15:04:05Z07:00": cannot parse "tomorrow" as "2006". Treating as expired.',
                 id="invalid: unparseable expiration"),
    pytest.param(f"{TOKEN_ID}.ffffffffffffffff", _secret_with(),
                 PREFIX + "has invalid value for key token-secret, expected ffffffffffffffff.",
                 id="invalid: wrong secret (the log shows the presented one)"),
    pytest.param("zzzzzz.0123456789abcdef", _secret_with(),
                 "No secret of name bootstrap-token-zzzzzz to match bootstrap bearer token",
                 id="invalid: unknown id"),
    pytest.param(TOKEN, _secret_with(**{"token-id": "zzzzzz"}),
                 PREFIX + "has invalid value for key token-id, expected abcdef.",
                 id="invalid: token-id key differs from the name"),
    pytest.param(TOKEN, _secret_with(usage_bootstrap_authentication=None),
                 PREFIX + "not marked usage-bootstrap-authentication=true.",
                 id="invalid: not for authentication"),
    pytest.param(TOKEN, _secret_with(usage_bootstrap_authentication="True"),
                 PREFIX + "not marked usage-bootstrap-authentication=true.",
                 id="invalid: authentication usage not exactly true"),
    pytest.param(TOKEN, _secret_with(auth_extra_groups="system:bootstrappers"),
                 PREFIX + f"has invalid value for key auth-extra-groups: {BAD_GROUP}.",
                 id="invalid: bad extra group"),
    pytest.param(TOKEN, dict(_secret_with(), type="Opaque"),
                 PREFIX + "has invalid type, expected bootstrap.kubernetes.io/token.",
                 id="invalid: not a bootstrap token Secret"),
    pytest.param(TOKEN, {**_secret_with(), "metadata": {**_secret_with()["metadata"],
                                                        "deletionTimestamp": "2025-01-01T11:00:00Z"}},
                 PREFIX + "is deleted and awaiting removal",
                 id="invalid: deletion pending"),
    pytest.param("ABCDEF.0123456789abcdef", _secret_with(), INVALID_BEARER_TOKEN,
                 id="invalid: malformed token is silently ignored by the authenticator"),
]


@pytest.mark.parametrize(("token", "secret", "reason"), FAILURES)
def test_rejected_tokens_get_the_identical_401_and_the_upstream_log_line(
        token: str, secret: dict[str, Any], reason: str) -> None:
    api, store = make_server(with_token=False)
    store.create("secrets", secret, NOW)
    response = call(api, "GET", "/api/v1/namespaces/kube-public/configmaps/cluster-info", bearer=token)
    assert (response.status, response.body) == (401, UNAUTHORIZED)
    assert api.authenticator.last_failure == reason


def test_deleted_secret_fails_once_the_cache_entry_is_gone() -> None:
    api, store = make_server()
    store.delete("secrets", "kube-system", f"bootstrap-token-{TOKEN_ID}")
    assert api.authenticator.bootstrap_token_user(TOKEN, NOW) is None
    assert api.authenticator.last_failure == "No secret of name bootstrap-token-abcdef to match bootstrap bearer token"


@pytest.mark.parametrize(("elapsed", "works"), [
    pytest.param(0.0, True, id="valid: same instant"),
    pytest.param(9.999, True, id="valid: just under 10 s"),
    pytest.param(10.0, False, id="invalid: at 10 s the entry has expired (expiring.go: now must be Before expiry)"),
    pytest.param(10.001, False, id="invalid: after 10 s"),
])
def test_success_is_cached_for_10_seconds_after_the_token_is_deleted(elapsed: float, works: bool) -> None:
    api, store = make_server()
    path = "/api/v1/nodes/missing"
    assert call(api, "GET", path, bearer=TOKEN).status == 404
    store.delete("secrets", "kube-system", f"bootstrap-token-{TOKEN_ID}")
    response = call(api, "GET", path, bearer=TOKEN, now=later(elapsed))
    assert response.status == (404 if works else 401)


def test_failures_are_not_cached() -> None:
    api, store = make_server(with_token=False)
    assert call(api, "GET", "/api/v1/nodes/x", bearer=TOKEN).status == 401
    store.create("secrets", token_secret(), NOW)
    assert call(api, "GET", "/api/v1/nodes/x", bearer=TOKEN, now=later(0.001)).status == 404


def test_expired_token_keeps_working_while_cached() -> None:
    api, store = make_server(with_token=False)
    store.create("secrets", token_secret(expiration="2025-01-01T12:00:05Z"), NOW)
    assert call(api, "GET", "/api/v1/nodes/x", bearer=TOKEN, now=later(4)).status == 404
    assert call(api, "GET", "/api/v1/nodes/x", bearer=TOKEN, now=later(6)).status == 404
    assert call(api, "GET", "/api/v1/nodes/x", bearer=TOKEN, now=later(14.5)).status == 401


def test_cache_can_be_disabled() -> None:
    api, store = make_server(token_cache_ttl=0)
    assert call(api, "GET", "/api/v1/nodes/x", bearer=TOKEN).status == 404
    store.delete("secrets", "kube-system", f"bootstrap-token-{TOKEN_ID}")
    assert call(api, "GET", "/api/v1/nodes/x", bearer=TOKEN).status == 401


@pytest.mark.parametrize("header", [
    pytest.param(None, id="valid: no Authorization header"),
    pytest.param("Bearer ", id="valid: empty bearer token"),
    pytest.param("Bearer", id="valid: scheme only"),
    pytest.param("Basic dXNlcjpwYXNz", id="valid: another scheme"),
])
def test_requests_without_a_token_are_anonymous(header: str | None) -> None:
    api, _ = make_server()
    headers = {} if header is None else {"Authorization": header}
    request = Request(method="GET", path="/version", headers=headers)
    user = api.authenticator.authenticate(request, NOW)
    assert user == UserInfo(name="system:anonymous", groups=("system:unauthenticated",))


def test_anonymous_disabled_gives_401() -> None:
    api, _ = make_server(anonymous_auth=False)
    response = call(api, "GET", "/version")
    assert (response.status, response.body) == (401, UNAUTHORIZED)


def test_a_bad_token_is_401_even_on_public_paths() -> None:
    api, _ = make_server()
    assert call(api, "GET", "/version", bearer="nope").status == 401
    assert call(api, "GET", "/version").status == 200


@pytest.mark.parametrize(("subject", "expected"), [
    pytest.param(ClientSubject(common_name="system:node:n1", organizations=("system:nodes",)),
                 UserInfo(name="system:node:n1", groups=("system:nodes", "system:authenticated")), id="valid: kubelet"),
    pytest.param(ClientSubject(common_name="kubernetes-admin", organizations=("system:masters",)),
                 UserInfo(name="kubernetes-admin", groups=("system:masters", "system:authenticated")), id="valid: admin"),
    pytest.param(ClientSubject(common_name="system:kube-controller-manager"),
                 UserInfo(name="system:kube-controller-manager", groups=("system:authenticated",)),
                 id="valid: no organization"),
])
def test_client_certificates_map_cn_and_o(subject: ClientSubject, expected: UserInfo) -> None:
    api, _ = make_server()
    assert api.authenticator.authenticate(Request.build("GET", "/version", client=subject), NOW) == expected


def test_client_certificate_without_common_name_is_no_identity() -> None:
    api, _ = make_server()
    request = Request.build("GET", "/version", client=ClientSubject(common_name="", organizations=("system:masters",)))
    assert api.authenticator.authenticate(request, NOW).name == "system:anonymous"


def test_client_certificate_wins_over_a_bad_token() -> None:
    api, _ = make_server()
    request = Request.build("GET", "/version", bearer="garbage", client=ClientSubject(common_name="u"))
    assert api.authenticator.authenticate(request, NOW).name == "u"


def test_authenticate_raises_the_unauthorized_status() -> None:
    api, _ = make_server()
    with pytest.raises(ApiStatusError) as info:
        api.authenticator.authenticate(bearer("x"), NOW)
    assert info.value.status == UNAUTHORIZED


def test_standalone_authenticator_over_an_empty_store() -> None:
    from random import Random
    from sim.control.store import Store
    auth = Authenticator(Store(Random(0)), anonymous_auth=False, token_cache_ttl=1.0)
    assert auth.bootstrap_token_user(TOKEN, NOW) is None
    assert TOKEN_SECRET not in auth.last_failure
