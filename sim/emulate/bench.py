"""Measure real joins over HTTPS on loopback against an in-process ``joinsim serve`` (``joinsim bench --emulate``).

How this works: the server runs on its own event loop thread with a fresh
state directory, kubeadm's default RSA CA and its controllers unthrottled (the
emulated controller manager runs every queue to a fixed point after each
request: no client QPS, no work-queue rate limits). The joins run on this
thread's loop, at most ``concurrency`` at a time; each is a full
``NodeClient.join`` (pinned discovery, kubeadm's config reads, the kubelet's
CSR and Node registration, kubeadm's polls) writing its files under its own
root. Reported: joins per second, join latency percentiles (start of the join
command to its success text), API requests per second as the server counted
them, and CPU seconds per join, split into the server thread and the joining
clients (``time.thread_time`` of each loop's thread). Join latency includes
kubeadm's own poll intervals (kubelet ``/healthz`` every 500 ms, kubelet.conf
every second), as a real join's does.
"""

from __future__ import annotations

import asyncio
import io
import json
import math
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, TextIO

from sim import __version__
from sim.emulate.client import NodeClient
from sim.emulate.nodefs import NodeFS
from sim.emulate.server import ServeOptions
from sim.emulate.server_thread import ServerThread
from sim.fileutil import write_atomic
from sim.protocol.joinconfig import JoinConfiguration
from sim.report.metrics import percentile

__all__ = ["BenchResult", "run_emulate_bench"]

DEFAULT_CA_KEY_TYPE = "rsa"
"""kubeadm's default CA and certificate key type: the server's signing cost is RSA's."""


@dataclass(slots=True, kw_only=True)
class BenchResult:
    """Hold one benchmark run's measurements."""

    nodes: int
    concurrency: int
    ca_key_type: str = DEFAULT_CA_KEY_TYPE
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    wall_seconds: float = 0.0
    requests: int = 0
    server_cpu_seconds: float = 0.0
    client_cpu_seconds: float = 0.0

    @property
    def joined(self) -> int:
        """Return how many joins succeeded."""
        return len(self.latencies)

    def summary(self) -> dict[str, Any]:
        """Return the figures as JSON-ready data (times in seconds)."""
        wall = self.wall_seconds or float("nan")
        per_join = max(1, self.nodes)
        return {
            "mode": "emulate", "nodes": self.nodes, "concurrency": self.concurrency, "joined": self.joined,
            "failed": len(self.failures), "first_failure": self.failures[0] if self.failures else "",
            "wall_seconds": round(self.wall_seconds, 4),
            "joins_per_second": round(self.joined / wall, 3),
            "latency_seconds": {name: _round(percentile(self.latencies, q))
                                for name, q in (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100))},
            "requests": self.requests, "requests_per_second": round(self.requests / wall, 1),
            "cpu_seconds_per_join": {
                "total": round((self.server_cpu_seconds + self.client_cpu_seconds) / per_join, 5),
                "server": round(self.server_cpu_seconds / per_join, 5),
                "clients": round(self.client_cpu_seconds / per_join, 5)},
            "ca_key_type": self.ca_key_type, "joinsim": __version__, "python": platform.python_version(),
            "cpus": os.cpu_count(), "finished": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }


def _round(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 4)


async def _join_all(result: BenchResult, endpoint: str, token: str, pin: str, root: str) -> None:
    """Run ``result.nodes`` joins, ``result.concurrency`` at a time, recording each one's latency or error."""
    gate = asyncio.Semaphore(result.concurrency)

    async def one(index: int) -> None:
        name = f"bench-{index:06d}"
        cfg = JoinConfiguration(node_name=name, api_server_endpoint=endpoint, token=token, tls_bootstrap_token=token,
                                ca_cert_hashes=(pin,))
        async with gate:
            sink = io.StringIO()
            client = NodeClient(fs=NodeFS(os.path.join(root, name)), stdout=sink, stderr=sink)
            started = time.perf_counter()
            try:
                outcome = await client.join(cfg)
            except Exception as err:  # noqa: BLE001 - a driver failure is one failed join, not a failed bench
                result.failures.append(f"{name}: {type(err).__name__}: {err}")
                return
            if outcome.joined:
                result.latencies.append(time.perf_counter() - started)
            else:
                result.failures.append(f"{name}: {outcome.error}")

    await asyncio.gather(*(one(i) for i in range(result.nodes)))


def measure(nodes: int, concurrency: int, ca_key_type: str = DEFAULT_CA_KEY_TYPE) -> BenchResult:
    """Start a server, run the joins against it, stop it; return the measurements."""
    result = BenchResult(nodes=nodes, concurrency=min(concurrency, nodes), ca_key_type=ca_key_type)
    with tempfile.TemporaryDirectory(prefix="joinsim-bench-") as work:
        thread = ServerThread(ServeOptions(dir=os.path.join(work, "serve"), port=0, ca_key_type=ca_key_type))
        server = thread.start()
        try:
            requests_before = thread.call(lambda: server.requests)
            server_cpu_before = thread.call(time.thread_time)
            client_cpu_before = time.thread_time()
            started = time.perf_counter()
            asyncio.run(_join_all(result, server.endpoint, server.token, server.ca_pin, os.path.join(work, "nodes")))
            result.wall_seconds = time.perf_counter() - started
            result.client_cpu_seconds = time.thread_time() - client_cpu_before
            result.server_cpu_seconds = thread.call(time.thread_time) - server_cpu_before
            result.requests = thread.call(lambda: server.requests) - requests_before
        finally:
            thread.stop()
    return result


def render(summary: dict[str, Any]) -> str:
    """Format the summary as the table ``joinsim bench --emulate`` prints."""
    lat, cpu = summary["latency_seconds"], summary["cpu_seconds_per_join"]

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value * 1000:.0f} ms"
    rows = [
        ("joins", f"{summary['joined']}/{summary['nodes']} ({summary['failed']} failed), "
                  f"concurrency {summary['concurrency']}"),
        ("wall time", f"{summary['wall_seconds']:.2f} s"),
        ("joins/s", f"{summary['joins_per_second']:.2f}"),
        ("join latency", f"p50 {ms(lat['p50'])}  p95 {ms(lat['p95'])}  p99 {ms(lat['p99'])}  max {ms(lat['max'])}"),
        ("requests/s", f"{summary['requests_per_second']:.1f} ({summary['requests']} requests)"),
        ("CPU s/join", f"{cpu['total']:.4f} (server {cpu['server']:.4f}, clients {cpu['clients']:.4f})"),
    ]
    width = max(len(label) for label, _ in rows)
    lines = [f"joinsim bench --emulate: real joins over HTTPS on loopback ({summary['ca_key_type']} CA, "
             f"Python {summary['python']}, {summary['cpus']} CPUs)"]
    lines += [f"  {label:<{width}}  {value}" for label, value in rows]
    if summary["first_failure"]:
        lines.append(f"  first failure: {summary['first_failure']}")
    return "\n".join(lines)


def run_emulate_bench(nodes: int, concurrency: int, out: str | None, *, ca_key_type: str = DEFAULT_CA_KEY_TYPE,
                      stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run ``nodes`` real joins, ``concurrency`` at a time; print the table, write JSON to ``out``; return the code.

    Exit codes: 0 when every join succeeded, 1 when any failed, 2 for bad arguments.
    """
    text_out, text_err = stdout or sys.stdout, stderr or sys.stderr
    for flag, value in (("--nodes", nodes), ("--concurrency", concurrency)):
        if not isinstance(value, int) or value <= 0:
            print(f"joinsim bench: {flag} must be a positive integer (got {value!r})", file=text_err)
            return 2
    try:
        result = measure(nodes, concurrency, ca_key_type)
    except OSError as err:
        print(f"joinsim bench: {err}", file=text_err)
        return 1
    summary = result.summary()
    print(render(summary), file=text_out, flush=True)
    if out:
        write_atomic(out, (json.dumps(summary, indent=2) + "\n").encode())
    return 0 if not result.failures else 1
