"""Limit a controller's API client the way client-go's token bucket does.

How this works: kube-controller-manager builds every controller's client with
``flowcontrol.NewTokenBucketRateLimiter(qps, burst)`` (``--kube-api-qps`` 20,
``--kube-api-burst`` 30), which wraps ``golang.org/x/time/rate.NewLimiter``.
The bucket starts full with ``burst`` tokens and refills at ``qps`` tokens a
second, never above ``burst``. Before each request the client calls
``Accept()``, which reserves one token and sleeps until the reservation's
time to act: the balance may go negative, so callers queue up behind each
other and the n-th caller of a burst at t=0 waits (n - burst) / qps seconds.
``reserve(now)`` returns exactly that wait; ``try_accept(now)`` is
``TryAccept()`` (``AllowN``: take a token only if one is there now).

Upstream: staging/src/k8s.io/client-go/util/flowcontrol/throttle.go,
golang.org/x/time/rate/rate.go (``reserveN``, ``advance``).
"""

from __future__ import annotations

import math

from sim.protocol.constants import CONTROLLER_CLIENT_BURST, CONTROLLER_CLIENT_QPS

__all__ = ["TokenBucket"]


class TokenBucket:
    """Hand out tokens at ``qps`` a second with a bucket of ``burst``; tell each caller how long to wait."""

    __slots__ = ("qps", "burst", "_tokens", "_last")

    def __init__(self, qps: float = CONTROLLER_CLIENT_QPS, burst: int = CONTROLLER_CLIENT_BURST,
                 now: float = 0.0) -> None:
        if not (qps > 0):  # also rejects NaN
            raise ValueError(f"a token bucket's qps must be positive (math.inf for no limit), got {qps!r}")
        if isinstance(burst, bool) or not isinstance(burst, int) or burst < 1:
            raise ValueError(f"a token bucket's burst must be a positive integer, got {burst!r}")
        self.qps = float(qps)
        self.burst = burst
        self._tokens = float(burst)
        self._last = now

    def _advance(self, now: float) -> tuple[float, float]:
        """Return (time, tokens) brought forward to ``now`` (rate.Limiter.advance; time never runs back)."""
        last = min(self._last, now)
        tokens = self._tokens + (now - last) * self.qps
        return now, min(tokens, float(self.burst))

    def tokens_at(self, now: float) -> float:
        """Return the balance at ``now`` without changing it (negative while reservations are pending)."""
        if math.isinf(self.qps):
            return float(self.burst)
        return self._advance(now)[1]

    def reserve(self, now: float) -> float:
        """Take one token at ``now`` and return how long the caller must wait before acting (0 if none)."""
        if math.isinf(self.qps):
            return 0.0
        now, tokens = self._advance(now)
        tokens -= 1.0
        self._last, self._tokens = now, tokens
        return 0.0 if tokens >= 0 else -tokens / self.qps

    def try_accept(self, now: float) -> bool:
        """Take one token only if it is available at ``now`` without waiting (client-go ``TryAccept``)."""
        if math.isinf(self.qps):
            return True
        now, tokens = self._advance(now)
        if tokens < 1.0:
            return False
        self._last, self._tokens = now, tokens - 1.0
        return True
