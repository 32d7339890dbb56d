"""Hold what the worker and control-plane preflight tests both build: a fresh host and expected results."""

from __future__ import annotations

from sim.protocol.preflight import CheckResult, NodeFacts

FRESH = NodeFacts.healthy_worker("node-1")
PROXY_MSG = ('Connection to "https://10.0.0.1" uses proxy "http://proxy.corp:3128". '
             "If that is not intended, adjust your proxy settings")


def W(name: str, message: str) -> CheckResult:
    """Build an expected warning."""
    return CheckResult(name, "warning", message)


def E(name: str, message: str) -> CheckResult:
    """Build an expected error."""
    return CheckResult(name, "error", message)
