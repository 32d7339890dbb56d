"""Show a whole join in one screen: kubeadm init, a few workers joining, the resulting objects.

Everything runs in one process on a virtual clock (``sim.harness``) with real
keys, CSRs, certificates, JWS and pins, so the output is what kubeadm would
print, and the tables are what kubectl would show.
"""

from __future__ import annotations

import random
import sys
from datetime import datetime, timedelta

from sim.control.plane import ControlPlane
from sim.control.profile import profile
from sim.harness import DEFAULT_START, Harness
from sim.protocol import csr as csr_rules
from sim.protocol import pins
from sim.protocol.joinconfig import JoinConfiguration
from sim.protocol.objects import name_of
from sim.protocol.poll import go_duration

ENDPOINT = "10.0.0.1:6443"


def run_demo(*, nodes: int, seed: int, ca_key_type: str, profile_name: str, verbose: bool) -> int:
    """Init a cluster, join ``nodes`` workers with CA pinning, print what happened; exit 0 if all joined."""
    rng = random.Random(seed)
    chosen = profile(profile_name)
    plane, token, init_lines = ControlPlane.bootstrap(now=DEFAULT_START, rng=rng, endpoint=ENDPOINT,
                                                      profile=chosen, ca_key_type=ca_key_type,
                                                      control_plane_endpoint=ENDPOINT)
    print(f"$ kubeadm init --control-plane-endpoint {ENDPOINT}    # on the control plane, at {DEFAULT_START:%H:%M:%S}")
    for line in init_lines:
        print(line)
    pin = pins.certificate_pin(plane.ca.cert)

    shown = {"node-1"} if not verbose else {f"node-{i}" for i in range(1, nodes + 1)}

    def echo(node: str, text: str) -> None:
        if node in shown:
            print(text if not verbose else f"[{node}] {text}")

    harness = Harness(plane, rng=rng, echo=echo)
    for i in range(1, nodes + 1):
        cfg = JoinConfiguration(node_name=f"node-{i}", api_server_endpoint=ENDPOINT, token=token.token,
                                ca_cert_hashes=(pin,), kubelet_config_configmap=chosen.kubelet_config_configmap)
        harness.join(cfg, at=float(i - 1))
    print(f"\n$ kubeadm join {ENDPOINT} --token {token.token} --discovery-token-ca-cert-hash {pin}"
          f"    # on {', '.join(sorted(shown))}")
    harness.run()

    print("\n$ kubectl get csr")
    _print_table(["NAME", "AGE", "SIGNERNAME", "REQUESTOR", "CONDITION"], _csr_rows(harness))
    print("\n$ kubectl get nodes")
    _print_table(["NAME", "STATUS", "ROLES", "AGE"], _node_rows(harness))
    print("\nJoin times (virtual clock, from 'kubeadm join' to its success text):")
    joined = 0
    for node in harness.nodes.values():
        outcome = node.outcome
        started = node.milestone("phase")
        ended = node.milestone("joined")
        if outcome is not None and outcome.joined and started is not None and ended is not None:
            joined += 1
            print(f"  {node.name}: joined in {go_duration(round(ended - started, 3))}, trusts CA {outcome.trusted_ca_pin[:23]}..., "
                  f"CSR {outcome.csr_name}")
        else:
            print(f"  {node.name}: FAILED: {outcome.error if outcome else 'did not finish'}", file=sys.stderr)
    return 0 if joined == nodes else 1


def _csr_rows(harness: Harness) -> list[list[str]]:
    rows = []
    for obj in harness.plane.store.list("certificatesigningrequests"):
        spec = obj.get("spec", {})
        rows.append([name_of(obj), _age(harness, obj), spec.get("signerName", ""), spec.get("username", ""),
                     csr_rules.csr_state(obj)])
    return rows


def _node_rows(harness: Harness) -> list[list[str]]:
    rows = []
    for obj in harness.plane.store.list("nodes"):
        conds = {c.get("type"): c.get("status") for c in obj.get("status", {}).get("conditions", [])}
        labels = obj.get("metadata", {}).get("labels", {})
        roles = ",".join(sorted(k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/")))
        rows.append([name_of(obj), "Ready" if conds.get("Ready") == "True" else "NotReady", roles or "<none>",
                     _age(harness, obj)])
    return rows


def _age(harness: Harness, obj: dict[str, object]) -> str:
    meta = obj.get("metadata")
    stamp = meta.get("creationTimestamp", "") if isinstance(meta, dict) else ""
    created = datetime.strptime(str(stamp), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=harness.now.tzinfo)
    seconds = max(0, int((harness.now - created) / timedelta(seconds=1)))
    return f"{seconds}s" if seconds < 120 else f"{seconds // 60}m"


def _print_table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("   ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())

