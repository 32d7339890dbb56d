"""Run ``kubeadm token create|list|delete|generate`` and render the join command, as kubeadm prints them.

How this works: the commands act on the store as kubeadm with admin.conf
would through the API (same semantics, no client round-trips). A token is a
``kube-system/bootstrap-token-<id>`` Secret; ``create`` refuses an id that
exists, ``list`` decodes every token Secret and reports the ones that do not
decode on stderr, ``delete`` accepts an id or a whole token. The join command
is built from the admin kubeconfig's current cluster: its server URL with
``https://`` cut off, and one CA public-key pin per CA certificate.
Upstream: cmd/kubeadm/app/cmd/token.go, cmd/kubeadm/app/cmd/util/join.go,
cmd/kubeadm/app/phases/bootstraptoken/node/token.go,
cmd/kubeadm/app/apis/kubeadm/validation/validation.go (ValidateTokenGroups).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from sim.control.store import Store
from sim.protocol import tokens
from sim.protocol.constants import (
    BOOTSTRAP_TOKEN_ID_PATTERN, BOOTSTRAP_TOKEN_PATTERN, KUBE_SYSTEM_NAMESPACE, SECRET_TYPE_BOOTSTRAP_TOKEN,
)
from sim.protocol.errors import ApiStatusError, TokenError, go_quote, wrap
from sim.protocol.rng import Rng
from sim.protocol.tokens import BootstrapToken

if TYPE_CHECKING:
    from sim.control.kubeadm_init import ClusterSecrets

__all__ = [
    "DELETE_MISSING_ARGUMENT", "create_token", "decode_token_secrets", "delete_token", "delete_tokens",
    "generate_token", "join_command", "join_command_line", "join_command_raw", "list_tokens", "token_id_of",
    "validate_token_flags",
]

_AUTHENTICATION = "authentication"
DELETE_MISSING_ARGUMENT = (f"missing argument; 'token delete' is missing token of form "
                           f"{go_quote(BOOTSTRAP_TOKEN_PATTERN)} or {go_quote(BOOTSTRAP_TOKEN_ID_PATTERN)}")
"""What ``kubeadm token delete`` says when given no token."""


def generate_token(rng: Rng) -> str:
    """Return a random token and create nothing (``kubeadm token generate``)."""
    return tokens.generate_bootstrap_token(rng)


def validate_token_flags(*, usages: Sequence[str], groups: Sequence[str], print_join_command: bool = False,
                         certificate_key: str | None = None) -> None:
    """Reject flag combinations ``kubeadm token create`` refuses, in its order.

    Usages are checked first, then ``--groups`` (only with the
    ``authentication`` usage, each matching the group pattern); kubeadm
    reports these as field errors of the token's config. The
    ``--certificate-key`` rule is checked last: kubeadm itself only checks it
    after the token has been created.
    """
    tokens.validate_usages(usages)
    if groups and _AUTHENTICATION not in usages:
        raise TokenError(f"token groups cannot be specified unless --usages includes {go_quote(_AUTHENTICATION)}")
    tokens.validate_groups(groups)
    if certificate_key and not print_join_command:
        raise TokenError("cannot use --certificate-key without --print-join-command")


def create_token(store: Store, now: datetime, token: BootstrapToken) -> None:
    """Store a new token Secret, refusing an id already in use (CreateNewTokens)."""
    name = tokens.secret_name(token.token_id)
    if store.peek("secrets", KUBE_SYSTEM_NAMESPACE, name) is not None:
        raise TokenError(f"a token with id {go_quote(token.token_id)} already exists")
    store.create("secrets", tokens.token_to_secret(token, now), now)


def list_tokens(store: Store, now: datetime) -> tuple[list[BootstrapToken], list[str]]:
    """Return the decodable tokens and, for the others, kubeadm's stderr text (RunListTokens).

    kubeadm prints each decode error with ``%v`` and no newline; the texts
    are returned one per Secret. Secrets come in name order, as the API lists them.
    """
    return decode_token_secrets(store.iter("secrets", KUBE_SYSTEM_NAMESPACE))


def decode_token_secrets(secrets: Iterable[Mapping[str, Any]]) -> tuple[list[BootstrapToken], list[str]]:
    """Return the bootstrap-token Secrets that decode and kubeadm's error text for each that does not."""
    found: list[BootstrapToken] = []
    errors: list[str] = []
    for secret in secrets:
        if secret.get("type") != SECRET_TYPE_BOOTSTRAP_TOKEN:
            continue
        try:
            found.append(tokens.token_from_secret(secret))
        except TokenError as err:
            errors.append(str(err))
    return found, errors


def token_id_of(arg: str) -> str:
    """Return the token id ``kubeadm token delete`` reads from an argument: an id, or a whole token."""
    if tokens.is_valid_bootstrap_token_id(arg):
        return arg
    try:
        return tokens.parse_token(arg)[0]
    except TokenError:
        raise TokenError(f"given token didn't match pattern {go_quote(BOOTSTRAP_TOKEN_PATTERN)} "
                         f"or {go_quote(BOOTSTRAP_TOKEN_ID_PATTERN)}") from None


def delete_token(store: Store, arg: str) -> str:
    """Delete one token given by id or full token; return kubeadm's output line."""
    token_id = token_id_of(arg)
    try:
        store.delete("secrets", KUBE_SYSTEM_NAMESPACE, tokens.secret_name(token_id))
    except ApiStatusError as err:
        raise TokenError(wrap(f"failed to delete bootstrap token {go_quote(token_id)}", err)) from err
    return f"bootstrap token {go_quote(token_id)} deleted"


def delete_tokens(store: Store, args: Sequence[str]) -> list[str]:
    """Run ``kubeadm token delete`` with its arguments, stopping at the first failure (RunDeleteTokens)."""
    if not args:
        raise TokenError(DELETE_MISSING_ARGUMENT)
    return [delete_token(store, arg) for arg in args]


def join_command_raw(host_port: str, token: str, ca_pins: Iterable[str], *, control_plane: bool = False,
                     certificate_key: str = "") -> str:
    """Return kubeadm's unprocessed join command, ``\\`` + newline + tab continuations included.

    This is what ``kubeadm init`` prints. Each pin is followed by one space;
    the control-plane form adds ``--control-plane `` and the key.
    """
    out = f"kubeadm join {host_port} --token {token} \\\n\t"
    out += "".join(f"--discovery-token-ca-cert-hash {pin} " for pin in ca_pins)
    if control_plane:
        out += "\\\n\t--control-plane "
        if certificate_key:
            out += f"--certificate-key {certificate_key}"
    return out


def join_command_line(host_port: str, token: str, ca_pins: Iterable[str], certificate_key: str = "") -> str:
    """Return the line ``kubeadm token create --print-join-command`` prints (without its newline).

    The worker form ends with a space after the last hash; with a
    certificate key it ends ``--control-plane --certificate-key <key>``.
    """
    raw = join_command_raw(host_port, token, ca_pins, control_plane=bool(certificate_key),
                           certificate_key=certificate_key)
    return raw.replace("\\\n", "").replace("\t", "")


def join_command(secrets: ClusterSecrets, token: str, certificate_key: str | None = None) -> str:
    """Return ``join_command_line`` for the cluster ``kubeadm init`` made."""
    return join_command_line(secrets.host_port, token, secrets.ca_pins(), certificate_key or "")

