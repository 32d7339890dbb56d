"""Keep a run's result as plain data that round-trips through ``result.json``, byte for byte.

How this works: ``ResultFile`` holds what a report needs and nothing that
varies between runs of the same scenario and seed, except ``wall_time``:
the resolved scenario, the seed, joinsim's version, every node's record
(outcome, kubeadm's error text, whom it trusts, where its CSR went, every
milestone, every join it ran), every server's time series, what each
attacker did and got, the admin's actions, the checked expectations, and the
events and log lines of one chosen node (for its sequence diagram). The file
is written with one top-level field per line and one node per line, so the
wall time sits on a line of its own and the rest of the file is
byte-identical for the same scenario and seed; it is written atomically.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, Mapping

from sim.engine import AdminRecord, AttackerResult, JoinRecord, NodeResult, ServerResult, TimeSeries
from sim.fileutil import write_atomic
from sim.machine import LogLine

__all__ = ["FORMAT", "CheckRecord", "NodeRecord", "ResultFile", "ServerRecord", "fail_time", "join_time",
           "node_records", "outcome"]

FORMAT = 1
Event = tuple[float, str, str, Mapping[str, str]]
"""(time, source, event, attributes), as the engine logs it."""


NodeRecord = NodeResult
"""A node's record is the engine's ``NodeResult``; the file keeps every field but the printed lines."""
ServerRecord = ServerResult
"""A server's record is the engine's ``ServerResult``: totals and the sampled time series."""


def outcome(node: NodeRecord) -> str:
    """Return ``joined``, ``failed`` or ``unfinished``."""
    return "joined" if node.joined else "failed" if node.finished else "unfinished"


def join_time(node: NodeRecord) -> float | None:
    """Return seconds from ``kubeadm join`` starting to its success text (joined nodes only)."""
    done = node.milestone("joined")
    return None if not node.joined or done is None or node.started is None else done - node.started


def fail_time(node: NodeRecord) -> float | None:
    """Return seconds from ``kubeadm join`` starting to its failure (failed nodes only)."""
    if node.joined or not node.finished or node.started is None or node.ended is None:
        return None
    return node.ended - node.started


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckRecord:
    """Keep one checked expectation: where it is stated, what was expected, what happened."""

    path: str
    expected: str
    actual: str
    ok: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class ResultFile:
    """Hold everything ``result.json`` records (module docstring)."""

    name: str
    description: str
    source: str
    scenario: Mapping[str, Any]
    seed: int
    version: str
    sim_time: float
    ca_pin: str
    counts: Mapping[str, int]
    nodes: tuple[NodeRecord, ...]
    servers: tuple[ServerRecord, ...]
    trace_node: str = ""
    sequence: tuple[Event, ...] = ()
    logs: tuple[LogLine, ...] = ()
    checks: tuple[CheckRecord, ...] = ()
    attackers: tuple[AttackerResult, ...] = ()
    admin: tuple[AdminRecord, ...] = ()
    wall_time: float = field(default=0.0, compare=False)

    @property
    def passed(self) -> bool:
        """Tell whether every expectation held."""
        return all(check.ok for check in self.checks)

    def groups(self) -> list[str]:
        """Return the node groups in the order they first appear."""
        return list(dict.fromkeys(node.group for node in self.nodes))

    def dumps(self) -> bytes:
        """Return the file's bytes: one top-level field a line, one node a line (module docstring)."""
        fields: dict[str, Any] = {
            "format": FORMAT, "name": self.name, "description": self.description, "source": self.source,
            "seed": self.seed, "version": self.version, "wall_time": self.wall_time, "sim_time": self.sim_time,
            "ca_pin": self.ca_pin, "passed": self.passed,
            "checks": [[c.path, c.expected, c.actual, c.ok] for c in self.checks],
            "counts": dict(self.counts), "scenario": self.scenario, "trace_node": self.trace_node,
            "sequence": [[t, source, event, dict(attrs)] for t, source, event, attrs in self.sequence],
            "logs": [list(line) for line in self.logs],
            "attackers": [dataclasses.asdict(a) for a in self.attackers],
            "admin": [dataclasses.asdict(a) for a in self.admin],
            "servers": [{"name": s.name, "requests": s.requests, "rejected_429": s.rejected_429,
                         "interval": s.series.interval, "times": list(s.series.times),
                         "columns": {k: list(v) for k, v in sorted(s.series.columns.items())}} for s in self.servers],
        }
        lines = ["{"]
        for key, value in fields.items():
            lines.append(f"{json.dumps(key)}:{_compact(value)},")
        nodes = [_compact({k: v for k, v in dataclasses.asdict(n).items() if k != "logs"}) for n in self.nodes]
        lines.append('"nodes":[')
        lines.append(",\n".join(nodes))
        lines.append("]")
        lines.append("}")
        return ("\n".join(lines) + "\n").encode()

    def write(self, path: str) -> None:
        """Write the file atomically."""
        write_atomic(path, self.dumps())

    @classmethod
    def loads(cls, data: bytes | str) -> ResultFile:
        """Read a file written by ``dumps``; raise ValueError if it is not one."""
        try:
            doc = json.loads(data)
            if not isinstance(doc, dict):
                raise ValueError("not a joinsim result file: not a JSON object")
            if doc.get("format") != FORMAT:
                raise ValueError(f"unsupported result format {doc.get('format')!r} (want {FORMAT})")
            return cls(
                name=doc["name"], description=doc["description"], source=doc["source"], scenario=doc["scenario"],
                seed=doc["seed"], version=doc["version"], wall_time=doc["wall_time"], sim_time=doc["sim_time"],
                ca_pin=doc["ca_pin"], counts=doc["counts"], trace_node=doc["trace_node"],
                checks=tuple(CheckRecord(path=p, expected=e, actual=a, ok=ok) for p, e, a, ok in doc["checks"]),
                sequence=tuple((t, s, e, a) for t, s, e, a in doc["sequence"]),
                # a line is [t, stream, text, verbosity]; files written before the verbosity was kept
                # have three items, read as verbosity 0
                logs=tuple(LogLine(*line) for line in doc["logs"]),
                attackers=tuple(AttackerResult(**{**a, "victims": tuple(a["victims"]),
                                                  "identities": tuple(a["identities"])}) for a in doc["attackers"]),
                admin=tuple(AdminRecord(**{**a, "lines": tuple(a["lines"])}) for a in doc["admin"]),
                servers=tuple(ServerRecord(name=s["name"], requests=s["requests"], rejected_429=s["rejected_429"],
                                           series=TimeSeries(interval=s["interval"], times=tuple(s["times"]),
                                                             columns={k: tuple(v) for k, v in s["columns"].items()}))
                              for s in doc["servers"]),
                nodes=tuple(NodeRecord(**{**n, "marks": tuple((t, m) for t, m in n["marks"]),
                                          "joins": tuple(JoinRecord(**j) for j in n.get("joins", ()))})
                            for n in doc["nodes"]))
        except KeyError as err:
            raise ValueError(f"not a joinsim result file: no field {err}") from None
        except (TypeError, AttributeError, json.JSONDecodeError) as err:
            raise ValueError(f"not a joinsim result file: {err}") from None


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def node_records(nodes: tuple[NodeResult, ...]) -> tuple[NodeRecord, ...]:
    """Return the engine's node results without their printed lines (those of one node are kept apart)."""
    return tuple(dataclasses.replace(n, logs=()) for n in nodes)
