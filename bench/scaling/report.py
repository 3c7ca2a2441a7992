"""The fleet-scale bench's printed figures: one section per fleet size, the sizing table, and the
last line with the ratios against the goals (issue 18)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from scaling.history import Built
from scaling.panels import PanelFigures
from scaling.pipeline import IngestFigures, _percentile

PANELS_1_6_GOAL = 1.5  # time at x100 / time at x1, panels about one city or one station
PANELS_7_9_GOAL = 1.0  # time per station at x100 / at x1, panels that rank every station
INGEST_CORES_GOAL = 0.5  # a quarter of the machine's two cores, at x10
FRESHNESS_P99_GOAL = 2.0  # seconds, at x10
MiB = 2**20


@dataclass
class History:
    """One history length measured at one size."""

    built: Built
    memory_bytes: int  # the DuckDB file (memory tier + metadata) after the build
    parquet_bytes: int
    panels: PanelFigures  # measured alone
    paired: tuple[PanelFigures, PanelFigures] | None = None  # (smallest size, this one) side by side

    def against_smallest(self, smallest: History) -> tuple[PanelFigures, PanelFigures]:
        """(the smallest size's figures, this size's) to compare: side by side when measured so."""
        return self.paired if self.paired is not None else (smallest.panels, self.panels)


@dataclass
class SizeResult:
    scale: int
    stations: int
    cities: int
    histories: dict[int, History] = field(default_factory=dict)  # hours -> figures, longest first
    ingest: IngestFigures | None = None

    @property
    def longest(self) -> History:
        return self.histories[max(self.histories)]


def ingest_cores(ingest: IngestFigures) -> float:
    """CPU of the four pipeline components (not the probe), in cores."""
    return sum(v for k, v in ingest.cpu.items() if not k.startswith("probe"))


def per_day(size_bytes: int, hours: float) -> float:
    return size_bytes * 24 / hours if hours else math.nan


def print_size(result: SizeResult) -> None:
    ingest = result.ingest
    print(
        f"\nx{result.scale}: {result.stations:,} stations in {result.cities:,} cities, one reading per second each"
    )
    for hours, history in result.histories.items():
        built, panels = history.built, history.panels
        print(
            f"  {hours} h of history: {built.memory_rows:,} rows in the memory tier ({built.memory_hours:.1f} h), "
            f"{built.parquet_rows:,} in Parquet ({built.parquet_hours:g} h); built in {built.seconds:.0f} s"
        )
        print(
            f"  disk per day of data: memory tier {per_day(history.memory_bytes, built.memory_hours) / MiB:,.0f} MiB "
            f"({history.memory_bytes / max(built.memory_rows, 1):.1f} B/row, DuckDB file), Parquet "
            f"{per_day(history.parquet_bytes, built.parquet_hours) / MiB:,.0f} MiB "
            f"({history.parquet_bytes / max(built.parquet_rows, 1):.1f} B/row)"
        )
        print(f"  {'panel':52s} {'http ms':>8s} {'server ms':>10s} {'rows':>5s}")
        for i, title in enumerate(panels.titles):
            print(
                f"  {i + 1}. {title[:49]:49s} {panels.http[i] * 1000:8.1f} {panels.server[i] * 1000:10.1f} "
                f"{panels.rows[i]:5d}"
            )
        print(
            f"  all nine {sum(panels.http) * 1000:.0f} ms over HTTP; server RSS {panels.rss / MiB:,.0f} MiB "
            f"(peak {panels.peak_rss / MiB:,.0f} MiB) with --memory-limit 1GB"
        )
        if history.paired is not None:
            base, mine = history.paired
            print(
                f"  side by side with the smallest size's {hours} h (their rounds alternating), "
                "ms over HTTP (server), smallest / this size:"
            )
            for i, title in enumerate(mine.titles):
                print(
                    f"  {i + 1}. {title[:40]:40s} {base.http[i] * 1000:6.1f} ({base.server[i] * 1000:5.1f}) / "
                    f"{mine.http[i] * 1000:6.1f} ({mine.server[i] * 1000:5.1f})"
                )
    if ingest is None:
        return
    fresh = ingest.freshness
    print(
        f"  ingest, live for {ingest.seconds:.0f} s ({ingest.shards} Kinesis shards): "
        f"{ingest.stored:,} of {ingest.generated:,} readings of the window stored "
        f"({ingest.stored / max(ingest.generated, 1):.1%}; the model's sensor dropouts miss ~1 %)"
    )
    parts = ", ".join(f"{name} {cores:.2f}" for name, cores in ingest.cpu.items())
    print(
        f"  CPU, cores: {parts}; pipeline {ingest_cores(ingest):.2f} of 2 "
        f"(the whole machine was {ingest.machine:.2f} busy)"
    )
    print(
        f"  freshness (reading's timestamp to visible in a query, {len(fresh):,} readings): "
        f"p50 {_percentile(fresh, 0.5):.2f} s, p99 {_percentile(fresh, 0.99):.2f} s, max {max(fresh, default=math.nan):.2f} s; "
        "p50 by third of the run " + " / ".join(f"{t:.2f}" for t in ingest.thirds) + " s"
    )
    print(
        f"  behind: simulator {ingest.simulator_behind:.1f} s at its last summary, forwarder lag {ingest.forwarder_lag}; "
        f"{verdict(ingest)}; store RSS {ingest.store_rss / MiB:,.0f} MiB"
    )
    for error in ingest.errors[:3]:
        print(f"  ! {error}")


def verdict(ingest: IngestFigures) -> str:
    """Whether the pipeline kept up, else where it saturates and which component limits it."""
    thirds = [t for t in ingest.thirds if not math.isnan(t)]
    growing = len(thirds) == 3 and thirds[2] > thirds[0] + 2.0
    lost = ingest.stored < 0.97 * ingest.generated
    behind = ingest.simulator_behind > 2.0
    if not (growing or lost or behind):
        return "keeps up (lag bounded)"
    components = {k: v for k, v in ingest.cpu.items() if not k.startswith("probe")}
    busiest = max(components, key=components.get)
    if ingest.machine >= 1.8:
        where = f"the machine's 2 cores are saturated ({ingest.machine:.2f} busy); the largest share is the {busiest}'s"
    elif components[busiest] >= 0.9:
        where = f"the {busiest} is saturated (one core: {components[busiest]:.2f})"
    else:
        where = f"no component at a full core; the busiest is the {busiest} ({components[busiest]:.2f})"
    reasons = [
        r
        for r, on in (("lag growing", growing), ("readings missing", lost), ("simulator behind", behind))
        if on
    ]
    return f"does NOT keep up ({', '.join(reasons)}): {where}"


def print_summary(results: dict[int, SizeResult]) -> None:
    """The sizing table and each size's panel times against the smallest size's, history for history."""
    print("\nsizing (one reading per station per second; disk per day of data)")
    print(
        f"  {'fleet':>6s} {'stations':>9s} {'history':>8s} {'ingest cores':>13s} {'p99 fresh s':>12s} "
        f"{'panels 1-6 ms':>14s} {'panels 7-9 ms':>14s} {'RSS MiB':>8s} {'mem GiB/day':>12s} {'Parquet GiB/day':>16s}"
    )
    for scale, r in results.items():
        cores = ingest_cores(r.ingest) if r.ingest else math.nan
        p99 = _percentile(r.ingest.freshness, 0.99) if r.ingest else math.nan
        for hours, h in r.histories.items():
            rss = max(h.panels.rss, r.ingest.store_rss if r.ingest else 0)
            print(
                f"  {'x' + str(scale):>6s} {r.stations:>9,} {str(hours) + ' h':>8s} {cores:>13.2f} {p99:>12.2f} "
                f"{sum(h.panels.http[:6]) * 1000:>14.0f} {sum(h.panels.http[6:]) * 1000:>14.0f} {rss / MiB:>8,.0f} "
                f"{per_day(h.memory_bytes, h.built.memory_hours) / 2**30:>12.2f} "
                f"{per_day(h.parquet_bytes, h.built.parquet_hours) / 2**30:>16.2f}"
            )
    smallest = results[min(results)]
    for scale, r in results.items():
        if r is smallest:
            continue
        for hours, h in r.histories.items():
            base = smallest.histories.get(hours)
            if base is None:
                continue
            low, high = h.against_smallest(base)
            ratios = [high.http[i] / low.http[i] for i in range(6)]
            per_station = [
                (high.http[i] / r.stations) / (low.http[i] / smallest.stations) for i in range(6, 9)
            ]
            how = "side by side" if h.paired is not None else "measured apart"
            print(
                f"  x{scale} vs x{smallest.scale}, {hours} h of history, {how}, over HTTP: panels 1-6 "
                + " ".join(f"{x:.2f}" for x in ratios)
                + "; panels 7-9 per station "
                + " ".join(f"{x:.3f}" for x in per_station)
            )


def compared(small: SizeResult, large: SizeResult) -> tuple[float, float] | None:
    """(panels 1-6 at ``large`` / at ``small``, panels 7-9 per station likewise), with the history
    ``large`` was measured with (its shortest), side by side where it was measured so."""
    hours = min(large.histories)
    base = small.histories.get(hours)
    if base is None:
        return None
    low, high = large.histories[hours].against_smallest(base)
    p16 = sum(high.http[:6]) / sum(low.http[:6])
    p79 = (sum(high.http[6:]) / large.stations) / (sum(low.http[6:]) / small.stations)
    return p16, p79


def last_line(results: dict[int, SizeResult]) -> str:
    failed = []
    small, large, ten = results.get(1), results.get(100), results.get(10)
    ratios = compared(small, large) if small and large else None
    if ratios:
        p16, p79 = ratios
        if p16 > PANELS_1_6_GOAL:
            failed.append("panels 1-6")
        if p79 > PANELS_7_9_GOAL:
            failed.append("panels 7-9")
        p16_text, p79_text = f"x{p16:.2f}", f"x{p79:.2f}"
    else:
        p16_text = p79_text = "n/a (needs x1 and x100)"
        failed.append("panels (needs x1 and x100)")
    if ten and ten.ingest:
        cores = ingest_cores(ten.ingest)
        p99 = _percentile(ten.ingest.freshness, 0.99)
        if not cores < INGEST_CORES_GOAL:
            failed.append("x10 ingest cores")
        if not p99 < FRESHNESS_P99_GOAL:
            failed.append("x10 freshness")
        cores_text, p99_text = f"{cores:.2f}", f"{p99:.2f}"
    else:
        cores_text = p99_text = "n/a"
        failed.append("x10 ingest (not run)")
    outcome = "met" if not failed else "not met: " + ", ".join(failed)
    return (
        f"fleet scale: panels 1-6 {p16_text} (goal <= {PANELS_1_6_GOAL}), panels 7-9 per-station {p79_text} "
        f"(goal <= {PANELS_7_9_GOAL}), x10 ingest {cores_text} cores (goal < {INGEST_CORES_GOAL}), "
        f"p99 freshness x10 {p99_text} s (goal < {FRESHNESS_P99_GOAL:.0f}) -> {outcome}"
    )
