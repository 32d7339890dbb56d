"""Charge simulated CPU per operation from a cost table (DESIGN rule 5).

Both crypto modes (``real`` and ``modeled``) charge the same simulated time
for an operation, so a seed gives the same timings either way. The table has
two parts, in microseconds:

- ``costs``: crypto, measured on a host by ``joinsim calibrate`` (medians;
  see ``sim/calibrate.py``): key generation, CSR build and verify, CA
  signing, JWS sign and verify, CA pin;
- ``requests``: kube-apiserver's CPU per API request, keyed
  ``"<verb> <resource>[/<subresource>]"`` as requestinfo names them, plus
  ``tls-handshake`` (per new connection) and ``default`` (any other request).
  These are models (orders of magnitude), not measurements; they exclude etcd
  latency and the crypto the driver charges from ``costs``.

A file written by ``joinsim calibrate`` has no ``requests``; the packaged
model fills them in, as it fills any request cost a file leaves out.
"""

from __future__ import annotations

import json
import math
import os
import pathlib
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Any, Final, Mapping

from sim.protocol.commands import ChargeCpu, Command, CreateCSR, GenerateKey, IssueCertificate

__all__ = ["CRYPTO_KEYS", "OPERATIONS", "UNIT", "CostTable", "load_costs"]

UNIT: Final = "microseconds (median)"
# The keys sim/calibrate.py measures.
CRYPTO_KEYS: Final = frozenset({
    "keygen_ecdsa_p256", "keygen_rsa2048", "csr_build", "csr_verify", "sign_rsa2048_ca", "sign_ecdsa_ca", "jws_sign",
    "jws_verify", "pin",
})
# Operation names the workflows and drivers use -> table keys.
OPERATIONS: Final[Mapping[str, str]] = MappingProxyType({
    "jws-verify": "jws_verify",  # ChargeCpu in sim/protocol/discovery.py
    "pin": "pin",  # ChargeCpu in sim/protocol/discovery.py
    "jws-sign": "jws_sign",  # bootstrapsigner signs cluster-info per token
    "generate-key:ecdsa": "keygen_ecdsa_p256",  # GenerateKey(key_type="ecdsa"), sim/protocol/kubelet.py
    "generate-key:rsa": "keygen_rsa2048",  # IssueCertificate on control-plane joins (kubeadm's RSA-2048 keys)
    "create-csr": "csr_build",  # CreateCSR, sim/protocol/kubelet.py
    "csr-verify": "csr_verify",  # the control plane checks a CSR's signature
    "sign-csr:rsa": "sign_rsa2048_ca",  # csrsigning with kubeadm's default RSA-2048 CA
    "sign-csr:ecdsa": "sign_ecdsa_ca",  # csrsigning with an ECDSA CA
})
_DEFAULT_FILE: Final = "default_costs.json"


@dataclass(frozen=True, slots=True, kw_only=True)
class CostTable:
    """Hold crypto costs and modelled request costs (microseconds); answer in seconds."""

    crypto: Mapping[str, float]
    requests: Mapping[str, float]
    source: str = ""

    def seconds(self, operation: str) -> float:
        """Return the seconds an operation costs (an ``OPERATIONS`` name or a table key)."""
        key = OPERATIONS.get(operation, operation)
        if key not in self.crypto:
            known = ", ".join(sorted(set(OPERATIONS) | set(self.crypto)))
            raise ValueError(f"no CPU cost for operation {operation!r} (known: {known})")
        return self.crypto[key] / 1e6

    def command_seconds(self, command: Command) -> float:
        """Return the CPU a workflow command costs: crypto commands and ``ChargeCpu``; others cost 0."""
        if isinstance(command, ChargeCpu):
            return self.seconds(command.operation)
        if isinstance(command, GenerateKey):
            return self.seconds(f"generate-key:{command.key_type}")
        if isinstance(command, CreateCSR):
            return self.seconds("create-csr")
        if isinstance(command, IssueCertificate):  # kubeadm's RSA-2048 key, signed by the downloaded CA
            return self.seconds("generate-key:rsa") + self.seconds("sign-csr:rsa")
        return 0.0

    def request_seconds(self, verb: str, resource: str, subresource: str = "") -> float:
        """Return kube-apiserver's modelled CPU for one request (``default`` for unlisted ones)."""
        name = f"{verb} {resource}/{subresource}" if subresource else f"{verb} {resource}"
        return self.requests.get(name, self.requests["default"]) / 1e6


def _positive_numbers(where: str, value: Any) -> dict[str, float]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{where} must be a JSON object of name: microseconds")
    out: dict[str, float] = {}
    for name, number in value.items():
        if isinstance(number, bool) or not isinstance(number, (int, float)) or not math.isfinite(number) \
                or number <= 0:
            raise ValueError(f"{where}[{name!r}] must be a positive number of microseconds, got {number!r}")
        out[str(name)] = float(number)
    return out


def _parse(data: Any, defaults: Mapping[str, float] | None) -> tuple[dict[str, float], dict[str, float]]:
    if not isinstance(data, Mapping):
        raise ValueError("want a JSON object with 'costs' (as joinsim calibrate writes)")
    unit = data.get("unit", UNIT)
    if unit != UNIT:
        raise ValueError(f"unit must be {UNIT!r}, got {unit!r}")
    if "costs" not in data:
        raise ValueError("missing 'costs'")
    crypto = _positive_numbers("costs", data["costs"])
    missing, unknown = CRYPTO_KEYS - set(crypto), set(crypto) - CRYPTO_KEYS
    if missing:
        raise ValueError("costs is missing " + ", ".join(sorted(missing)))
    if unknown:
        raise ValueError("costs has unknown " + ", ".join(sorted(unknown)) + " (known: " +
                         ", ".join(sorted(CRYPTO_KEYS)) + ")")
    requests = dict(defaults or {})
    requests.update(_positive_numbers("requests", data.get("requests", {})))
    if "default" not in requests:
        raise ValueError("requests must include 'default'")
    return crypto, requests


def _packaged_text() -> str:
    return resources.files("sim.engine").joinpath(_DEFAULT_FILE).read_text(encoding="utf-8")


def load_costs(path: str | os.PathLike[str] | None = None) -> CostTable:
    """Load and validate a cost table; None loads the packaged default. Raise ValueError naming the problem."""
    source = "packaged default" if path is None else os.fspath(path)
    try:
        _, defaults = _parse(json.loads(_packaged_text()), None)
        text = _packaged_text() if path is None else pathlib.Path(path).read_text(encoding="utf-8")
        crypto, requests = _parse(json.loads(text), defaults)
    except OSError as err:
        raise ValueError(f"cost table {source}: cannot read it: {err.strerror or err}") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"cost table {source}: not valid JSON: {err}") from None
    except ValueError as err:
        raise ValueError(f"cost table {source}: {err}") from None
    return CostTable(crypto=MappingProxyType(crypto), requests=MappingProxyType(requests), source=source)
