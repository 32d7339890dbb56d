"""Generate and encode the private keys of a kubeadm cluster, repeatably when given an rng.

How this works: kubeadm makes RSA-2048 keys for its certificates and the kubelet
makes ECDSA P-256 keys for its client CSR. With an ``rng`` the key is a function
of the seed (the ECDSA scalar is drawn from it, RSA primes are searched from it)
so a simulated run repeats byte for byte; without one, the OS supplies the
randomness. Keys are written as client-go keyutil writes them (PKCS#1 / SEC 1).

The prime search is pure Python and costs about a quarter of a second per
RSA key, so seeded RSA keys are memoized by the generator's state: the same
state gives the same key and leaves the generator in the same state, whether
the search runs or is remembered (``kubeadm init`` makes six such keys, and
a process often runs the same seed several times).

Upstream: cmd/kubeadm/app/util/pkiutil/pki_helpers.go (GeneratePrivateKey,
rsaKeySize), client-go util/keyutil/key.go (MarshalPrivateKeyToPEM,
ParsePrivateKeyPEM).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any, Final

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from .errors import CryptoError, go_quote
from .rng import Rng

# cmd/kubeadm/app/util/pkiutil/pki_helpers.go rsaKeySize
RSA_KEY_SIZE = 2048
# Go crypto/elliptic: the order n of P-256.
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

_RSA_MEMO: OrderedDict[tuple[Any, int, int], tuple[rsa.RSAPrivateKey, Any]] = OrderedDict()
_RSA_MEMO_SIZE: Final = 64


def _small_primorial(limit: int = 2000) -> int:
    sieve = bytearray([1]) * limit
    product = 1
    for n in range(2, limit):
        if sieve[n]:
            product *= n
            sieve[n * n::n] = bytearray(len(sieve[n * n::n]))
    return product


_PRIMORIAL = _small_primorial()


def _probable_prime(n: int, rng: Rng, rounds: int = 10) -> bool:
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for _ in range(rounds):
        x = pow(rng.randrange(2, n - 1), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _rng_prime(rng: Rng, bits: int, e: int) -> int:
    while True:  # top two bits set so that p*q has exactly 2*bits bits
        candidate = rng.getrandbits(bits) | (3 << (bits - 2)) | 1
        if math.gcd(candidate, _PRIMORIAL) == 1 and (candidate - 1) % e and _probable_prime(candidate, rng):
            return candidate


def _rng_rsa_key(rng: Rng, bits: int = RSA_KEY_SIZE, e: int = 65537) -> rsa.RSAPrivateKey:
    """Return the key the prime search finds from this generator state, remembered per state (module docstring)."""
    getstate, setstate = getattr(rng, "getstate", None), getattr(rng, "setstate", None)
    if getstate is None or setstate is None:
        return _search_rsa_key(rng, bits, e)
    memo_key = (getstate(), bits, e)
    known = _RSA_MEMO.get(memo_key)
    if known is not None:
        _RSA_MEMO.move_to_end(memo_key)
        key, after = known
        setstate(after)
        return key
    key = _search_rsa_key(rng, bits, e)
    _RSA_MEMO[memo_key] = (key, getstate())
    if len(_RSA_MEMO) > _RSA_MEMO_SIZE:
        _RSA_MEMO.popitem(last=False)
    return key


def _search_rsa_key(rng: Rng, bits: int, e: int) -> rsa.RSAPrivateKey:
    p = _rng_prime(rng, bits // 2, e)
    q = _rng_prime(rng, bits // 2, e)
    while q == p:
        q = _rng_prime(rng, bits // 2, e)
    d = pow(e, -1, math.lcm(p - 1, q - 1))
    numbers = rsa.RSAPrivateNumbers(p, q, d, rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q),
                                    rsa.rsa_crt_iqmp(p, q), rsa.RSAPublicNumbers(e, p * q))
    return numbers.private_key(unsafe_skip_rsa_key_validation=True)  # p and q are ours: nothing to check


def ecdsa_scalar(rng: Rng) -> int:
    """Draw an ECDSA P-256 private scalar: the one draw a seeded ECDSA key takes from the generator."""
    return rng.randrange(1, _P256_ORDER)


def generate_private_key(key_type: str = "ecdsa", rng: Rng | None = None) -> PrivateKey:
    """Create an ECDSA P-256 or RSA-2048 key, from the rng when given so runs repeat."""
    if key_type == "ecdsa":
        if rng is None:
            return ec.generate_private_key(ec.SECP256R1())
        return ec.derive_private_key(ecdsa_scalar(rng), ec.SECP256R1())
    if key_type == "rsa":
        if rng is None:
            return rsa.generate_private_key(65537, RSA_KEY_SIZE)
        return _rng_rsa_key(rng)
    raise CryptoError(f"unsupported key type {go_quote(key_type)}: must be \"ecdsa\" or \"rsa\"")


def private_key_pem(key: PrivateKey) -> bytes:
    """Return the key in the PKCS#1 / SEC 1 PEM form client-go keyutil writes."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


def parse_private_key_pem(data: bytes) -> PrivateKey:
    """Load an unencrypted PEM private key, refusing keys that are neither RSA nor ECDSA."""
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise CryptoError(f"error reading private key: {exc}") from exc
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise CryptoError("the private key is neither in RSA nor ECDSA format")
    return key
