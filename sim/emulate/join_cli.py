"""Parse and run ``joinsim join``, ``joinsim reset`` and ``joinsim token``: kubeadm's node commands, for real.

How this works: ``add_parsers`` adds the three subcommands to ``joinsim``'s
parser and ``run`` carries one out, returning the exit code. ``join`` merges
the flags (or a ``--config`` JoinConfiguration file, which kubeadm does not let
most flags mix with) into a ``JoinConfiguration`` and runs the protocol's join
workflow over real HTTPS (``client.NodeClient``), writing the node's files
under ``--root``. ``reset`` applies ``sim.protocol.reset``'s plan to the files
under ``--root``. ``token`` is in ``token_cli``.
Upstream: cmd/kubeadm/app/cmd/join.go, reset.go, util/error.go (CheckErr).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
from typing import Any, TextIO

from sim.emulate import token_cli
from sim.emulate.client import run_join
from sim.emulate.cliutil import fail
from sim.emulate.dryrun import CONTROL_PLANE_UNSUPPORTED, run_dry_run
from sim.emulate.joinconfig_file import read_join_configuration
from sim.emulate.nodefs import NodeFS
from sim.control.profile import PROFILES, profile
from sim.protocol.constants import KUBELET_CLIENT_USAGES_ECDSA, KUBELET_CLIENT_USAGES_RSA
from sim.protocol.errors import JoinsimError
from sim.protocol.joinconfig import JoinConfiguration
from sim.protocol.preflight import NodeFacts
from sim.protocol.reset import MANUAL_CLEANUP_INSTRUCTIONS, is_control_plane_node, reset_plan

DEFAULT_ROOT = "joinsim-node"
RESET_WARNING = "[reset] WARNING: Changes made to this host by 'kubeadm init' or 'kubeadm join' will be reverted."
RESET_PROMPT = "[reset] Are you sure you want to proceed? [y/N]: "
RESET_ABORTED = "aborted reset operation"
# Flags kubeadm lets mix with --config (cmd/kubeadm/app/util/config/common.go isAllowedFlag), plus our own.
_MIXABLE = frozenset({"config", "ignore-preflight-errors", "dry-run", "node-name", "v", "root"})
# dest -> flag name, for every join flag that sets configuration
_JOIN_FLAGS = {
    "token": "token", "discovery_token": "discovery-token", "ca_cert_hashes": "discovery-token-ca-cert-hash",
    "unsafe_skip": "discovery-token-unsafe-skip-ca-verification", "discovery_file": "discovery-file",
    "tls_bootstrap_token": "tls-bootstrap-token", "node_name": "node-name", "control_plane": "control-plane",
    "certificate_key": "certificate-key", "advertise_address": "apiserver-advertise-address",
    "bind_port": "apiserver-bind-port", "cri_socket": "cri-socket", "ignore_preflight_errors": "ignore-preflight-errors",
    "dry_run": "dry-run",
}


def add_parsers(subparsers: Any) -> None:
    """Add ``join``, ``reset`` and ``token`` to ``joinsim``'s subcommands."""
    join = subparsers.add_parser(
        "join", help="join this (emulated) node to a cluster over real HTTPS, as 'kubeadm join'",
        description="Run kubeadm join's workflow against a real API server (joinsim serve or a real cluster), "
                    "playing kubeadm and the kubelet's TLS bootstrap; the node's files go under --root.")
    join.add_argument("endpoint", nargs="?", help="API server endpoint host:port (token discovery)")
    join.add_argument("--token", help="token for both discovery and TLS bootstrap")
    join.add_argument("--discovery-token", help="token for discovery only")
    join.add_argument("--discovery-token-ca-cert-hash", dest="ca_cert_hashes", action="append",
                      help="sha256:<hex> pin of the cluster CA's public key (repeatable)")
    join.add_argument("--discovery-token-unsafe-skip-ca-verification", dest="unsafe_skip", action="store_true",
                      default=None, help="trust cluster-info without a CA pin (unsafe)")
    join.add_argument("--discovery-file", help="kubeconfig path or https:// URL to discover the cluster from")
    join.add_argument("--tls-bootstrap-token", help="token for the kubelet's TLS bootstrap")
    join.add_argument("--node-name", help="node name (default: this host's name)")
    join.add_argument("--control-plane", action="store_true", default=None, help="join as a control-plane node")
    join.add_argument("--certificate-key", help="key to decrypt the kubeadm-certs Secret")
    join.add_argument("--apiserver-advertise-address", dest="advertise_address",
                      help="control-plane joins: this node's API server address")
    join.add_argument("--apiserver-bind-port", dest="bind_port", type=int,
                      help="control-plane joins: this node's API server port (default 6443)")
    join.add_argument("--cri-socket", help="CRI socket recorded on the Node")
    join.add_argument("--ignore-preflight-errors", action="append",
                      help="checks whose errors become warnings (comma-separated, or 'all')")
    join.add_argument("--dry-run", action="store_true", default=None,
                      help="don't apply any changes; just output what would be done (worker joins)")
    join.add_argument("--config", help="JoinConfiguration (kubeadm.k8s.io/v1beta4) file")
    join.add_argument("--root", default=DEFAULT_ROOT, help=f"directory holding the node's / (default {DEFAULT_ROOT})")
    join.add_argument("--kubernetes-version", choices=tuple(PROFILES), default="current",
                      help="behave as kubeadm and the kubelet of this release: 1.22 reads kubelet-config-1.22 and "
                           "asks for key encipherment too (default current)")
    join.add_argument("-v", "--v", dest="verbosity", type=int, default=0, help="log level (klog's -v)")

    reset = subparsers.add_parser("reset", help="undo what join wrote under --root, as 'kubeadm reset'",
                                  description="Delete kubeadm's files from the emulated node under --root.")
    reset.add_argument("--root", default=DEFAULT_ROOT, help=f"directory holding the node's / (default {DEFAULT_ROOT})")
    reset.add_argument("-f", "--force", action="store_true", help="do not ask for confirmation")

    token_cli.add_parser(subparsers)


def run(args: argparse.Namespace) -> int:
    """Run the subcommand ``args.command`` names; return the exit code."""
    if args.command == "join":
        return run_join_command(args)
    if args.command == "reset":
        return run_reset(args.root, force=args.force)
    if args.command == "token":
        return token_cli.run(args)
    raise ValueError(f"not a join/reset/token command: {args.command!r}")


def build_configuration(args: argparse.Namespace) -> tuple[JoinConfiguration, bool, list[str]]:
    """Merge flags and ``--config`` into a ``JoinConfiguration``; return it, dry-run and warnings.

    Raises ``JoinsimError`` with kubeadm's text for flags mixed with ``--config``.
    """
    given = {flag for dest, flag in _JOIN_FLAGS.items() if getattr(args, dest) not in (None, False, [])}
    ignore = tuple(args.ignore_preflight_errors or ())
    values: dict[str, Any] = {}
    warnings: list[str] = []
    dry_run = bool(args.dry_run)
    if args.config:
        mixed = sorted(given - _MIXABLE)
        if mixed:
            raise JoinsimError(f"can not mix '--config' with arguments [{' '.join(mixed)}]")
        settings = read_join_configuration(args.config)
        values, warnings, dry_run = settings.values, settings.warnings, dry_run or settings.dry_run
        values["ignore_preflight_errors"] = tuple(values.get("ignore_preflight_errors", ())) + ignore
    else:
        token = args.discovery_token or args.token or ""
        values.update(token=token, tls_bootstrap_token=args.tls_bootstrap_token or args.token or "",
                      ca_cert_hashes=tuple(args.ca_cert_hashes or ()), unsafe_skip_ca_verification=bool(args.unsafe_skip),
                      control_plane=bool(args.control_plane), certificate_key=args.certificate_key or "",
                      ignore_preflight_errors=ignore)
        if args.discovery_file:
            values["discovery_file"] = args.discovery_file
        else:
            values["api_server_endpoint"] = args.endpoint or ""
        for dest in ("advertise_address", "bind_port", "cri_socket"):
            if getattr(args, dest) is not None:
                values[dest] = getattr(args, dest)
    if args.node_name:
        values["node_name"] = args.node_name
    if not values.get("node_name"):
        values["node_name"] = socket.gethostname().lower()  # kubeadm's default: the host name
    location = values.get("discovery_file", "")
    if location and "://" not in location:
        values["discovery_file"] = os.path.abspath(location)
    values["kubelet_config_configmap"] = profile(args.kubernetes_version).kubelet_config_configmap
    return JoinConfiguration(**values), dry_run, warnings


def run_join_command(args: argparse.Namespace) -> int:
    """Run ``joinsim join``: exit 0 when the node joined, 1 with kubeadm's error otherwise."""
    try:
        cfg, dry_run, warnings = build_configuration(args)
    except JoinsimError as err:
        return fail(str(err))
    for warning in warnings:
        print(warning, file=sys.stderr)
    if dry_run and cfg.control_plane:
        return fail(CONTROL_PLANE_UNSUPPORTED)
    try:
        runner = run_dry_run if dry_run else run_join
        usages = KUBELET_CLIENT_USAGES_RSA if profile(args.kubernetes_version).strict_kubelet_client_usages \
            else KUBELET_CLIENT_USAGES_ECDSA  # a v1.22 kubelet asked for key encipherment even with ECDSA keys
        outcome, _ = asyncio.run(runner(cfg, args.root, verbosity=args.verbosity, stdout=sys.stdout,
                                        stderr=sys.stderr, kubelet_usages=usages))
    except OSError as err:
        return fail(str(err))
    return 0 if outcome.joined else 1


def run_reset(root: str, *, force: bool = False, stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    """Run ``joinsim reset``: remove what kubeadm reset removes from the node under ``root``."""
    out = stdout or sys.stdout
    if not force:
        print(RESET_WARNING, file=out)
        print(RESET_PROMPT, end="", file=out, flush=True)
        answer = (stdin or sys.stdin).readline().strip().lower()
        if answer not in ("y", "yes"):
            return fail(RESET_ABORTED)
    fs = NodeFS(root)
    facts = NodeFacts.healthy_worker(socket.gethostname().lower()).with_changes(files=fs.snapshot())
    plan = reset_plan(facts, control_plane=is_control_plane_node(facts))
    print("[preflight] Running pre-flight checks", file=out)
    for line in plan.lines:
        print(line, file=out)
    for path in plan.removed:
        fs.remove(path)
    print(MANUAL_CLEANUP_INSTRUCTIONS, end="", file=out, flush=True)
    return 0
