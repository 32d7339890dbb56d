"""Run one scenario over every combination of varied fields and seeds, here or on a Dask cluster, into one table.

``spec`` reads ``--vary`` and merges it with the scenario's ``sweep``
section; ``plan`` checks every combination and lists the runs.
"""

from sim.sweep.plan import Plan, PlannedRun, make_plan
from sim.sweep.spec import Vary, parse_vary

__all__ = ["Plan", "PlannedRun", "Vary", "make_plan", "parse_vary"]
