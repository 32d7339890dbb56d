"""Parse ``joinsim`` command lines and dispatch to the subcommands.

How this works: ``demo`` and ``calibrate`` are described here; every other
subcommand lives in a module of its own that offers ``add_parsers(subparsers)``
and ``run(args) -> int``. Each module is listed once in ``COMMAND_MODULES``;
the subcommands it adds are routed back to its ``run``. Modules are imported
when the parser is built, so ``joinsim --help`` lists everything.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from sim import __version__

COMMAND_MODULES = (
    "sim.emulate.serve_cli",  # serve
    "sim.emulate.join_cli",   # join, reset, token
    "sim.scenario.cli",       # run, report, list
    "sim.emulate.mitm_cli",   # mitm
    "sim.bench_cli",          # bench
    "sim.sweep.cli",          # sweep
)


def build_parser() -> argparse.ArgumentParser:
    """Describe every subcommand, its flags and defaults."""
    parser = argparse.ArgumentParser(
        prog="joinsim",
        description="A testbed for the Kubernetes kubeadm join protocol: discovery and TLS bootstrap.",
    )
    parser.add_argument("--version", action="version", version=f"joinsim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser("demo", help="init a control plane in-process and join a few workers to it",
                          description="Run kubeadm init, then kubeadm join on a few workers, in one process on a "
                                      "virtual clock with real crypto; print what kubeadm prints.")
    demo.add_argument("--nodes", type=_positive, default=3, help="number of workers to join (default 3)")
    demo.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    demo.add_argument("--ca-key", choices=("rsa", "ecdsa"), default="rsa", help="cluster CA key type (default rsa)")
    demo.add_argument("--kubernetes-version", choices=("current", "1.22"), default="current",
                      help="behaviour profile of the control plane (default current)")
    demo.add_argument("-v", "--verbose", action="store_true", help="print every node's output, not just the first")

    calibrate = sub.add_parser("calibrate", help="measure this host's crypto costs for the simulator",
                               description="Time key generation, CSR build/verify, signing, JWS and pin "
                                           "computation; print the cost table as JSON.")
    calibrate.add_argument("--out", help="also write the table to this file (atomically)")
    calibrate.add_argument("--repeat", type=_positive, default=200, help="repetitions per operation (default 200)")

    for module_name in COMMAND_MODULES:
        module = importlib.import_module(module_name)
        before = set(sub.choices)
        module.add_parsers(sub)
        for name in set(sub.choices) - before:
            sub.choices[name].set_defaults(run_command=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code.

    A file or directory a command cannot read or write (``--out`` in
    ``/proc``, say) ends it with one line and exit code 2, whichever command it is.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _dispatch(parser, args)
    except OSError as err:
        if err.filename is None:
            raise
        print(f"joinsim {args.command}: {err.filename}: {err.strerror or err}", file=sys.stderr)
        return 2


def _dispatch(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if args.command == "demo":
        from sim.demo import run_demo
        return run_demo(nodes=args.nodes, seed=args.seed, ca_key_type=args.ca_key,
                        profile_name=args.kubernetes_version, verbose=args.verbose)
    if args.command == "calibrate":
        from sim.calibrate import main as calibrate_main
        return calibrate_main(args.out, args.repeat)
    run_command = getattr(args, "run_command", None)
    if run_command is not None:
        return int(run_command(args))
    parser.print_help(sys.stderr)
    return 2


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer (got {text!r})") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer (got {value})")
    return value


if __name__ == "__main__":
    sys.exit(main())
