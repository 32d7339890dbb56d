"""Make one small, varied run for the report tests: a group that joins after a REJECT window, one that fails."""

from __future__ import annotations

import functools

from sim.report.record import ResultFile
from sim.scenario import ScenarioRun, parse_document, run_scenario

WRONG_PIN = "sha256:" + "ab" * 32
DOC = {
    "name": "sample",
    "description": "Two groups: one retries through a REJECT window and joins, one pins the wrong CA.",
    "run": {"sample_interval": "500ms"},
    "cluster": {"ca_key_type": "ecdsa"},
    "network": {"firewall": [{"action": "REJECT", "source": "ok", "window": {"end": "6s"}}]},
    "nodes": [{"name": "ok", "count": 3}, {"name": "bad", "count": 2, "join": {"ca_cert_hashes": [WRONG_PIN]}}],
    "expect": {"outcomes": {"ok": {"joined": "all"}, "bad": {"failed": "all"}}},
}


@functools.lru_cache(maxsize=None)
def sample_run(trace_node: str = "ok-1") -> ScenarioRun:
    """Return the run of ``DOC`` (once per trace node), with the sequence diagram on ``trace_node``."""
    doc = {**DOC, "run": {**DOC["run"], "trace_node": trace_node}}
    return run_scenario(parse_document(doc, "sample.yaml", default_name="sample"))


def sample(trace_node: str = "ok-1") -> ResultFile:
    """Return the result file of ``sample_run``."""
    return sample_run(trace_node).record
