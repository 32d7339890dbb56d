"""Spread a sweep's runs over this process, local processes, or a Dask cluster; hand outcomes back as they finish.

How this works: every executor maps ``sim.sweep.task.execute`` over the
tasks and yields each ``Outcome`` as it completes (in any order: the table
is put in plan order afterwards, so the order runs finish in never shows).
``InProcess`` runs them one after the other (``--workers 1``: no pickling,
easiest to debug); ``LocalProcesses`` uses ``concurrent.futures``'
process pool, started with ``forkserver`` and this package preloaded, so a
worker starts fast without forking a parent that holds threads (the
progress bar's); ``DaskCluster`` submits to a ``dask.distributed``
scheduler, whose workers must have joinsim installed. A task that cannot
be carried out (a worker process died, a Dask worker was lost) comes back
as a failed outcome with that reason, like a run that failed by itself.
"""

from __future__ import annotations

import multiprocessing
import os
from multiprocessing.context import BaseContext
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any, Iterator, Protocol, Sequence

from sim.sweep.task import Outcome, Task, describe, execute

__all__ = ["DaskCluster", "Executor", "InProcess", "LocalProcesses", "SchedulerError", "default_workers"]


class SchedulerError(Exception):
    """Say that the Dask scheduler could not be reached (the sweep cannot start)."""


class Executor(Protocol):
    """Run tasks somewhere and yield their outcomes as they finish."""

    def run(self, tasks: Sequence[Task]) -> Iterator[Outcome]:
        """Yield one outcome per task, in the order they finish."""
        ...


def default_workers() -> int:
    """Return the cores this process may use (all of them, unless an affinity mask says otherwise)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True, slots=True)
class InProcess:
    """Run every task in this process, one after the other."""

    def run(self, tasks: Sequence[Task]) -> Iterator[Outcome]:
        """Yield each task's outcome in turn."""
        for task in tasks:
            yield execute(task)


def _failed(task: Task, error: BaseException) -> Outcome:
    return Outcome(id=task.id, error=f"not run to the end: {describe(error)}")


@dataclass(frozen=True, slots=True)
class LocalProcesses:
    """Run tasks on ``workers`` processes of this machine (module docstring)."""

    workers: int

    def run(self, tasks: Sequence[Task]) -> Iterator[Outcome]:
        """Yield outcomes as the processes finish them; on an early exit, cancel what has not started."""
        if not tasks:
            return
        context: BaseContext = multiprocessing.get_context("spawn")  # Windows has no forkserver
        if "forkserver" in multiprocessing.get_all_start_methods():
            forkserver = multiprocessing.get_context("forkserver")
            forkserver.set_forkserver_preload(["sim.sweep.task"])
            context = forkserver
        pool = ProcessPoolExecutor(max_workers=min(self.workers, len(tasks)), mp_context=context)
        try:
            futures: dict[Future[Outcome], Task] = {pool.submit(execute, task): task for task in tasks}
            for future in as_completed(futures):
                try:
                    yield future.result()
                except Exception as err:  # noqa: BLE001 - the pool broke (a worker died): record, go on
                    yield _failed(futures[future], err)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


@dataclass(frozen=True, slots=True)
class DaskCluster:
    """Run tasks on the Dask cluster whose scheduler is at ``address`` (``tcp://host:8786``)."""

    address: str
    timeout: float = 10.0
    """Seconds to wait for the scheduler to answer."""

    def _connect(self) -> Any:
        from distributed import Client

        try:
            return Client(self.address, timeout=self.timeout, set_as_default=False)  # type: ignore[no-untyped-call]
        except (OSError, TimeoutError, ValueError) as err:
            raise SchedulerError(f"cannot reach the Dask scheduler at {self.address}: {describe(err)}") from None

    def probe(self) -> None:
        """Connect once and leave, so an unreachable scheduler is reported before anything is written."""
        self._connect().close()

    def run(self, tasks: Sequence[Task]) -> Iterator[Outcome]:
        """Yield outcomes as the cluster finishes them; on an early exit, cancel what is left."""
        from distributed import as_completed as dask_completed

        client = self._connect()
        try:
            futures: list[Any] = client.map(execute, list(tasks), pure=False)
            owner = {future.key: task for future, task in zip(futures, tasks)}
            for future in dask_completed(futures, loop=client.loop):  # type: ignore[no-untyped-call]
                try:
                    yield future.result()
                except Exception as err:  # noqa: BLE001 - a lost worker or task: record, go on
                    yield _failed(owner[future.key], err)
            futures.clear()
        finally:
            client.close()
