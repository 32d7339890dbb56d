"""Check the World: the clock, the derived random streams, the event log and the run's determinism."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
from datetime import datetime, timedelta

import pytest

from sim.engine.latency import LogNormal
from sim.engine.network import Link
from sim.engine.run import DEFAULT_START, NetworkSettings, UniformArrivals
from sim.engine.world import EventLog, World
from tests.engine_support import run

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_wall_clock_is_start_plus_simulated_time() -> None:
    world = World(1, DEFAULT_START)
    world.env.run(until=90.5)
    assert world.t == 90.5
    assert world.now() == DEFAULT_START + timedelta(seconds=90.5)


def test_a_naive_start_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        World(1, datetime(2026, 1, 1))


def test_streams_depend_on_seed_and_name_not_on_creation_order() -> None:
    first, second = World(7, DEFAULT_START), World(7, DEFAULT_START)
    a1, b1 = first.stream("node/a"), first.stream("node/b")
    b2, a2 = second.stream("node/b"), second.stream("node/a")
    assert [a1.random() for _ in range(3)] == [a2.random() for _ in range(3)]
    assert b1.random() == b2.random()
    assert World(7, DEFAULT_START).stream("x").random() != World(8, DEFAULT_START).stream("x").random()
    assert World(7, DEFAULT_START).stream("x").random() != World(7, DEFAULT_START).stream("y").random()


def test_event_log_lines_have_a_fixed_layout() -> None:
    log = EventLog()
    log.record(1.5, "w-1", "csr-created", {"server": "control-plane", "name": "csr-abc"})
    log.record(2.0, "apiserver", "csr-approved")
    assert list(log) == [(1.5, "w-1", "csr-created", (("name", "csr-abc"), ("server", "control-plane"))),
                         (2.0, "apiserver", "csr-approved", ())]
    assert log.dumps() == ('[1.5,"w-1","csr-created",{"name":"csr-abc","server":"control-plane"}]\n'
                           '[2.0,"apiserver","csr-approved",{}]\n')
    assert len(log.digest()) == 64


def _storm_digest(seed: int) -> str:
    result = run(30, arrival=UniformArrivals(window=5.0), log_requests=True, seed=seed,
                 network=NetworkSettings(default_link=Link(latency=LogNormal(0.001, 0.02), loss=0.05)))
    assert result.counts["joined"] == 30
    return result.events.digest()


def test_same_config_and_seed_give_a_byte_identical_event_log() -> None:
    first = run(30, arrival=UniformArrivals(window=5.0), log_requests=True, seed=11,
                network=NetworkSettings(default_link=Link(latency=LogNormal(0.001, 0.02), loss=0.05)))
    second = run(30, arrival=UniformArrivals(window=5.0), log_requests=True, seed=11,
                 network=NetworkSettings(default_link=Link(latency=LogNormal(0.001, 0.02), loss=0.05)))
    assert first.events.dumps() == second.events.dumps()
    assert len(first.events) > 30 * 20
    assert first.events.digest() != _storm_digest(12)


def test_the_event_log_does_not_depend_on_the_interpreters_hash_seed() -> None:
    script = "from tests.test_engine_world import _storm_digest; print(_storm_digest(11))"
    env = dict(os.environ, PYTHONHASHSEED="12345")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == _storm_digest(11)
