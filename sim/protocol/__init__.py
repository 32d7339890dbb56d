"""The kubeadm join protocol as pure code: tokens, JWS, pins, PKI, discovery, the join workflow."""

from sim.protocol.join import JoinOutcome, join
from sim.protocol.joinconfig import JoinConfiguration
from sim.protocol.jws import compute_detached_signature, detached_token_is_valid
from sim.protocol.pins import PinSet, certificate_pin
from sim.protocol.tokens import (
    BootstrapToken, generate_bootstrap_token, is_valid_bootstrap_token, is_valid_bootstrap_token_id,
)

__all__ = [
    "BootstrapToken", "JoinConfiguration", "JoinOutcome", "PinSet", "certificate_pin", "compute_detached_signature",
    "detached_token_is_valid", "generate_bootstrap_token", "is_valid_bootstrap_token", "is_valid_bootstrap_token_id",
    "join",
]
