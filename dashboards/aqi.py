"""China's individual air quality index (IAQI) of PM2.5 by HJ 633-2012, as Timestream SQL.

HJ 633-2012 ("Technical Regulation on Ambient Air Quality Index", in force since 2016) defines the
IAQI of a pollutant piecewise-linearly between concentration breakpoints; for PM2.5 the input is the
24-hour mean in ug/m3. Within the band BP_lo <= C <= BP_hi:

    IAQI = (IAQI_hi - IAQI_lo) / (BP_hi - BP_lo) * (C - BP_lo) + IAQI_lo

and the standard has the result rounded up to an integer (no decimals kept). The table ends at
500 ug/m3 = IAQI 500; above it the index stays at 500 (the top of the scale, "severely polluted").

The SQL here is what the "PM2.5 Air Quality" dashboard runs; the tests compute the same index
independently in plain Python and compare.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

# (concentration breakpoint in ug/m3, IAQI at that breakpoint), from HJ 633-2012 table 1 (24 h PM2.5).
PM25_24H_BREAKPOINTS: tuple[tuple[int, int], ...] = (
    (0, 0),
    (35, 50),
    (75, 100),
    (115, 150),
    (150, 200),
    (250, 300),
    (350, 400),
    (500, 500),
)
IAQI_MAX = PM25_24H_BREAKPOINTS[-1][1]


@dataclass(frozen=True)
class Category:
    """One of the standard's six air quality levels: the highest IAQI it covers, and its colour."""

    level: int
    name: str
    upper: int | None  # highest (integer) index of the level; None for the open top level
    colour: str  # the standard's colour (appendix A), as RGB hex


# HJ 633-2012 table 2 and appendix A: levels, categories and their colours (R, G, B).
CATEGORIES: tuple[Category, ...] = (
    Category(1, "Excellent", 50, "#00E400"),  # green (0, 228, 0)
    Category(2, "Good", 100, "#FFFF00"),  # yellow (255, 255, 0)
    Category(3, "Lightly polluted", 150, "#FF7E00"),  # orange (255, 126, 0)
    Category(4, "Moderately polluted", 200, "#FF0000"),  # red (255, 0, 0)
    Category(5, "Heavily polluted", 300, "#99004C"),  # purple (153, 0, 76)
    Category(6, "Severely polluted", None, "#7E0023"),  # maroon (126, 0, 35)
)


def iaqi_thresholds() -> list[dict[str, object]]:
    """Grafana threshold steps colouring an integer IAQI by its category (51 is the first 'Good')."""
    steps: list[dict[str, object]] = [{"color": CATEGORIES[0].colour, "value": None}]
    for below, category in itertools.pairwise(CATEGORIES):
        steps.append({"color": category.colour, "value": below.upper + 1})
    return steps


def category_colours() -> dict[str, str]:
    return {category.name: category.colour for category in CATEGORIES}


def iaqi_sql(mean: str) -> str:
    """SQL for the integer IAQI of the 24 h mean PM2.5 ``mean`` (a SQL expression, used as is).

    The band's slope is applied as (IAQI_hi - IAQI_lo) * (C - BP_lo) / (BP_hi - BP_lo), so a
    concentration on a breakpoint gives that breakpoint's index exactly; rounding to 6 decimals
    before CEIL keeps binary floating-point noise (7.000000000000001 for 4.9 ug/m3) from adding a point."""
    cases = []
    for (bp_lo, iaqi_lo), (bp_hi, iaqi_hi) in itertools.pairwise(PM25_24H_BREAKPOINTS):
        cases.append(
            f"    WHEN {mean} <= {bp_hi} THEN {iaqi_lo} + "
            f"{iaqi_hi - iaqi_lo} * ({mean} - {bp_lo}) / {bp_hi - bp_lo}"
        )
    body = "\n".join(cases)
    return f"CAST(CEIL(ROUND(CASE\n{body}\n    ELSE {IAQI_MAX}\n  END, 6)) AS BIGINT)"


def category_sql(iaqi: str) -> str:
    """SQL naming the category of the integer index ``iaqi``."""
    cases = [
        f"    WHEN {iaqi} <= {category.upper} THEN '{category.name}'"
        for category in CATEGORIES
        if category.upper is not None
    ]
    body = "\n".join(cases)
    return f"CASE\n{body}\n    ELSE '{CATEGORIES[-1].name}'\n  END"
