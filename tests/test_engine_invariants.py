"""Check the engine's safety and determinism properties over randomized small runs (hypothesis).

Each example is a small cluster with a few node groups (pinned, unpinned or
with a wrong pin), a lossy or firewalled network, perhaps an expiring token,
no auto-approval, an admin who approves or denies, a man in the middle, a
token thief or a CSR flooder, in real or modeled crypto. The run's control
plane and machines are captured as they are built, so the properties are
checked on what the nodes really hold:

- no node holds a client certificate of the cluster CA that was not issued
  on an approved CSR;
- a pinned node never trusts a CA other than the cluster's (neither in its
  result nor in its kubeconfig files);
- the same seed gives a byte-identical event log and the same node results.
"""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import tlsmodel
from sim.control.plane import ControlPlane
from sim.engine import run as engine_run
from sim.engine.admin import ApproveCsrs
from sim.engine.attacker import CsrFlooder, MitmAttacker, TokenThief
from sim.engine.latency import Constant, LogNormal
from sim.engine.network import FirewallRule, Link, Window
from sim.engine.node import NodeModels
from sim.engine.run import (
    AllAtOnce, ClusterSettings, EngineConfig, JoinSettings, NetworkSettings, NodeGroup, SimResult, UniformArrivals,
    simulate,
)
from sim.machine import Machine
from sim.protocol import constants as C
from sim.protocol import kubeconfig, pins, x509verify
from sim.protocol.csr import csr_request_pem

WRONG_PIN = "sha256:" + "ab" * 32
UNTIL = 1800.0


@st.composite
def group_settings(draw: st.DrawFn, index: int) -> NodeGroup:
    """Draw one node group: its size, arrivals, pinning and kubelet start delay."""
    pinning = draw(st.sampled_from(["pinned", "pinned", "unpinned", "wrong-pin"]))
    join = JoinSettings(pinned=pinning != "unpinned", ca_cert_hashes=(WRONG_PIN,) if pinning == "wrong-pin" else ())
    arrival = draw(st.one_of(st.builds(AllAtOnce, at=st.floats(0, 5)),
                             st.builds(UniformArrivals, window=st.floats(0.1, 40))))
    models = NodeModels(kubelet_start_delay=draw(st.sampled_from([0.5, 5.0, 20.0])))
    return NodeGroup(name=f"g{index}", count=draw(st.integers(1, 4)), arrival=arrival, join=join, models=models)


@st.composite
def configs(draw: st.DrawFn) -> EngineConfig:
    """Draw a small run: groups, cluster, network, attackers and admin actions."""
    groups = tuple(draw(group_settings(i)) for i in range(draw(st.integers(1, 3))))
    cluster = ClusterSettings(ca_key_type="ecdsa", autoapprove=draw(st.booleans()),
                              token_ttl=draw(st.sampled_from([None, 30.0, 120.0, C.DEFAULT_TOKEN_TTL])))
    link = Link(latency=draw(st.sampled_from([Constant(0.001), LogNormal(median=0.002, p99=0.05)])),
                loss=draw(st.sampled_from([0.0, 0.0, 0.05, 0.2])))
    firewall: tuple[FirewallRule, ...] = ()
    if draw(st.booleans()):
        firewall = (FirewallRule(host="10.0.0.1", port=6443, action=draw(st.sampled_from(["DROP", "REJECT"])),
                                 source_group=draw(st.sampled_from([None, "g0"])),
                                 window=Window(start=0.0, end=draw(st.floats(1, 120)))),)
    attackers: list[Any] = []
    if draw(st.booleans()):
        attackers.append(MitmAttacker(name="mallory", group="g0", knows_token=draw(st.booleans())))
    if draw(st.booleans()):
        attackers.append(TokenThief(name="thief", victim="g0-1", at=draw(st.floats(0, 30))))
    if draw(st.booleans()):
        attackers.append(CsrFlooder(name="flood", rate=2.0, count=draw(st.integers(1, 5))))
    admin = ()
    if draw(st.booleans()):
        admin = (ApproveCsrs(at=draw(st.floats(1, 60)), deny=draw(st.booleans())),)
    return EngineConfig(seed=draw(st.integers(0, 2**16)), groups=groups, cluster=cluster,
                        network=NetworkSettings(default_link=link, firewall=firewall), attackers=tuple(attackers),
                        admin=admin, crypto=draw(st.sampled_from(["real", "modeled"])), until=UNTIL)


class Captured:
    """Record the control plane and every machine a run builds."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.planes: list[ControlPlane] = []
        self.machines: list[Machine] = []
        build, fresh = engine_run.build_cluster, Machine.fresh.__func__  # type: ignore[attr-defined]

        def building(*args: Any, **kwargs: Any) -> Any:
            built = build(*args, **kwargs)
            self.planes.append(built.plane)
            return built

        def making(cls: type[Machine], *args: Any, **kwargs: Any) -> Machine:
            machine = fresh(cls, *args, **kwargs)
            self.machines.append(machine)
            return machine

        monkeypatch.setattr(engine_run, "build_cluster", building)
        monkeypatch.setattr(Machine, "fresh", classmethod(making))

    def run(self, config: EngineConfig) -> tuple[SimResult, ControlPlane, list[Machine]]:
        """Simulate and return the result with the plane and machines of that run."""
        self.planes.clear()
        self.machines.clear()
        result = simulate(config)
        return result, self.planes[-1], list(self.machines)


def approved_certificates(plane: ControlPlane) -> set[bytes]:
    """Return every certificate the cluster's signer wrote on a CSR that was approved, as PEM."""
    issued: set[bytes] = set()
    for event in plane.store.events_since(0, "certificatesigningrequests"):
        status = event.object.get("status") or {}
        approved = any(c.get("type") == "Approved" for c in status.get("conditions") or ())
        denied = any(c.get("type") == "Denied" for c in status.get("conditions") or ())
        if status.get("certificate") and csr_request_pem(event.object):
            assert approved and not denied, f"the signer issued {event.object['metadata']['name']} unapproved"
            issued.add(base64.b64decode(status["certificate"]))
    return issued


def first_certificate(data: bytes) -> bytes:
    """Return the first PEM block whose type ends in CERTIFICATE (the kubelet stores cert and key together)."""
    start = data.find(b"-----BEGIN ")
    end_marker = data.find(b"-----END ", start)
    end = data.find(b"-----\n", end_marker + 9)
    return data[start:end + 6] if start >= 0 and end_marker >= 0 and end >= 0 else b""


def trusted_pins(machine: Machine) -> set[str]:
    """Return the pins of the CAs the machine's kubeconfig files trust."""
    found = set()
    for path in (C.BOOTSTRAP_KUBELET_CONF_PATH, C.KUBELET_CONF_PATH):
        data = machine.files.get(path)
        if not data:
            continue
        try:
            ca_data = kubeconfig.load(data).current_cluster().ca_data
            found.add(pins.certificate_pin(x509verify.parse_certs_pem(ca_data)[0]))
        except ValueError:
            continue
    return found


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(config=configs())
def test_invariants_hold_over_randomized_runs(config: EngineConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    captured = Captured(monkeypatch)
    result, plane, machines = captured.run(config)
    now = config.start + timedelta(seconds=result.sim_time)

    issued = approved_certificates(plane)
    for machine in machines:
        held = first_certificate(machine.files.get(C.KUBELET_CLIENT_CURRENT_PATH) or b"")
        if held and not tlsmodel.certificate_identity(plane.ca, held, now).rejected:
            assert held in issued, f"{machine.name} holds a cluster certificate nobody approved"

    pinned_groups = {g.name for g in config.groups if g.join.pinned}
    by_name = {m.name: m for m in machines}
    for node in result.nodes:
        if node.group in pinned_groups:
            assert node.trusted_ca_pin in ("", result.ca_pin), f"{node.name} trusts {node.trusted_ca_pin}"
            assert trusted_pins(by_name[node.name]) <= {result.ca_pin}

    again, _, _ = captured.run(config)
    assert again.events.dumps() == result.events.dumps()
    assert again.nodes == result.nodes and again.counts == result.counts


def test_an_unpinned_victim_of_a_mitm_trusts_the_attacker(monkeypatch: pytest.MonkeyPatch) -> None:
    """Show the pinning property has teeth: without a pin, the same attack succeeds."""
    group = NodeGroup(name="g0", count=2, join=JoinSettings(pinned=False))
    config = EngineConfig(groups=(group,), cluster=ClusterSettings(ca_key_type="ecdsa"),
                          attackers=(MitmAttacker(name="mallory", group="g0", knows_token=True),), until=UNTIL)
    result, _, machines = Captured(monkeypatch).run(config)
    assert all(n.trusted_ca_pin not in ("", result.ca_pin) for n in result.nodes)
    assert all(trusted_pins(m) and result.ca_pin not in trusted_pins(m) for m in machines if m.name.startswith("g0"))
