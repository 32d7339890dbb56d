"""Carry out the crypto commands a workflow yields, behind one small interface (DESIGN rule 5).

How this works: three commands need a node's own crypto: ``GenerateKey``,
``CreateCSR`` and ``IssueCertificate`` (control-plane joins sign their
certificates with the downloaded CA). A driver hands them to a ``Crypto``
backend and charges simulated CPU for them from the cost table, whichever
backend runs, so both modes give the same timings.

- ``RealCrypto`` does the real thing with the seeded generator, so a run
  repeats byte for byte.
- ``ModeledCrypto`` (for 100k-node runs) makes a node's ECDSA key, CSR and
  certificate symbolic records (``sim.protocol.modeled``): the key takes
  the very draw from the generator the real key takes and skips the point
  multiplication; the CSR is a record instead of a signed PKCS#10 request.
  Every draw from every generator is the same in both modes, so a seed gives
  the same outcomes, timings and event log. RSA keys and ``IssueCertificate``
  stay real: the prime search's draws depend on what it finds, so they
  cannot be taken without doing it (they are rare: control-plane joins).

The CA's signing, JWS and pins stay real in both modes: they live in the
control plane and the protocol core, which accept the modeled records.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, Protocol

from sim.protocol import commands as cmd
from sim.protocol import keys, modeled, pki
from sim.protocol.rng import Rng

__all__ = ["CRYPTO_COMMANDS", "CRYPTO_MODES", "Crypto", "ModeledCrypto", "RealCrypto", "crypto_backend"]

CRYPTO_COMMANDS: Final = (cmd.GenerateKey, cmd.CreateCSR, cmd.IssueCertificate)
CRYPTO_MODES: Final = ("real", "modeled")


class Crypto(Protocol):
    """Carry out one crypto command for a node; ``mode`` names the backend (``real``, ``modeled``)."""

    mode: str

    def run(self, command: cmd.Command, now: datetime, rng: Rng) -> Any:
        """Return the command's result (see ``sim.protocol.commands``); raise TypeError for others."""
        ...


class RealCrypto:
    """Generate real keys, CSRs and certificates with the node's seeded generator (the OS's without one)."""

    mode: str = "real"

    def run(self, command: cmd.Command, now: datetime, rng: Rng | None) -> Any:
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


class ModeledCrypto:
    """Make a node's ECDSA key and CSR symbolic records, taking the same draws as ``RealCrypto`` (module docstring)."""

    mode: str = "modeled"

    def __init__(self) -> None:
        self._real = RealCrypto()

    def run(self, command: cmd.Command, now: datetime, rng: Rng) -> Any:
        """Return a modeled key or CSR; RSA keys and issued certificates as ``RealCrypto`` does."""
        if isinstance(command, cmd.GenerateKey) and command.key_type == "ecdsa":
            return modeled.generate_key(rng)
        if isinstance(command, cmd.CreateCSR) and isinstance(command.key, modeled.ModeledKey):
            return modeled.create_request(command.key, common_name=command.common_name,
                                          organizations=command.organizations)
        return self._real.run(command, now, rng)


def crypto_backend(mode: str) -> Crypto:
    """Return the backend for a crypto mode (``real`` or ``modeled``)."""
    if mode == "real":
        return RealCrypto()
    if mode == "modeled":
        return ModeledCrypto()
    raise ValueError(f"unknown crypto mode {mode!r} (known: {', '.join(map(repr, CRYPTO_MODES))})")
