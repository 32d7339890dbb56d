"""Keep a sweep's output directory: the plan, one directory per run, and which runs are complete.

Layout::

    OUT/sweep.json              the plan: file, varied fields, seeds, and each run's id, values and seed
    OUT/runs/<id>/scenario.yaml the run's resolved scenario (``joinsim run`` repeats it)
    OUT/runs/<id>/result.json   its result file, as ``joinsim run`` writes it
    OUT/runs/<id>/status.json   written last: finished or failed, the error, the metrics, the wall time
    OUT/results.parquet, OUT/results.csv   the table (``sim.sweep.table``)

Every file is written atomically (``sim.fileutil``), and ``status.json``
only once the result file is in place, so a run stopped half-way has no
status and runs again: a run counts as complete when its status says it
finished and its result file is there. A failed run has a status with its
error and is tried again by the next ``joinsim sweep`` into the same
directory (a worker that died may not fail twice). A directory holds one
sweep: a plan is written over the one already there only if it keeps every
run of it (``check_manifest``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Final, Mapping

import yaml

from sim import __version__
from sim.fileutil import write_atomic
from sim.sweep.plan import Plan, PlannedRun
from sim.sweep.summary import Value
from sim.sweep.task import Outcome

__all__ = ["FORMAT", "MANIFEST", "OtherSweep", "RunStatus", "check_manifest", "is_sweep_dir", "read_manifest",
           "read_status", "run_dir", "write_manifest", "write_outcome", "write_scenario"]

FORMAT: Final = 1
MANIFEST: Final = "sweep.json"


@dataclass(frozen=True, slots=True, kw_only=True)
class RunStatus:
    """Hold what ``status.json`` says of one run."""

    ok: bool
    error: str
    summary: Mapping[str, Value]
    wall_time: float


def run_dir(out: str, run_id: str) -> str:
    """Return the directory of one run."""
    return os.path.join(out, "runs", run_id)


def is_sweep_dir(path: str) -> bool:
    """Tell whether a directory was written by ``joinsim sweep`` (it has the plan)."""
    return os.path.isfile(os.path.join(path, MANIFEST))


def _json(doc: Any) -> bytes:
    return (json.dumps(doc, indent=1, ensure_ascii=False, default=str) + "\n").encode()


def write_manifest(out: str, plan: Plan) -> None:
    """Write ``sweep.json``: what the table's rows are (module docstring)."""
    doc = {"format": FORMAT, "version": __version__, "source": plan.source, "name": plan.name,
           "vary": [{"path": v.path, "values": list(v.values)} for v in plan.vary], "seeds": list(plan.seeds),
           "runs": [{"id": r.id, "values": [[p, v] for p, v in r.values], "seed": r.seed} for r in plan.runs]}
    write_atomic(os.path.join(out, MANIFEST), _json(doc))


class OtherSweep(ValueError):
    """Refuse to write a plan over another sweep's, whose runs would silently drop out of its table."""


def check_manifest(out: str, plan: Plan) -> None:
    """Raise ``OtherSweep`` if ``out`` holds a plan with runs this one lacks (or a plan that cannot be read).

    Why: a run's id is a hash of its resolved scenario, so the same plan, or
    the same plan with more values or seeds, contains every run already there
    and resumes; any other plan (another file, other ``--set`` overrides,
    fewer values) would replace ``sweep.json`` and leave the runs already
    made out of the table, so the caller has to ask for that (``--force``).
    """
    path = os.path.join(out, MANIFEST)
    if not os.path.lexists(path):
        return
    try:
        doc = read_manifest(out)
    except ValueError as err:  # its text names the file
        raise OtherSweep(str(err)) from None
    try:
        old = {str(run["id"]) for run in doc["runs"]}
    except (KeyError, TypeError):
        raise OtherSweep(f"{path}: not a joinsim sweep file: no list of runs") from None
    missing = old - {run.id for run in plan.runs}
    if missing:
        raise OtherSweep(f"{path} holds another sweep's plan ({doc.get('source')}, {len(old)} runs, "
                         f"{len(missing)} of them not in this sweep)")


def read_manifest(out: str) -> dict[str, Any]:
    """Return the plan written by ``write_manifest``; raise ValueError if the directory has none or it is broken."""
    path = os.path.join(out, MANIFEST)
    try:
        with open(path, encoding="utf-8") as handle:
            doc = json.load(handle)
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ValueError(f"unsupported sweep format {doc.get('format') if isinstance(doc, dict) else doc!r}")
        return doc
    except OSError as err:
        raise ValueError(f"{path}: {err.strerror}") from None
    except (json.JSONDecodeError, ValueError) as err:
        raise ValueError(f"{path}: not a joinsim sweep file: {err}") from None


def write_scenario(out: str, run: PlannedRun) -> None:
    """Write the run's resolved scenario as YAML, before it runs."""
    text = yaml.safe_dump(dict(run.scenario), sort_keys=False, allow_unicode=True, default_flow_style=None)
    write_atomic(os.path.join(run_dir(out, run.id), "scenario.yaml"), text.encode())


def write_outcome(out: str, outcome: Outcome) -> None:
    """Write the run's result file (if it finished), then its status (module docstring)."""
    directory = run_dir(out, outcome.id)
    if outcome.ok:
        write_atomic(os.path.join(directory, "result.json"), outcome.result)
    status = {"format": FORMAT, "id": outcome.id, "ok": outcome.ok, "error": outcome.error,
              "summary": dict(outcome.summary), "wall_time": outcome.wall_time, "detail": outcome.detail}
    write_atomic(os.path.join(directory, "status.json"), _json(status))


def read_status(out: str, run_id: str) -> RunStatus | None:
    """Return the run's status, or None if it has not finished writing (no status, or no result file)."""
    directory = run_dir(out, run_id)
    try:
        with open(os.path.join(directory, "status.json"), encoding="utf-8") as handle:
            doc = json.load(handle)
        status = RunStatus(ok=bool(doc["ok"]), error=str(doc["error"]), summary=dict(doc["summary"]),
                           wall_time=float(doc["wall_time"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if status.ok and not os.path.isfile(os.path.join(directory, "result.json")):
        return None
    return status
