"""Describe the ``run`` section: the seed, the crypto mode, when to stop, and which node to draw.

``crypto`` is checked against the backends ``sim.crypto`` offers, so a mode
becomes usable in scenarios as soon as it exists there. ``trace_node`` picks
the node whose join the sequence diagram shows (``auto``: the first node that
failed, else the slowest to join).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from sim.crypto import crypto_backend
from sim.scenario.problems import Problem
from sim.scenario.sections.nodes import NODES, node_names
from sim.scenario.kinds import Duration, Integer, Text
from sim.scenario.records import Record, option
from sim.scenario.tree import Scenario, Section

__all__ = ["RUN", "RunSpec"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RunSpec:
    """Say how the run goes: seed, crypto mode, stop time, sampling interval, the node to draw."""

    seed: int = option(Integer(0), "seed of the run's one random generator; the same seed gives the same run", 1)
    crypto: str = option(Text(), "crypto backend: real (every key really generated)", "real")
    until: float = option(Duration(minimum=1e-9), "stop here in simulated time even if nodes are still busy",
                          24 * 3600.0)
    sample_interval: float = option(Duration(minimum=1e-9), "how often server gauges are sampled", 1.0)
    trace_node: str = option(Text(), "node whose join the sequence diagram shows (auto: first failed, "
                             "else slowest)", "auto")

    def problems(self) -> Iterable[tuple[str, str]]:
        """Report a crypto mode that ``sim.crypto`` does not offer, with its own message."""
        try:
            crypto_backend(self.crypto)
        except ValueError as err:
            yield "crypto", str(err)


def _check(spec: RunSpec, scenario: Scenario) -> Iterable[Problem]:
    if spec.trace_node != "auto":
        groups = scenario.get(NODES)
        names = node_names(groups)
        if spec.trace_node not in names:
            close = difflib.get_close_matches(spec.trace_node, names, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f" (nodes are {names[0]} ... {names[-1]})"
            yield Problem(path=("run", "trace_node"), message=f"no node is named {spec.trace_node!r}{hint}")


def _engine(spec: RunSpec, scenario: Scenario) -> Mapping[str, Any]:
    return {"seed": spec.seed, "crypto": spec.crypto, "until": spec.until, "sample_interval": spec.sample_interval}


RUN: Section[RunSpec] = Section(key="run", kind=Record(RunSpec), default=RunSpec(), engine=_engine, check=_check,
                                doc="seed, crypto mode, stop time, sampling, the node the sequence diagram shows")
