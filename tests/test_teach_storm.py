"""Check the storm summary: CSR rate from milestones, join percentiles, 429s, backlog and busy cores."""

from __future__ import annotations

import math

from sim.engine import AllAtOnce, ClusterSettings, EngineConfig, NodeGroup, simulate
from sim.teach.storm import join_times, storm_of


def test_a_default_storm_drains_at_the_approvers_pace() -> None:
    result = simulate(EngineConfig(cluster=ClusterSettings(ca_key_type="ecdsa"), crypto="modeled",
                                   groups=(NodeGroup(name="w", count=60, arrival=AllAtOnce()),)))
    storm = storm_of(result)
    assert (storm.nodes, storm.joined) == (60, 60)
    # csrapproving's client: 20 requests/s, two per CSR; the burst of 30 lets the first 15 through at once.
    assert 9.0 < storm.csr_rate < 14.0
    assert storm.join_p50 < storm.join_p99 <= storm.last_join
    assert storm.peak_pending > 20 and storm.rejected_429 == 0 and storm.busy_cores >= 0
    assert len(join_times(result)) == 60 and min(join_times(result)) > 0


def test_a_run_without_nodes_summarizes_to_zeros() -> None:
    storm = storm_of(simulate(EngineConfig(cluster=ClusterSettings(ca_key_type="ecdsa"))))
    assert (storm.nodes, storm.joined, storm.csr_rate, storm.peak_pending) == (0, 0, 0.0, 0.0)
    assert math.isnan(storm.join_p50) and math.isnan(storm.last_join)
