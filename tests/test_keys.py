"""Check private key generation: the key types kubeadm and the kubelet use, and refusal of others."""

from __future__ import annotations

import random

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from sim.protocol import keys
from sim.protocol.errors import CryptoError


@pytest.mark.parametrize("key_type, cls", [("ecdsa", ec.EllipticCurvePrivateKey), ("rsa", rsa.RSAPrivateKey)],
                         ids=["valid: ecdsa from OS", "valid: rsa from OS"])
def test_generate_private_key_without_rng(key_type: str, cls: type) -> None:
    assert isinstance(keys.generate_private_key(key_type), cls)


def test_generate_private_key_rejects_unknown_type() -> None:
    with pytest.raises(CryptoError, match="unsupported key type"):
        keys.generate_private_key("dsa", random.Random(1))
