"""The "PM2.5 Air Quality" dashboard: daily air quality per city from the hourly rollup table.

China's air quality index (HJ 633-2012) is defined on 24-hour means; this dashboard shows, per
city, the 24-hour mean PM2.5, its individual air quality index (IAQI) and category colour, and the
daily means of the last 7 days. It reads only the rollup table (a few thousand rows a week), never
the raw readings.
"""

from __future__ import annotations

from grafanalib.core import Dashboard as GrafanaDashboard
from grafanalib.core import Table, Time, TimeSeries

from dashboards import air_quality_queries as queries
from dashboards.aqi import CATEGORIES, IAQI_MAX, iaqi_thresholds
from dashboards.common import (
    FORMAT_TABLE,
    FORMAT_TIME_SERIES,
    UNIT_UG_M3,
    BarGauge,
    TimestreamTarget,
    datasource,
    place,
    pm25_thresholds,
    rename_columns,
)

UID = "pm25-air-quality"
TITLE = "PM2.5 Air Quality"
FILENAME = "pm25-air-quality.json"
SCHEMA_VERSION = 39  # Grafana 10.4, as "PM2.5 Analysis 1"


def _target(sql: str, fmt: int = FORMAT_TABLE) -> list[TimestreamTarget]:
    return [TimestreamTarget(rawQuery=sql, format=fmt)]


def _category_mappings() -> list[dict]:
    """Grafana value mappings giving each category name its colour."""
    options = {
        category.name: {"color": category.colour, "index": index} for index, category in enumerate(CATEGORIES)
    }
    return [{"type": "value", "options": options}]


def _column(name: str, *properties: tuple[str, object]) -> dict:
    return {
        "matcher": {"id": "byName", "options": name},
        "properties": [{"id": key, "value": value} for key, value in properties],
    }


def _panels(ctx: queries.RollupContext) -> list:
    ds = datasource()
    colour_cell = {"type": "color-background"}
    return [
        Table(
            title="Air quality by city: 24-hour mean PM2.5 and its index (HJ 633-2012)",
            description=(
                "Each city's mean PM2.5 over the last 24 whole hours (all its stations' readings), its "
                "individual air quality index by China's HJ 633-2012 breakpoints and the category, worst "
                "first. From the hourly rollup table."
            ),
            dataSource=ds,
            targets=_target(queries.city_air_quality(ctx)),
            unit="none",
            thresholds=iaqi_thresholds(),
            overrides=[
                _column("city", ("displayName", "City")),
                _column(
                    "pm25_24h",
                    ("displayName", "PM2.5 (24-hour mean)"),
                    ("unit", UNIT_UG_M3),
                    ("decimals", 1),
                ),
                _column(
                    "iaqi",
                    ("displayName", "IAQI"),
                    ("decimals", 0),
                    ("custom.cellOptions", colour_cell),
                ),
                _column(
                    "category",
                    ("displayName", "Category"),
                    ("mappings", _category_mappings()),
                    ("custom.cellOptions", colour_cell),
                ),
            ],
        ),
        BarGauge(
            title="IAQI by city (24-hour mean PM2.5)",
            description=(
                "The individual air quality index of each city's 24-hour mean PM2.5, coloured by category: "
                "0-50 excellent, 51-100 good, 101-150 lightly, 151-200 moderately, 201-300 heavily, "
                "above 300 severely polluted."
            ),
            dataSource=ds,
            targets=_target(queries.city_iaqi_pivot(ctx)),
            thresholds=iaqi_thresholds(),
            unit="none",
            decimals=0,
            maximum=IAQI_MAX,
            transformations=rename_columns(
                {c.alias: c.name for c in ctx.catalogue.cities if c.alias != c.name}
            ),
        ),
        TimeSeries(
            title="Daily mean PM2.5 by city over the last 7 days (China Standard Time days)",
            description="Each city's mean PM2.5 per day (00:00 to 24:00 UTC+8), from the hourly rollup table.",
            dataSource=ds,
            targets=_target(queries.city_daily_trend(ctx), FORMAT_TIME_SERIES),
            unit=UNIT_UG_M3,
            valueDecimals=1,
            showPoints="always",
            pointSize=6,
            thresholds=pm25_thresholds(),
            thresholdsStyleMode="line+area",
        ),
    ]


# (width, height) of each panel in the 24-column grid, row by row.
LAYOUT: tuple[tuple[tuple[int, int], ...], ...] = (
    ((12, 13), (12, 13)),  # the city table (12 rows), the IAQI bars (12 cities)
    ((24, 10),),  # the 7-day trend
)


def build(ctx: queries.RollupContext) -> GrafanaDashboard:
    panels = place(_panels(ctx), LAYOUT)
    return GrafanaDashboard(
        title=TITLE,
        uid=UID,
        description=(
            "Daily air quality of 12 cities by China's HJ 633-2012: 24-hour mean PM2.5, its index and "
            "category, and a 7-day trend, from the hourly rollup of the PM2.5 readings."
        ),
        tags=["pm2.5", "iot", "timestream", "aqi"],
        timezone="browser",
        refresh="1m",
        time=Time("now-7d", "now"),
        schemaVersion=SCHEMA_VERSION,
        editable=False,
        panels=panels,
    ).auto_panel_ids()
