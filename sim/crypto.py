"""Carry out the crypto commands a workflow yields, behind one small interface (DESIGN rule 5).

How this works: three commands need a node's own crypto: ``GenerateKey``,
``CreateCSR`` and ``IssueCertificate`` (control-plane joins sign their
certificates with the downloaded CA). A driver hands them to a ``Crypto``
backend. ``RealCrypto`` does the real thing with the seeded generator, so a
run repeats byte for byte. A ``modeled`` backend (symbolic keys and
certificates for 100k-node runs) would implement the same ``run`` and
nothing else would change; the drivers charge simulated CPU for these
commands from the cost table either way. The CA's signing, JWS and pins stay
real in every mode: they live in the control plane and the protocol core.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, Protocol

from sim.protocol import commands as cmd
from sim.protocol import keys, pki
from sim.protocol.rng import Rng

__all__ = ["CRYPTO_COMMANDS", "Crypto", "RealCrypto", "crypto_backend"]

CRYPTO_COMMANDS: Final = (cmd.GenerateKey, cmd.CreateCSR, cmd.IssueCertificate)


class Crypto(Protocol):
    """Carry out one crypto command for a node; ``mode`` names the backend (``real``, ``modeled``)."""

    mode: str

    def run(self, command: cmd.Command, now: datetime, rng: Rng) -> Any:
        """Return the command's result (see ``sim.protocol.commands``); raise TypeError for others."""
        ...


class RealCrypto:
    """Generate real keys, CSRs and certificates with the node's seeded generator."""

    mode: str = "real"

    def run(self, command: cmd.Command, now: datetime, rng: Rng) -> Any:
        """Return a key, a PEM CSR, or ``(cert_pem, key_pem)``, as the command asks."""
        if isinstance(command, cmd.GenerateKey):
            return keys.generate_private_key(command.key_type, rng)
        if isinstance(command, cmd.CreateCSR):
            return pki.build_csr(command.key, common_name=command.common_name, organizations=command.organizations)
        if isinstance(command, cmd.IssueCertificate):
            ca = pki.CertKey.from_pem(command.ca_cert_pem, command.ca_key_pem)
            if command.server:
                issued = pki.create_serving_cert(ca, common_name=command.common_name, dns_names=command.dns_names,
                                                 ip_addresses=command.ip_addresses, now=now, rng=rng)
            else:
                issued = pki.create_client_cert(ca, common_name=command.common_name,
                                                organizations=command.organizations, now=now, rng=rng)
            return issued.cert_pem, issued.key_pem
        raise TypeError(f"not a crypto command: {command!r}")


def crypto_backend(mode: str) -> Crypto:
    """Return the backend for a crypto mode; only ``real`` exists so far."""
    if mode == "real":
        return RealCrypto()
    raise ValueError(f'crypto mode {mode!r} is not available (known: "real"; "modeled" is planned)')
