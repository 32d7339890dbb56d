"""Print command failures the way kubeadm's ``CheckErr`` does, for every joinsim node command."""

from __future__ import annotations

import sys
from typing import TextIO

from sim.protocol.join import STACK_TRACE_HINT


def fail(message: str, stderr: TextIO | None = None) -> int:
    """Print ``message`` and the stack-trace hint on stderr; return kubeadm's exit code 1.

    Upstream: cmd/kubeadm/app/util/error.go (checkErr, DefaultErrorExitCode).
    """
    print(f"{message}\n{STACK_TRACE_HINT}", file=stderr or sys.stderr, flush=True)
    return 1
