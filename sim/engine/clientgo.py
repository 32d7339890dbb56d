"""Model the part of client-go's REST client that sits between a workflow and the wire: 429 retries.

How this works: every Kubernetes client (kubeadm, the kubelet, the
controllers) sends requests through client-go's ``rest.Request``. When the
server answers 429 (or a 5xx) with a ``Retry-After`` header, ``Do`` sleeps
for that many seconds and sends the request again, up to ``maxRetries`` (10)
times, before it hands the last response to the caller. API Priority and
Fairness answers 429 with ``Retry-After: 1``, so a rejected request costs
its client a second, not an error, unless the rejections persist.
Upstream: staging/src/k8s.io/client-go/rest/request.go (``maxRetries``,
``checkWait``), staging/src/k8s.io/client-go/rest/with_retry.go (``IsNextRetry``).
"""

from __future__ import annotations

from typing import Final

from sim.protocol.http import Response

__all__ = ["MAX_RETRIES", "retry_after"]

# client-go rest/request.go NewRequest: r.maxRetries = 10
MAX_RETRIES: Final = 10


def retry_after(response: Response) -> float | None:
    """Return how long client-go waits before retrying this response, or None if it does not retry."""
    if response.status != 429 and not 500 <= response.status < 600:
        return None
    value = next((v for k, v in response.headers.items() if k.lower() == "retry-after"), None)
    if value is None:
        return None
    try:
        seconds = int(value.strip())
    except ValueError:
        return None
    return float(seconds) if seconds >= 0 else None
