"""Run ``joinsim token create|list|delete|generate`` against a real API server, as kubeadm's token commands.

How this works: the commands talk to the server named in ``--kubeconfig``
(admin.conf) over HTTPS, with that file's identity (client certificate or
bearer token) and CA, through the same ``Transport`` as ``joinsim join``. A
token is the Secret ``kube-system/bootstrap-token-<id>``: ``create`` GETs it
(an existing one is refused) then POSTs it (``tokens.token_to_secret``);
``list`` lists Secrets with the field selector
``type=bootstrap.kubernetes.io/token`` and prints ``tokenlist.format_token_list``;
``delete`` DELETEs each. Validation and the join command's text come from
``sim.control.kubeadm_token``. Upstream: cmd/kubeadm/app/cmd/token.go,
cmd/kubeadm/app/phases/bootstraptoken/node/token.go, cmd/kubeadm/app/cmd/util/join.go.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sim.emulate.cliutil import fail
from sim.emulate.goduration import parse_duration
from sim.emulate.transport import Transport, build_url
from sim.control.kubeadm_token import (
    DELETE_MISSING_ARGUMENT, decode_token_secrets, join_command_line, token_id_of, validate_token_flags,
)
from sim.protocol import constants as C
from sim.protocol import kubeconfig, pins, tokens, x509verify
from sim.protocol.commands import TlsConfig
from sim.protocol.discovery import response_error
from sim.protocol.errors import JoinsimError, TokenError, go_quote, wrap
from sim.protocol.hostport import server_endpoint
from sim.protocol.http import Request, Response
from sim.protocol.tokenlist import format_token_list

DEFAULT_KUBECONFIG = C.ADMIN_CONF_PATH
SECRETS = f"/api/v1/namespaces/{C.KUBE_SYSTEM_NAMESPACE}/secrets"
REQUEST_TIMEOUT = 30.0


def add_parser(subparsers: Any) -> None:
    """Add ``token`` with its four subcommands and kubeadm's flags."""
    token = subparsers.add_parser("token", help="manage bootstrap tokens on a cluster, as 'kubeadm token'",
                                  description="Create, list and delete bootstrap tokens over HTTPS with "
                                              "admin.conf's identity; generate prints a random token.")
    sub = token.add_subparsers(dest="token_command", metavar="SUBCOMMAND", required=True)

    def with_kubeconfig(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
        parser.add_argument("--kubeconfig", default=DEFAULT_KUBECONFIG,
                            help=f"kubeconfig to talk to the cluster with (default {DEFAULT_KUBECONFIG})")
        return parser

    create = with_kubeconfig(sub.add_parser("create", help="create a bootstrap token on the server"))
    create.add_argument("token", nargs="?", help="the token to create (default: a random one)")
    create.add_argument("--ttl", default="24h0m0s", help="time before the token is deleted; 0 never (default 24h0m0s)")
    create.add_argument("--usages", default=",".join(C.DEFAULT_TOKEN_USAGES),
                        help="comma-separated usages (default signing,authentication)")
    create.add_argument("--groups", default=",".join(C.DEFAULT_TOKEN_GROUPS),
                        help=f"comma-separated extra groups (default {C.NODE_BOOTSTRAP_TOKEN_AUTH_GROUP})")
    create.add_argument("--description", default="", help="a human-friendly description")
    create.add_argument("--print-join-command", action="store_true", help="print the whole kubeadm join command")
    create.add_argument("--certificate-key", default="", help="with --print-join-command: a control-plane join")
    with_kubeconfig(sub.add_parser("list", help="list the bootstrap tokens on the server"))
    delete = with_kubeconfig(sub.add_parser("delete", help="delete bootstrap tokens on the server"))
    delete.add_argument("tokens", nargs="*", help="token ids or whole tokens")
    sub.add_parser("generate", help="print a random bootstrap token; create nothing")


def run(args: argparse.Namespace) -> int:
    """Run one token subcommand; return the exit code (errors printed as kubeadm prints them)."""
    try:
        if args.token_command == "generate":
            print(tokens.generate_bootstrap_token(random.SystemRandom()))
            return 0
        if args.token_command == "create":
            print(asyncio.run(create(args)))
            return 0
        if args.token_command == "list":
            listing, errors = asyncio.run(list_tokens(load_admin(args.kubeconfig)))
            for error in errors:
                print(error, end="", file=sys.stderr)
            print(listing, end="")
            return 0
        if args.token_command == "delete":
            return asyncio.run(delete(load_admin(args.kubeconfig), args.tokens))
    except JoinsimError as err:
        return fail(str(err))
    return fail("missing subcommand; \"token\" is not meant to be run on its own")


@dataclass(frozen=True, slots=True)
class Admin:
    """Hold what admin.conf says: the server, its CA and our identity."""

    server: str
    endpoint: str
    tls: TlsConfig
    bearer: str | None

    def request(self, method: str, target: str, body: Any = None) -> Request:
        """Build a request carrying this identity's bearer token, if any."""
        return Request.build(method, target, body=body, bearer=self.bearer)


def load_admin(path: str) -> Admin:
    """Load admin.conf as kubeadm's ``ClientSetFromFile`` does, with its error texts."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
        config = kubeconfig.load(raw)
        cluster = config.current_cluster()
        user = config.current_user()
        ca_pem = cluster.ca_data or _read_optional(cluster.ca_file)
        cert = (user.client_cert_data or _read_optional(user.client_cert_path)) if user else b""
        key = (user.client_key_data or _read_optional(user.client_key_path)) if user else b""
    except OSError as err:
        where = err.filename or path
        raise JoinsimError(f"failed to load admin kubeconfig: open {where}: "
                           f"{(err.strerror or str(err)).lower()}") from None
    except ValueError as err:
        raise JoinsimError(wrap("failed to load admin kubeconfig", err)) from None
    tls = TlsConfig(insecure=cluster.insecure, ca_pem=ca_pem or None, client_cert_pem=cert or None,
                    client_key_pem=key or None)
    return Admin(server=cluster.server, endpoint=server_endpoint(cluster.server), tls=tls,
                 bearer=(user.token or None) if user else None)


def _read_optional(path: str) -> bytes:
    if not path:
        return b""
    with open(path, "rb") as handle:
        return handle.read()


async def _call(admin: Admin, method: str, target: str, body: Any = None) -> tuple[Response | None, str]:
    """Send one request; return (response, "") or (None, client-go's error text) for a transport failure."""
    async with Transport(program="kubeadm") as transport:
        request = admin.request(method, target, body)
        result = await transport.send(admin.endpoint, request, admin.tls, REQUEST_TIMEOUT)
    if isinstance(result, Response):
        return result, ""
    url = str(build_url(admin.endpoint, request.path, request.query))
    return None, response_error(method, url, result)


def _error(response: Response | None, transport_error: str) -> str:
    return transport_error if response is None else response_error("", "", response)


async def create(args: argparse.Namespace) -> str:
    """Create a token and return the line to print: the token, or the join command."""
    try:
        ttl = parse_duration(args.ttl)
    except JoinsimError as err:
        raise TokenError(f'invalid argument {go_quote(args.ttl)} for "--ttl" flag: {err}') from None
    usages = tuple(u for u in args.usages.split(",") if u)
    groups = tuple(g for g in args.groups.split(",") if g)
    validate_token_flags(usages=usages, groups=groups)
    value = args.token or tokens.generate_bootstrap_token(random.SystemRandom())
    token = tokens.BootstrapToken.from_string(value, description=args.description, ttl=ttl, usages=usages,
                                              groups=groups)
    admin = load_admin(args.kubeconfig)
    name = tokens.secret_name(token.token_id)
    existing, _ = await _call(admin, "GET", f"{SECRETS}/{name}")
    if existing is not None and existing.ok:
        raise TokenError(f"a token with id {go_quote(token.token_id)} already exists")
    secret = tokens.token_to_secret(token, datetime.now(timezone.utc))
    created, problem = await _call(admin, "POST", SECRETS, secret)
    if created is not None and created.status == 409:
        created, problem = await _call(admin, "PUT", f"{SECRETS}/{name}", secret)
    if created is None or not created.ok:
        raise TokenError(wrap(f"failed to create or update bootstrap token with name {name}", _error(created, problem)))
    validate_token_flags(usages=usages, groups=groups, print_join_command=args.print_join_command,
                         certificate_key=args.certificate_key)
    if not args.print_join_command:
        return token.token
    return join_command(admin, token.token, args.certificate_key)


def join_command(admin: Admin, token: str, certificate_key: str = "") -> str:
    """Return ``kubeadm token create --print-join-command``'s line for admin.conf's cluster and CA bundle."""
    try:
        cas = x509verify.parse_certs_pem(admin.tls.ca_pem or b"")
    except ValueError as err:
        raise JoinsimError(wrap("failed to get join command", wrap("failed to parse CA certificate from kubeconfig",
                                                                   err))) from None
    if not cas:
        raise JoinsimError("failed to get join command: no CA certificates found in kubeconfig")
    return join_command_line(admin.server.replace("https://", ""), token, [pins.certificate_pin(ca) for ca in cas],
                             certificate_key)


async def list_tokens(admin: Admin, now: datetime | None = None) -> tuple[str, list[str]]:
    """Return ``kubeadm token list``'s stdout and its stderr texts for Secrets that do not decode."""
    target = f"{SECRETS}?fieldSelector=type%3D{C.SECRET_TYPE_BOOTSTRAP_TOKEN.replace('/', '%2F')}"
    response, problem = await _call(admin, "GET", target)
    if response is None or not response.ok:
        raise JoinsimError(wrap("failed to list bootstrap tokens", _error(response, problem)))
    found, errors = decode_token_secrets((response.body or {}).get("items") or [])
    return format_token_list(found, now or datetime.now(timezone.utc)), errors


async def delete(admin: Admin, args: list[str]) -> int:
    """Delete each token given by id or whole token, stopping at the first failure (RunDeleteTokens)."""
    if not args:
        return fail(DELETE_MISSING_ARGUMENT)
    for arg in args:
        try:
            token_id = token_id_of(arg)
        except TokenError as err:
            return fail(str(err))
        response, problem = await _call(admin, "DELETE", f"{SECRETS}/{tokens.secret_name(token_id)}")
        if response is None or not response.ok:
            return fail(wrap(f"failed to delete bootstrap token {go_quote(token_id)}", _error(response, problem)))
        print(f"bootstrap token {go_quote(token_id)} deleted", flush=True)
    return 0
