"""Plain-Python answers for the air quality tests, computed from raw readings without the project's code.

HJ 633-2012, 24-hour PM2.5: IAQI = (IAQI_hi - IAQI_lo) / (BP_hi - BP_lo) * (C - BP_lo) + IAQI_lo within
the band holding C, rounded up to an integer; the table ends at 500 ug/m3 (IAQI 500). Exact rational
arithmetic (Fraction), so the expected index is the standard's, not a float's.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from fractions import Fraction

# (BP_lo, BP_hi, IAQI_lo, IAQI_hi) of each band, 24-hour mean PM2.5 in ug/m3.
BANDS = (
    (0, 35, 0, 50),
    (35, 75, 50, 100),
    (75, 115, 100, 150),
    (115, 150, 150, 200),
    (150, 250, 200, 300),
    (250, 350, 300, 400),
    (350, 500, 400, 500),
)
# (highest IAQI of the level, category, the standard's colour as RGB).
LEVELS = (
    (50, "Excellent", (0, 228, 0)),
    (100, "Good", (255, 255, 0)),
    (150, "Lightly polluted", (255, 126, 0)),
    (200, "Moderately polluted", (255, 0, 0)),
    (300, "Heavily polluted", (153, 0, 76)),
    (None, "Severely polluted", (126, 0, 35)),
)
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
CST_MS = 8 * HOUR_MS  # China Standard Time, UTC+8


def iaqi(concentration: Fraction | int) -> int:
    c = Fraction(concentration)
    if c > BANDS[-1][1]:
        return BANDS[-1][3]
    for bp_lo, bp_hi, i_lo, i_hi in BANDS:
        if c <= bp_hi:
            return math.ceil(Fraction(i_hi - i_lo, bp_hi - bp_lo) * (c - bp_lo) + i_lo)
    raise AssertionError("unreachable")


def category(index: int) -> str:
    for top, name, _ in LEVELS:
        if top is None or index <= top:
            return name
    raise AssertionError("unreachable")


def hex_colour(rgb: tuple[int, int, int]) -> str:
    return "#" + "".join(f"{part:02X}" for part in rgb)


@dataclass(frozen=True)
class Reading:
    city: str
    location: str
    time_ms: int
    value: int


@dataclass(frozen=True)
class HourRollup:
    city: str
    location: str
    hour_ms: int
    mean: Fraction
    minimum: int
    maximum: int
    count: int


def hourly_rollup(readings: list[Reading]) -> dict[tuple[str, str, int], HourRollup]:
    """Per station and hour (keyed by city, location, hour start in ms): mean, min, max and count."""
    groups: dict[tuple[str, str, int], list[int]] = defaultdict(list)
    for reading in readings:
        groups[(reading.city, reading.location, reading.time_ms - reading.time_ms % HOUR_MS)].append(
            reading.value
        )
    return {
        key: HourRollup(*key, Fraction(sum(values), len(values)), min(values), max(values), len(values))
        for key, values in groups.items()
    }


def city_means(readings: list[Reading], since_ms: int) -> dict[str, Fraction]:
    """Each city's mean of all its readings at or after since_ms."""
    groups: dict[str, list[int]] = defaultdict(list)
    for reading in readings:
        if reading.time_ms >= since_ms:
            groups[reading.city].append(reading.value)
    return {city: Fraction(sum(values), len(values)) for city, values in groups.items()}


def cst_day_start(time_ms: int) -> int:
    """The start (UTC ms) of the China Standard Time day holding time_ms."""
    return (time_ms + CST_MS) // DAY_MS * DAY_MS - CST_MS


def city_daily_means(readings: list[Reading], since_ms: int) -> dict[str, dict[int, Fraction]]:
    """Each city's mean per China Standard Time day, for readings at or after since_ms."""
    groups: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    for reading in readings:
        if reading.time_ms >= since_ms:
            groups[reading.city][cst_day_start(reading.time_ms)].append(reading.value)
    return {
        city: {day: Fraction(sum(values), len(values)) for day, values in days.items()}
        for city, days in groups.items()
    }
