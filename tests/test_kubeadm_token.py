"""Check ``kubeadm token create|list|delete|generate`` and the join command against upstream token.go / join.go."""

from __future__ import annotations

import random
from datetime import datetime, timezone
from typing import Any

import pytest

from sim.control import kubeadm
from sim.control.store import Store
from sim.protocol import objects, tokenlist, tokens
from sim.protocol.errors import TokenError
from sim.protocol.tokens import BootstrapToken

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
TOKEN = "abcdef.0123456789abcdef"
PATTERNS = r'"\\A([a-z0-9]{6})\\.([a-z0-9]{16})\\z" or "\\A([a-z0-9]{6})\\z"'
GOLDEN_PIN = "sha256:e16b0bfee56034075874d53d625e555c100f96ec3e1fc5dc488283c76fe1e3bf"


@pytest.fixture(scope="module")
def secrets() -> kubeadm.ClusterSecrets:
    # Same seeds as test_kubeadm_init's golden cluster.
    return kubeadm.init(Store(random.Random(0)), now=NOW, rng=random.Random(1), endpoint="10.0.0.1:6443",
                        ca_key_type="ecdsa")[0]


def test_create_then_list(store: Store) -> None:
    token = BootstrapToken.from_string(TOKEN, description="for node-1")
    kubeadm.create_token(store, NOW, token)
    found, errors = kubeadm.list_tokens(store, NOW)
    assert errors == []
    (listed,) = found
    assert (listed.token, listed.description, listed.usages, listed.groups) == (
        TOKEN, "for node-1", ("authentication", "signing"), ("system:bootstrappers:kubeadm:default-node-token",))
    assert tokenlist.format_token_list(found, NOW).splitlines()[1].startswith(f"{TOKEN}   1d ")


def test_create_refuses_an_existing_id(store: Store) -> None:
    kubeadm.create_token(store, NOW, BootstrapToken.from_string(TOKEN))
    with pytest.raises(TokenError) as err:
        kubeadm.create_token(store, NOW, BootstrapToken.from_string("abcdef.ffffffffffffffff"))
    assert str(err.value) == 'a token with id "abcdef" already exists'


def bad(name: str, **data: str) -> dict[str, Any]:
    return objects.secret(name, "kube-system", data, "bootstrap.kubernetes.io/token")


@pytest.mark.parametrize(
    ("secret", "stderr"),
    [
        pytest.param(bad("bootstrap-token-abcdef", **{"token-id": "abcdef"}),
                     "bootstrap Token Secret has no token-secret data: bootstrap-token-abcdef",
                     id="invalid: no token-secret"),
        pytest.param(bad("bootstrap-token-abcdef", **{"token-secret": "0123456789abcdef"}),
                     "bootstrap Token Secret has no token-id data: bootstrap-token-abcdef", id="invalid: no token-id"),
        pytest.param(bad("bootstrap-token-zzzzzz", **{"token-id": "abcdef", "token-secret": "0123456789abcdef"}),
                     "bootstrap token name is not of the form 'bootstrap-token-(token-id)'. "
                     'Actual: "bootstrap-token-zzzzzz". Expected: "bootstrap-token-abcdef"',
                     id="invalid: name does not match id"),
    ],
)
def test_list_skips_malformed_secrets_with_a_stderr_line(store: Store, secret: dict[str, Any], stderr: str) -> None:
    kubeadm.create_token(store, NOW, BootstrapToken.from_string("zyxwvu.0123456789abcdef"))
    store.create("secrets", secret, NOW)
    store.create("secrets", objects.secret("not-a-token", "kube-system", {"token-id": "x"}), NOW)
    found, errors = kubeadm.list_tokens(store, NOW)
    assert [t.token for t in found] == ["zyxwvu.0123456789abcdef"]
    assert errors == [stderr]


def test_list_reports_an_unparseable_expiration(store: Store) -> None:
    store.create("secrets", bad("bootstrap-token-abcdef", **{"token-id": "abcdef", "token-secret": "0123456789abcdef",
                                                            "expiration": "soon"}), NOW)
    found, (error,) = kubeadm.list_tokens(store, NOW)
    assert found == []
    assert error.startswith('can\'t parse expiration time of bootstrap token "bootstrap-token-abcdef": ')


@pytest.mark.parametrize(
    "arg",
    [pytest.param("abcdef", id="valid: by id"), pytest.param(TOKEN, id="valid: by full token")],
)
def test_delete(store: Store, arg: str) -> None:
    kubeadm.create_token(store, NOW, BootstrapToken.from_string(TOKEN))
    assert kubeadm.delete_token(store, arg) == 'bootstrap token "abcdef" deleted'
    assert kubeadm.list_tokens(store, NOW) == ([], [])


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        pytest.param("ABCDEF", f"given token didn't match pattern {PATTERNS}", id="invalid: upper-case id"),
        pytest.param("abcdef.short", f"given token didn't match pattern {PATTERNS}", id="invalid: short secret"),
        pytest.param("abcdef", 'failed to delete bootstrap token "abcdef": '
                     'secrets "bootstrap-token-abcdef" not found', id="invalid: no such token"),
    ],
)
def test_delete_errors(store: Store, arg: str, message: str) -> None:
    with pytest.raises(TokenError) as err:
        kubeadm.delete_token(store, arg)
    assert str(err.value) == message


def test_delete_tokens_needs_an_argument(store: Store) -> None:
    with pytest.raises(TokenError) as err:
        kubeadm.delete_tokens(store, [])
    assert str(err.value) == f"missing argument; 'token delete' is missing token of form {PATTERNS}"


def test_generate_is_valid_and_seeded() -> None:
    first = kubeadm.generate_token(random.Random(5))
    assert tokens.is_valid_bootstrap_token(first) and first == kubeadm.generate_token(random.Random(5))


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        pytest.param({"usages": ["signing", "authentication"], "groups": ["system:bootstrappers:x"]}, None,
                     id="valid: groups with authentication"),
        pytest.param({"usages": ["signing"], "groups": []}, None, id="valid: signing only, no groups"),
        pytest.param({"usages": ["signing"], "groups": ["system:bootstrappers:x"]},
                     'token groups cannot be specified unless --usages includes "authentication"',
                     id="invalid: groups without authentication"),
        pytest.param({"usages": ["authentication"], "groups": ["system:nodes"]},
                     'bootstrap group "system:nodes" is invalid '
                     r"(must match \Asystem:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]\z)", id="invalid: bad group"),
        pytest.param({"usages": ["signing", "bogus"], "groups": []},
                     "invalid bootstrap token usage string: bogus, valid usage options: signing,authentication",
                     id="invalid: unknown usage"),
        pytest.param({"usages": ["signing"], "groups": [], "certificate_key": "ab" * 32},
                     "cannot use --certificate-key without --print-join-command",
                     id="invalid: certificate key without join command"),
        pytest.param({"usages": ["signing"], "groups": [], "certificate_key": "ab" * 32, "print_join_command": True},
                     None, id="valid: certificate key with join command"),
    ],
)
def test_validate_token_flags(kw: dict[str, Any], message: str | None) -> None:
    if message is None:
        kubeadm.validate_token_flags(**kw)
    else:
        with pytest.raises(TokenError) as err:
            kubeadm.validate_token_flags(**kw)
        assert str(err.value) == message


def test_print_join_command_golden(secrets: kubeadm.ClusterSecrets) -> None:
    assert kubeadm.join_command(secrets, TOKEN) == (
        f"kubeadm join 10.0.0.1:6443 --token {TOKEN} --discovery-token-ca-cert-hash {GOLDEN_PIN} ")


def test_print_join_command_control_plane(secrets: kubeadm.ClusterSecrets) -> None:
    key = "0f" * 32
    assert kubeadm.join_command(secrets, TOKEN, key) == (
        f"kubeadm join 10.0.0.1:6443 --token {TOKEN} --discovery-token-ca-cert-hash {GOLDEN_PIN} "
        f"--control-plane --certificate-key {key}")


@pytest.mark.parametrize(
    ("pins", "control_plane", "key", "expected"),
    [
        pytest.param(["sha256:aa"], False, "", "kubeadm join h:1 --token t \\\n\t--discovery-token-ca-cert-hash "
                     "sha256:aa ", id="valid: one CA"),
        pytest.param(["sha256:aa", "sha256:bb"], False, "", "kubeadm join h:1 --token t \\\n\t"
                     "--discovery-token-ca-cert-hash sha256:aa --discovery-token-ca-cert-hash sha256:bb ",
                     id="valid: one hash per CA certificate"),
        pytest.param(["sha256:aa"], True, "", "kubeadm join h:1 --token t \\\n\t--discovery-token-ca-cert-hash "
                     "sha256:aa \\\n\t--control-plane ", id="valid: control plane without key"),
        pytest.param(["sha256:aa"], True, "k", "kubeadm join h:1 --token t \\\n\t--discovery-token-ca-cert-hash "
                     "sha256:aa \\\n\t--control-plane --certificate-key k", id="valid: control plane with key"),
    ],
)
def test_join_command_raw(pins: list[str], control_plane: bool, key: str, expected: str) -> None:
    assert kubeadm.join_command_raw("h:1", "t", pins, control_plane=control_plane, certificate_key=key) == expected
