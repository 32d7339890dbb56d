"""Measure what each crypto operation costs on this host, for the simulator's cost table.

The simulator charges simulated CPU per operation (DESIGN rule 5); these
figures are where that table comes from. Each operation is timed over many
repetitions with ``time.perf_counter`` and reported as the median in
microseconds, with the host's Python and cryptography versions.
"""

from __future__ import annotations

import json
import platform
import random
import statistics
import time
from datetime import datetime, timezone
from typing import Any, Callable

import cryptography

from sim.fileutil import write_atomic
from sim.protocol import jws, keys, pins, pki
from sim.protocol.constants import KUBELET_CLIENT_USAGES_ECDSA

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _median_us(action: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return round(statistics.median(samples) * 1e6, 1)


def measure(repeat: int = 200) -> dict[str, Any]:
    """Time keygen, CSR build and verify, signing, JWS and pin computation; return the table."""
    rng = random.Random(1)
    ca = pki.create_ca(now=NOW, rng=rng, key_type="rsa")
    ca_ec = pki.create_ca(now=NOW, rng=rng, key_type="ecdsa")
    key = keys.generate_private_key("ecdsa")
    csr_pem = pki.kubelet_client_csr(key, "node-1")
    csr = pki.parse_csr_pem(csr_pem)
    content = "x" * 1400
    signature = jws.compute_detached_signature(content, "abcdef", "0123456789abcdef")
    costs = {
        "keygen_ecdsa_p256": _median_us(lambda: keys.generate_private_key("ecdsa"), repeat),
        "keygen_rsa2048": _median_us(lambda: keys.generate_private_key("rsa"), max(5, repeat // 20)),
        "csr_build": _median_us(lambda: pki.kubelet_client_csr(key, "node-1"), repeat),
        "csr_verify": _median_us(lambda: pki.verify_csr_signature(pki.parse_csr_pem(csr_pem)), repeat),
        "sign_rsa2048_ca": _median_us(
            lambda: pki.sign_csr(ca, csr, usages=KUBELET_CLIENT_USAGES_ECDSA, now=NOW), repeat),
        "sign_ecdsa_ca": _median_us(
            lambda: pki.sign_csr(ca_ec, csr, usages=KUBELET_CLIENT_USAGES_ECDSA, now=NOW), repeat),
        "jws_sign": _median_us(lambda: jws.compute_detached_signature(content, "abcdef", "0123456789abcdef"), repeat),
        "jws_verify": _median_us(
            lambda: jws.detached_token_is_valid(signature, content, "abcdef", "0123456789abcdef"), repeat),
        "pin": _median_us(lambda: pins.certificate_pin(ca.cert), repeat),
    }
    return {
        "unit": "microseconds (median)",
        "repeat": repeat,
        "host": {"python": platform.python_version(), "cryptography": cryptography.__version__,
                 "machine": platform.machine(), "processor": platform.processor() or platform.machine()},
        "costs": costs,
    }


def main(out: str | None, repeat: int) -> int:
    """Print the cost table as JSON, and write it to ``out`` atomically when given."""
    table = measure(repeat)
    text = json.dumps(table, indent=2, sort_keys=True) + "\n"
    print(text, end="")
    if out:
        write_atomic(out, text.encode())
    return 0
