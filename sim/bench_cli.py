"""Parse and run ``joinsim bench``: how fast the simulator joins nodes, against its performance targets.

How this works: ``add_parsers`` adds the subcommand; ``run`` measures the raw
SimPy event rate in this process, then runs each storm
(``sim.engine.bench``: modeled crypto at ``--sizes``, real crypto at
``--real-sizes``), each in a fresh interpreter unless ``--in-process``, with
a progress line on standard error. It prints one table of runs and one of
targets (pass / miss) and writes the JSON report to ``--out`` atomically.
``--emulate`` measures real joins over HTTPS instead
(``sim.emulate.bench.run_emulate_bench``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any, Sequence, TextIO

from sim.cli import _positive
from sim.engine import bench
from sim.fileutil import write_atomic

__all__ = ["add_parsers", "run"]

SIZES = (1_000, 10_000, 100_000)
REAL_SIZES = (1_000, 10_000)
QUICK_SIZES = (1_000, 10_000)
QUICK_REAL_SIZES = (1_000,)


def _sizes(text: str) -> tuple[int, ...]:
    """Parse ``1000,10k,100k`` (empty: none)."""
    out = []
    for part in filter(None, (p.strip().lower() for p in text.split(","))):
        scale = 1000 if part.endswith("k") else 1
        try:
            value = int(part.removesuffix("k")) * scale
        except ValueError:
            raise argparse.ArgumentTypeError(f"want sizes like 1000,10k,100k (got {text!r})") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"sizes must be positive (got {part!r})")
        out.append(value)
    return tuple(out)


def add_parsers(subparsers: Any) -> None:
    """Add ``bench`` to ``joinsim``'s subcommands."""
    parser = subparsers.add_parser(
        "bench", help="measure the simulator's speed (or, with --emulate, real joins over HTTPS)",
        description="Time happy-path join storms in the SimPy engine (modeled and real crypto) against SimPy's raw "
                    "event rate; print the runs and the performance targets, and write them as JSON.")
    parser.add_argument("--sizes", type=_sizes, default=None,
                        help="modeled-crypto storm sizes, e.g. 1k,10k,100k (default 1000,10000,100000)")
    parser.add_argument("--real-sizes", type=_sizes, default=None,
                        help="real-crypto storm sizes (default 1000,10000; empty for none)")
    parser.add_argument("--quick", action="store_true", help="smaller default sizes: 1k and 10k modeled, 1k real")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--in-process", action="store_true",
                        help="run every storm in this process (faster to start; peak RSS then includes earlier runs)")
    parser.add_argument("--out", help="write the JSON report to this file (atomically)")
    parser.add_argument("--emulate", action="store_true",
                        help="benchmark real joins over HTTPS against an in-process joinsim serve instead")
    parser.add_argument("--nodes", type=_positive, default=100, help="with --emulate: joins to run (default 100)")
    parser.add_argument("--concurrency", type=_positive, default=10,
                        help="with --emulate: joins at a time (default 10)")


def run(args: argparse.Namespace, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run the benchmark the arguments describe; return the exit code (0, or 1 if a run failed)."""
    if args.emulate:
        from sim.emulate.bench import run_emulate_bench
        return run_emulate_bench(nodes=args.nodes, concurrency=args.concurrency, out=args.out)
    out, err = stdout or sys.stdout, stderr or sys.stderr
    sizes = args.sizes if args.sizes is not None else QUICK_SIZES if args.quick else SIZES
    real_sizes = args.real_sizes if args.real_sizes is not None else QUICK_REAL_SIZES if args.quick else REAL_SIZES
    raw = bench.raw_event_rate()
    print(f"raw SimPy timeout events: {raw:,.0f}/s in this process", file=out, flush=True)
    measure = bench.measure if args.in_process else bench.measure_isolated
    runs = []
    for crypto, size in [*(("modeled", n) for n in sizes), *(("real", n) for n in real_sizes)]:
        line = _ProgressLine(err, f"{crypto} {size:,} nodes")
        try:
            runs.append(measure(size, crypto, args.seed, line.update))
        except RuntimeError as exc:
            line.finish("failed")
            print(f"joinsim bench: {exc}", file=err)
            return 1
        line.finish(f"{runs[-1].wall_seconds:.2f} s")
    data = bench.report(runs, raw, args.seed)
    print(format_report(data), file=out)
    if args.out:
        write_atomic(args.out, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode())
        print(f"wrote {args.out}", file=out)
    return 0


class _ProgressLine:
    """Show a storm's progress on one line (rewritten in place on a terminal, every 25 % otherwise)."""

    def __init__(self, stream: TextIO, label: str) -> None:
        self.stream, self.label = stream, label
        self.tty = stream.isatty()
        self.start = time.perf_counter()
        self.shown = -1 if self.tty else 0

    def update(self, done: int, total: int) -> None:
        """Report ``done`` of ``total`` nodes finished."""
        percent = 100 * done // total if total else 100
        if self.tty:
            if percent != self.shown:
                elapsed = time.perf_counter() - self.start
                self.stream.write(f"\r  {self.label}: {done:,}/{total:,} nodes done ({percent}%), {elapsed:.1f} s")
                self.stream.flush()
        elif percent // 25 > self.shown // 25 and percent < 100:
            print(f"  {self.label}: {percent}%", file=self.stream, flush=True)
        else:
            return
        self.shown = percent

    def finish(self, what: str) -> None:
        """End the line with the outcome."""
        prefix = "\r" if self.tty else ""
        print(f"{prefix}  {self.label}: {what}" + " " * 30, file=self.stream, flush=True)


def format_report(data: dict[str, Any]) -> str:
    """Render the runs and targets of a report as two plain-text tables."""
    rows = [("crypto", "nodes", "wall s", "joins/s", "raw ev/join", "RSS B/node", "joined", "sim s")]
    for r in data["runs"]:
        rows.append((r["crypto"], f"{r['nodes']:,}", f"{r['wall_seconds']:.2f}", f"{r['joins_per_wall_second']:,.0f}",
                     f"{r['raw_events_per_join']:,.0f}", f"{r['rss_bytes_per_node']:,.0f}",
                     f"{r['joined']:,}/{r['nodes']:,}", f"{r['sim_seconds']:,.0f}"))
    lines = [data["scenario"], *_table(rows), "", *_table(_target_rows(data["targets"]))]
    return "\n".join(lines)


def _target_rows(targets: Sequence[dict[str, Any]]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = [("target", "value", "wanted", "result")]
    for t in targets:
        value = "not measured" if t["value"] is None else f"{t['value']:,.2f} {t['unit']}"
        verdict = "-" if t["met"] is None else "pass" if t["met"] else "MISS"
        rows.append((t["name"], value, f"{t['comparison']} {t['target']:,.2f} {t['unit']}", verdict))
    return rows


def _table(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
             for row in rows]
    return [lines[0], "  ".join("-" * w for w in widths), *lines[1:]]
