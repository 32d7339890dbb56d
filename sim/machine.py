"""Hold one simulated machine and carry out the commands that touch nothing but it.

How this works: a machine has files, a clock skew, the kubelet service's
state and what its programs printed and marked. Most commands a workflow
yields are local to it (read the clock, read or write a file, inspect the
node, ask about the kubelet, log, mark a milestone) and take no time in any
driver, so both in-process drivers (``sim.harness`` and the SimPy engine)
run them here, alike; the drivers keep what differs: time, the network, the
API server and the processes. ``run_local`` answers whether a command was
local and, if so, its result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Final, NamedTuple

from sim.protocol import commands as cmd
from sim.protocol.constants import KUBELET_PORT
from sim.protocol.join import JoinOutcome
from sim.protocol.preflight import NodeFacts

__all__ = ["LOCAL_COMMANDS", "LogLine", "Machine", "NOT_LOCAL", "run_local"]

LOCAL_COMMANDS: Final = (cmd.ReadClock, cmd.ReadFile, cmd.WriteFile, cmd.RemoveFile, cmd.InspectNode,
                         cmd.KubeletStatus, cmd.Log, cmd.Mark)
NOT_LOCAL: Final = object()
"""``run_local``'s answer for a command the driver must carry out itself."""


class LogLine(NamedTuple):
    """Keep one printed line with its klog verbosity, so a report can show what ``kubeadm -v N`` would print.

    A plain tuple underneath, so it compares equal to ``(t, stream, text,
    verbosity)`` and is written to result.json as a four-item list.
    """

    t: float
    stream: str
    text: str
    verbosity: int = 0
    """klog's V level: 0 is printed by default, N only with ``-v N`` or more."""


@dataclass(slots=True)
class Machine:
    """Hold one simulated machine: its files, clock skew, kubelet and what it printed."""

    name: str
    facts: NodeFacts
    skew: float = 0.0
    files: dict[str, bytes] = field(default_factory=dict)
    logs: list[LogLine] = field(default_factory=list)
    marks: list[tuple[float, str, dict[str, str]]] = field(default_factory=list)
    kubelet: Any = None
    """The driver's handle on the kubelet process, if one was started."""
    kubelet_running: bool = False
    """The kubelet service is started (its bootstrap workflow may have finished; the service runs on)."""
    kubelet_healthy: bool = False
    csr_name: str = ""
    csr_server: str = ""
    outcome: JoinOutcome | None = None
    keep_logs: bool = True
    """Keep printed lines in ``logs`` (a large simulation turns this off to save memory)."""

    @classmethod
    def fresh(cls, name: str, facts: NodeFacts | None = None, skew: float = 0.0) -> Machine:
        """Return a clean machine whose files are those its facts describe."""
        machine = cls(name=name, facts=facts or NodeFacts.healthy_worker(name), skew=skew)
        machine.files.update(machine.facts.files)
        return machine

    def milestone(self, name: str) -> float | None:
        """Return the time of the first mark with this name, if any."""
        return next((t for t, m, _ in self.marks if m == name), None)

    def current_facts(self) -> NodeFacts:
        """Return what preflight sees now: the machine's files and ports, with the kubelet's port if it runs."""
        ports = set(self.facts.ports_in_use)
        if self.kubelet_running:
            ports.add(KUBELET_PORT)
        return self.facts.with_changes(files=dict(self.files), ports_in_use=frozenset(ports))

    def kubelet_state(self) -> cmd.KubeletState:
        """Describe the kubelet as systemd and its ``/healthz`` would."""
        running = self.kubelet_running
        return cmd.KubeletState(running=running, healthy=running and self.kubelet_healthy,
                                csr_name=self.csr_name, csr_server=self.csr_server)

    def kubelet_stopped(self) -> None:
        """Record that the kubelet service is down (the driver ends its process)."""
        self.kubelet_running = False
        self.kubelet_healthy = False


def run_local(machine: Machine, kind: str, command: cmd.Command, t: float, clock: Callable[[], datetime],
              echo: Callable[[str, str], None] | None = None) -> Any:
    """Carry out a command local to the machine, at driver time ``t``; ``clock()`` is the control plane's.

    ``kind`` is the program that yielded it (``kubeadm`` or ``kubelet``); it
    decides which marks move the kubelet's state. Returns ``NOT_LOCAL`` for
    any other command.
    """
    if isinstance(command, cmd.Log):
        if machine.keep_logs:
            machine.logs.append(LogLine(t, command.stream, command.text, command.verbosity))
        if echo is not None and command.verbosity == 0:
            echo(machine.name, command.text)
        return None
    if isinstance(command, cmd.Mark):
        machine.marks.append((t, command.milestone, dict(command.attrs)))
        if kind == "kubelet" and command.milestone == "kubelet-healthy":
            machine.kubelet_healthy = True
        if kind == "kubelet" and command.milestone == "csr-created":
            machine.csr_name = command.attrs.get("name", "")
            machine.csr_server = command.attrs.get("server", "")
        return None
    if isinstance(command, cmd.ReadClock):
        return clock() + timedelta(seconds=machine.skew)
    if isinstance(command, cmd.ReadFile):
        return machine.files.get(command.path)
    if isinstance(command, cmd.WriteFile):
        machine.files[command.path] = command.data
        return None
    if isinstance(command, cmd.RemoveFile):
        machine.files.pop(command.path, None)
        return None
    if isinstance(command, cmd.InspectNode):
        return machine.current_facts()
    if isinstance(command, cmd.KubeletStatus):
        return machine.kubelet_state()
    return NOT_LOCAL
