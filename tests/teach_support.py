"""Run one traced worker join on a small ECDSA cluster, for the tests of sim/teach."""

from __future__ import annotations

import random
from dataclasses import dataclass

from sim.control.plane import ControlPlane
from sim.crypto import crypto_backend
from sim.harness import DEFAULT_START, Harness
from sim.machine import Machine
from sim.protocol import pins
from sim.protocol.joinconfig import JoinConfiguration
from sim.protocol.tokens import BootstrapToken
from sim.teach.trace import TracingHarness

ENDPOINT = "10.0.0.1:6443"


@dataclass
class Joined:
    """Hold a control plane, its init token, the harness that ran the join and the joined node."""

    plane: ControlPlane
    token: BootstrapToken
    harness: Harness
    node: Machine


def joined(seed: int = 1, *, traced: bool = True, crypto: str = "real") -> Joined:
    """Init a cluster and join ``node-1`` with CA pinning, traced or with the plain harness, in a crypto mode."""
    rng = random.Random(seed)
    plane, token, _ = ControlPlane.bootstrap(now=DEFAULT_START, rng=rng, endpoint=ENDPOINT, ca_key_type="ecdsa")
    harness = TracingHarness(plane, rng=rng) if traced else Harness(plane, rng=rng)
    harness.crypto = crypto_backend(crypto)
    node = harness.join(JoinConfiguration(node_name="node-1", api_server_endpoint=ENDPOINT, token=token.token,
                                          ca_cert_hashes=(pins.certificate_pin(plane.ca.cert),)))
    harness.run()
    return Joined(plane=plane, token=token, harness=harness, node=node)
