"""How cost grows with the fleet (issue 18): the blog's 115 stations grown like a national network to
x1, x10 and x100 (115, 1,150 and 11,500 stations at one reading per second; bench/scaling/fleet.py),
measured at each size in one run:

  1. dashboard: the nine panels over HTTP with a day of history (bench/scaling/history.py,
     bench/scaling/panels.py), each size alone, then each larger size side by side with the
     smallest (two servers, their rounds alternating), which gives the ratios. A day of x100 is
     a billion rows (~10 minutes to build here, ~9 GB): x100 gets 3 h instead (--max-rows,
     --short-hours), which holds every panel's window (30 s, 5 min, 2 h) whole, so each panel
     selects the same rows as with a day; the rows outside the window differ, so x1 is measured
     with the same 3 h too and the ratios compare equal histories, and x1 and x10 with a day
     show what the other 21 h add;
  2. ingest, end to end: simulator -> kinesalite -> forwarder -> timestream_local live at 1 Hz, CPU
     per component from /proc, whether it keeps up or where it saturates (bench/scaling/pipeline.py);
  3. freshness: a reading's timestamp to the moment a query sees it, p50 and p99;
  4. footprint: the server's resident memory, bytes on disk per day of data per tier.

Prints figures and, last, one line with the ratios against the issue's goals; asserts nothing.
Run by `make bench-scale` (not by `make bench`: it takes about a quarter of an hour and ~3 GB of
disk under --work-dir).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scaling import history, panels, pipeline  # noqa: E402
from scaling.fleet import grow, write_yaml  # noqa: E402
from scaling.report import History, SizeResult, last_line, print_size, print_summary  # noqa: E402

from tests.services import LOCAL_CREDENTIALS  # noqa: E402


def tree_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def rows_per_hour(scale: int) -> int:
    return len(grow(scale).stations) * 3600


def history_plan(scale: int, args: argparse.Namespace) -> list[int]:
    """The history lengths measured at a size, longest first."""
    return [args.hours] if rows_per_hour(scale) * args.hours <= args.max_rows else [args.short_hours]


def measure_size(
    scale: int,
    plan: list[int],
    args: argparse.Namespace,
    work: Path,
    clustered: bool,
    log: Callable[[str], None],
    baselines: dict[int, panels.Target],
) -> SizeResult:
    """Every history length of ``plan`` at one size (build, panels alone, then side by side with the
    smallest size's data of the same history, from ``baselines``), then the live ingest. The first
    size measured fills ``baselines`` with its own data directories, which are kept for that."""
    fleet = grow(scale)
    result = SizeResult(scale, len(fleet.stations), len(fleet.cities))
    is_baseline = not baselines
    for hours in plan:
        data_dir = work / f"data-{hours}h"
        log(f"x{scale}: building {hours} h of history for {len(fleet.stations):,} stations in {data_dir} ...")
        built = history.build(data_dir, fleet, hours, 4.0, clustered, log)
        log(f"  built in {built.seconds:.0f} s")
        memory_bytes = tree_bytes(data_dir / "store.duckdb") + tree_bytes(data_dir / "store.duckdb.wal")
        parquet_bytes = tree_bytes(data_dir / "magnetic")
        panel_figures = panels.measure(data_dir, fleet, built.end_ns, args.repeat, 4.0, log)
        result.histories[hours] = History(built, memory_bytes, parquet_bytes, panel_figures)
        own = panels.Target(data_dir, fleet, panel_figures.next_second)
        if is_baseline:
            baselines[hours] = own
        elif hours in baselines:
            log(f"  side by side with the x{args.scales[0]} data of {hours} h ...")
            base, mine = panels.measure_side_by_side([baselines[hours], own], args.repeat, 4.0, log)
            result.histories[hours].paired = (base, mine)
            baselines[hours] = dataclasses.replace(baselines[hours], next_second=base.next_second)
        if hours != plan[-1] and not args.keep and not is_baseline:
            shutil.rmtree(data_dir, ignore_errors=True)
    if args.ingest_seconds > 0:
        log(f"  live ingest for {pipeline.WARM_UP + args.ingest_seconds:.0f} s ...")
        catalogue_file = write_yaml(fleet, work / "stations.yaml")
        result.ingest = pipeline.run(
            work / f"data-{plan[-1]}h", fleet, catalogue_file, args.ingest_seconds, work, log
        )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--scales", type=int, nargs="+", default=[1, 10, 100], help="fleet sizes (default: 1 10 100)"
    )
    parser.add_argument(
        "--hours", type=int, default=24, help="hours of history in the memory tier (default: 24, a day)"
    )
    parser.add_argument(
        "--max-rows",
        type=float,
        default=2e8,
        help="a size whose --hours of history exceed this many rows gets --short-hours instead, and the "
        "smallest size is measured with --short-hours too, so that the ratios compare equal histories "
        "(default: 2e8, which shortens x100: a day of it is 1e9 rows, ~10 min to build and ~5 GB)",
    )
    parser.add_argument(
        "--short-hours", type=int, default=3, help="the shorter history (default: 3; every panel's window, "
        "at most 2 h, lies inside it)"
    )  # fmt: skip
    parser.add_argument("--repeat", type=int, default=9, help="timed rounds of the nine panels (default: 9)")
    parser.add_argument(
        "--ingest-seconds", type=float, default=100.0, help="seconds of live ingest measured per size, after a "
        f"{pipeline.WARM_UP:.0f} s warm-up (default: 100); 0 skips the ingest"
    )  # fmt: skip
    parser.add_argument("--work-dir", type=Path, help="where the data dirs go (default: a temporary folder)")
    parser.add_argument(
        "--keep", action="store_true", help="keep the data dirs (default: each is removed after its size)"
    )
    args = parser.parse_args(argv)
    os.environ.update(LOCAL_CREDENTIALS)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    began = time.monotonic()
    clustered = history.clustering_available()
    layout = "clustered by series" if clustered else "arrival order (no clustering)"
    args.scales = sorted(set(args.scales))  # the smallest first: the others are compared with it
    plans = {scale: history_plan(scale, args) for scale in args.scales}
    shortened = sorted({h for hours in plans.values() for h in hours if h != args.hours})
    if shortened and min(args.scales) in plans:
        plans[min(args.scales)] = sorted({*plans[min(args.scales)], *shortened}, reverse=True)
    print(
        f"fleet scale bench: {args.hours} h of history per size, memory-tier layout: {layout}; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the start"
    )
    for scale, hours in plans.items():
        if args.hours not in hours:
            print(
                f"  x{scale}: {hours[0]} h of history instead of {args.hours} h ({args.hours} h would be "
                f"{rows_per_hour(scale) * args.hours:,.0f} rows, over --max-rows); every panel's window "
                f"(at most 2 h) lies inside it, and its ratios are taken against x{min(args.scales)} "
                f"with the same {hours[0]} h"
            )
    results: dict[int, SizeResult] = {}
    baselines: dict[int, panels.Target] = {}  # the smallest size's data, kept for the side-by-side runs
    work_root = Path(tempfile.mkdtemp(prefix="tsl-scale-", dir=args.work_dir))
    try:
        for scale in args.scales:
            work = work_root / f"x{scale}"
            work.mkdir()
            results[scale] = measure_size(scale, plans[scale], args, work, clustered, log, baselines)
            print_size(results[scale])
            sys.stdout.flush()
            if not args.keep and scale != args.scales[0]:
                shutil.rmtree(work, ignore_errors=True)
        print_summary(results)
        print(f"\n(whole run {time.monotonic() - began:.0f} s)")
        print(last_line(results))
    finally:
        if not args.keep:
            shutil.rmtree(work_root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
