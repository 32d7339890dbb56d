"""Turn a run's result into what a reader looks at: ``result.json``, a summary table, plots, a trace.

``record`` is the result file; ``metrics`` reduces it to percentiles, joins
per second and the bottleneck; ``table`` prints the summary; ``plots`` and
``sequence`` draw PNG and SVG figures; ``trace`` writes a Chrome/Perfetto
trace. Everything here reads a ``ResultFile``, so ``joinsim report``
redraws from the file alone.
"""

from sim.report.record import CheckRecord, NodeRecord, ResultFile, ServerRecord

__all__ = ["CheckRecord", "NodeRecord", "ResultFile", "ServerRecord"]
