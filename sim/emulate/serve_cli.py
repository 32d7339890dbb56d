"""Run ``joinsim serve``: an emulated control plane over real HTTPS until SIGINT or SIGTERM.

Why a separate module: ``sim/cli.py`` wires the subcommand in with
``add_parsers`` and ``run``. The join command goes to stdout, alone on its line
and worded as ``kubeadm token create --print-join-command`` prints it, so a
script can capture it; everything else (init's output on the first start,
what a restart changed, where admin.conf is) goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any, TextIO

from sim.control.kubeadm_token import join_command
from sim.emulate.cliutil import fail, wait_for_stop_signal
from sim.emulate.goduration import parse_duration
from sim.emulate.server import EmulatedServer, ServeOptions
from sim.emulate.state import StateLocked
from sim.protocol.errors import ValidationError, go_quote

__all__ = ["DEFAULT_DIR", "add_parsers", "options_from_args", "run", "serve"]

DEFAULT_DIR = "joinsim-serve"


def _duration(text: str) -> float:
    """Parse ``--ttl`` as a Go duration, with cobra's wording for a bad value."""
    try:
        return parse_duration(text)
    except ValidationError as err:
        raise argparse.ArgumentTypeError(f"invalid argument {go_quote(text)} for \"--ttl\" flag: {err}") from None


def add_parsers(subparsers: Any) -> None:
    """Add ``serve`` to ``joinsim``'s subcommands."""
    serve_parser = subparsers.add_parser(
        "serve", help="run an emulated control plane over real HTTPS (kubectl and joinsim join work against it)",
        description="Initialise (or restore from --dir) a control plane and serve it over HTTPS: discovery, "
                    "bootstrap tokens, CSRs and their approval, on real time. Prints the join command; "
                    "DIR/admin.conf works with kubectl. Stop with Ctrl-C or SIGTERM.")
    serve_parser.add_argument("--dir", default=DEFAULT_DIR,
                              help=f"directory for the PKI, admin.conf and the persisted state (default {DEFAULT_DIR})")
    serve_parser.add_argument("--bind", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve_parser.add_argument("--port", type=int, default=6443, help="port to listen on; 0 picks one (default 6443)")
    serve_parser.add_argument("--token", help="bootstrap token for the join command (created when missing)")
    serve_parser.add_argument("--ttl", type=_duration, default=24 * 3600.0,
                              help="lifetime of a token the server creates; 0 never expires (default 24h0m0s)")
    serve_parser.add_argument("--no-autoapprove", action="store_true",
                              help="first start: leave out kubeadm:node-autoapprove-bootstrap, so CSRs stay Pending")
    serve_parser.add_argument("--no-public-cluster-info", action="store_true",
                              help="first start: do not let anonymous users read kube-public/cluster-info")
    serve_parser.add_argument("--ca-key", choices=("rsa", "ecdsa"), default=None,
                              help="first start: key type of the cluster CA and certificates (default rsa)")
    serve_parser.add_argument("--kubernetes-version", choices=("current", "1.22"), default=None,
                              help="first start: behaviour profile of the control plane (default current)")
    serve_parser.add_argument("-v", "--verbose", action="store_true", help="log every request on stderr")


def options_from_args(args: argparse.Namespace, stderr: TextIO | None = None) -> ServeOptions:
    """Turn parsed flags into ``ServeOptions``."""
    err = stderr or sys.stderr

    def log(line: str) -> None:
        print(line, file=err, flush=True)
    return ServeOptions(dir=args.dir, bind=args.bind, port=args.port, token=args.token, ttl=args.ttl,
                        autoapprove=not args.no_autoapprove, public_cluster_info=not args.no_public_cluster_info,
                        ca_key_type=args.ca_key, kubernetes_version=args.kubernetes_version,
                        log=log if args.verbose else None)


def run(args: argparse.Namespace) -> int:
    """Run ``joinsim serve`` with parsed flags; return the exit code."""
    return asyncio.run(serve(options_from_args(args)))


async def serve(options: ServeOptions, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Start the server, print the join command, serve until SIGINT/SIGTERM, then shut down cleanly."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    server = EmulatedServer(options)
    try:
        await server.start()
    except (OSError, StateLocked, ValueError) as exc:
        return fail(str(exc), err)
    assert server.plane is not None
    for line in server.init_lines:
        print(line, file=err)
    for note in server.notes:
        print(f"[serve] {note}", file=err)
    print(f"[serve] Serving {server.url} (state in {server.pki.root}); admin kubeconfig: {server.admin_conf}",
          file=err, flush=True)
    print(join_command(server.plane.secrets, server.token), file=out, flush=True)
    try:
        await wait_for_stop_signal()
    finally:
        await server.stop()
    print("[serve] Stopped", file=err, flush=True)
    return 0
