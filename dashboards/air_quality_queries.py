"""The queries of "PM2.5 Air Quality": they read only the hourly rollup table, never the raw readings.

The rollup (a Timestream scheduled query that roles/pipeline_resources creates) writes one
multi-measure record per station and hour: the hour's start as ``time``, the dimensions ``city``
and ``location``, and the measures ``avg_pm25`` (DOUBLE), ``min_pm25``, ``max_pm25`` and
``readings`` (BIGINT). A city's mean over a window is the mean of all its readings in the
window: the hourly means weighted by their reading counts.
"""

from __future__ import annotations

from dataclasses import dataclass

from catalogue import Catalogue
from dashboards.aqi import category_sql, iaqi_sql
from dashboards.queries import quote_identifier, quote_literal

# The rollup's record layout; roles/pipeline_resources/defaults/main.yml writes the same names.
ROLLUP_MEASURE = "pm25_hourly"
ROLLUP_TABLE = "pm25_hourly"
# China Standard Time (UTC+8): the day a daily mean belongs to, as Chinese daily reports count it.
DAY_OFFSET = "8h"


@dataclass(frozen=True)
class RollupContext:
    """What the air quality queries need: the catalogue and where the rollup lives."""

    catalogue: Catalogue
    database: str = "iot"
    table: str = ROLLUP_TABLE

    @property
    def source(self) -> str:
        return f"{quote_identifier(self.database)}.{quote_identifier(self.table)}"


def _city_means_24h(ctx: RollupContext) -> str:
    """CTEs: each city's mean PM2.5 over the last 24 whole hours, then its IAQI."""
    return (
        "city_24h AS (\n"
        "  SELECT city, SUM(avg_pm25 * readings) / SUM(readings) AS pm25_24h\n"
        f"  FROM {ctx.source}\n"
        f"  WHERE measure_name = {quote_literal(ROLLUP_MEASURE)} AND time >= bin(now(), 1h) - 24h\n"
        "  GROUP BY city\n"
        "),\n"
        "city_iaqi AS (\n"
        f"  SELECT city, pm25_24h, {iaqi_sql('pm25_24h')} AS iaqi\n"
        "  FROM city_24h\n"
        ")"
    )


def city_air_quality(ctx: RollupContext) -> str:
    """Each city's 24-hour mean PM2.5, its IAQI and category, worst first."""
    return (
        f"WITH {_city_means_24h(ctx)}\n"
        "SELECT city, ROUND(pm25_24h, 1) AS pm25_24h, iaqi,\n"
        f"  {category_sql('iaqi')} AS category\n"
        "FROM city_iaqi\n"
        "ORDER BY iaqi DESC, city"
    )


def city_iaqi_pivot(ctx: RollupContext) -> str:
    """The same IAQI, one column per city (a bar gauge shows one bar per column)."""
    cases = ",\n  ".join(
        f"CASE WHEN city = {quote_literal(city.name)} THEN iaqi ELSE NULL END AS {city.alias}"
        for city in ctx.catalogue.cities
    )
    return f"SELECT\n  {cases}\nFROM (\nWITH {_city_means_24h(ctx)}\nSELECT city, iaqi FROM city_iaqi\n)"


def city_daily_trend(ctx: RollupContext) -> str:
    """Each city's daily mean PM2.5 (China Standard Time days) over the last 7 days, one series per city."""
    day = f"bin(time + {DAY_OFFSET}, 1d) - {DAY_OFFSET}"
    return (
        "SELECT city, CREATE_TIME_SERIES(day, pm25_daily) AS pm25_daily\n"
        "FROM (\n"
        f"  SELECT city, {day} AS day, ROUND(SUM(avg_pm25 * readings) / SUM(readings), 1) AS pm25_daily\n"
        f"  FROM {ctx.source}\n"
        f"  WHERE measure_name = {quote_literal(ROLLUP_MEASURE)}"
        f" AND time >= bin(now() + {DAY_OFFSET}, 1d) - {DAY_OFFSET} - 6d\n"
        f"  GROUP BY city, {day}\n"
        ")\n"
        "GROUP BY city\n"
        "ORDER BY city"
    )
