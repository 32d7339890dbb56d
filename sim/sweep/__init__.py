"""Run one scenario over every combination of varied fields and seeds, here or on a Dask cluster, into one table.

``spec`` reads ``--vary`` and merges it with the scenario's ``sweep``
section; ``plan`` checks every combination and lists the runs; ``task``
runs one of them wherever an executor puts it (``executors``: this
process, local processes, a Dask cluster); ``store`` keeps the output
directory; ``summary`` and ``table`` reduce the runs to one table
(Parquet and CSV); ``run`` ties these together; ``report`` and ``plots``
read a finished sweep; ``cli`` offers ``joinsim sweep``.
"""

from sim.sweep.executors import DaskCluster, InProcess, LocalProcesses
from sim.sweep.plan import Plan, PlannedRun, make_plan
from sim.sweep.run import SweepResult, run_sweep
from sim.sweep.spec import Vary, parse_vary
from sim.sweep.table import read_table

__all__ = ["DaskCluster", "InProcess", "LocalProcesses", "Plan", "PlannedRun", "SweepResult", "Vary", "make_plan",
           "parse_vary", "read_table", "run_sweep"]
