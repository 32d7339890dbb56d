"""Name the randomness interface the pure core accepts.

The core never imports ``random``: drivers own one seeded ``random.Random`` and
pass it in (DESIGN rule 6). This protocol lists the methods the core may call,
so any ``random.Random`` satisfies it.
"""

from typing import Protocol


class Rng(Protocol):
    """A source of randomness, normally a seeded ``random.Random``."""

    def random(self) -> float: ...

    def randrange(self, start: int, stop: int = ..., step: int = ...) -> int: ...

    def getrandbits(self, k: int, /) -> int: ...

    def randbytes(self, n: int, /) -> bytes: ...

    def uniform(self, a: float, b: float) -> float: ...
