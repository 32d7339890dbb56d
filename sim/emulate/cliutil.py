"""Share what every long-running or node command does: kubeadm's failure output, waiting for a stop signal."""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import TextIO

from sim.protocol.join import STACK_TRACE_HINT


def fail(message: str, stderr: TextIO | None = None) -> int:
    """Print ``message`` and the stack-trace hint on stderr; return kubeadm's exit code 1.

    Upstream: cmd/kubeadm/app/util/error.go (checkErr, DefaultErrorExitCode).
    """
    print(f"{message}\n{STACK_TRACE_HINT}", file=stderr or sys.stderr, flush=True)
    return 1


async def wait_for_stop_signal() -> None:
    """Return once SIGINT or SIGTERM arrives, so a server can shut down cleanly instead of dying mid-write."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
