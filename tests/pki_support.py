"""Build the CAs and node key the PKI and certificate-verification tests share, at one fixed instant."""

from __future__ import annotations

import random
from datetime import datetime, timezone

from sim.protocol import keys, pki

NOW = datetime(2025, 3, 1, 12, 0, 0, 250000, tzinfo=timezone.utc)
"""The instant the CAs are created at; the fraction checks that certificates truncate to seconds."""


def make_cas() -> dict[str, pki.CertKey]:
    """Return one RSA and one ECDSA cluster CA, created at NOW from fixed seeds."""
    return {kind: pki.create_ca(now=NOW, rng=random.Random(7), key_type=kind) for kind in ("rsa", "ecdsa")}


def make_node_key() -> keys.PrivateKey:
    """Return a node's ECDSA key from a fixed seed."""
    return keys.generate_private_key("ecdsa", random.Random(11))
