"""Check that pausing full collections for a run restores the collector as it was, even on an error."""

from __future__ import annotations

import gc

import pytest

from sim.engine.gcpause import full_collections_paused


@pytest.mark.parametrize("fails", [pytest.param(False, id="valid: the run ends"),
                                   pytest.param(True, id="valid: the run raises")])
def test_the_collector_is_restored(fails: bool) -> None:
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    with pytest.raises(RuntimeError) if fails else _nothing():
        with full_collections_paused():
            assert gc.get_threshold()[:2] == before[:2] and gc.get_threshold()[2] > before[2]
            assert gc.get_freeze_count() > frozen
            if fails:
                raise RuntimeError("boom")
    assert gc.get_threshold() == before and gc.get_freeze_count() == frozen


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
