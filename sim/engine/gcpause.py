"""Keep CPython's full garbage collections out of a run, whose heap only grows until it ends.

Why: a storm builds up long-lived state (stored objects and their history,
results, the event log) and almost no cyclic garbage (finished SimPy
processes are freed by reference counting). CPython still runs a full
collection each time the long-lived heap grows by a quarter, and each one
walks the whole heap: at 4,000 nodes that was most of the collector's time,
and it grows with the heap. ``full_collections_paused`` freezes what exists
(the cluster kubeadm init built) and raises the third threshold for the
run's duration; young collections go on as before, and the thresholds and the
frozen objects are restored afterwards. Results do not depend on when the
collector runs.
"""

from __future__ import annotations

import contextlib
import gc
from typing import Final, Iterator

__all__ = ["full_collections_paused"]

_NO_FULL_COLLECTIONS: Final = 1_000_000
"""Young-generation collections between full ones: more than any run makes."""


@contextlib.contextmanager
def full_collections_paused() -> Iterator[None]:
    """Freeze the heap as it is and hold off full collections until the block ends."""
    young, middle, _ = before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(young, middle, _NO_FULL_COLLECTIONS)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
