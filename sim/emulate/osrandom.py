"""Give an unseeded ``joinsim serve`` the OS's randomness through the core's ``Rng`` interface.

Why not ``random.SystemRandom`` itself: it is a ``random.Random`` whose
``getstate`` raises, and the key generator takes any generator with a
``getstate`` for a seeded one whose RSA keys it may remember by state
(``sim.protocol.keys``). ``OsRandom`` offers exactly the ``Rng`` methods, all
drawn from ``os.urandom``, and no state, so it is never mistaken for a seed.
"""

from __future__ import annotations

import random

__all__ = ["OsRandom"]


class OsRandom:
    """Draw every value from the OS (``random.SystemRandom``) behind the ``sim.protocol.rng.Rng`` methods only."""

    __slots__ = ("_source",)

    def __init__(self) -> None:
        self._source = random.SystemRandom()

    def random(self) -> float:
        """Return a float in [0, 1)."""
        return self._source.random()

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:
        """Return an integer from ``range(start, stop, step)``."""
        return self._source.randrange(start, stop, step)

    def getrandbits(self, k: int, /) -> int:
        """Return an integer with ``k`` random bits."""
        return self._source.getrandbits(k)

    def randbytes(self, n: int, /) -> bytes:
        """Return ``n`` random bytes."""
        return self._source.randbytes(n)

    def uniform(self, a: float, b: float) -> float:
        """Return a float between ``a`` and ``b``."""
        return self._source.uniform(a, b)
