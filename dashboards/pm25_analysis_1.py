"""The "PM2.5 Analysis 1" dashboard: the reference deployment's nine panels, in its order."""

from __future__ import annotations

from grafanalib.core import Dashboard as GrafanaDashboard
from grafanalib.core import Table, Time, TimeSeries

from dashboards import queries
from dashboards.common import (
    FORMAT_TABLE,
    FORMAT_TIME_SERIES,
    UNIT_UG_M3,
    BarGauge,
    Gauge,
    TimestreamTarget,
    datasource,
    place,
    pm25_thresholds,
    rename_columns,
)

UID = "pm25-analysis-1"
TITLE = "PM2.5 Analysis 1"
FILENAME = "pm25-analysis-1.json"
GAUGE_CITIES = ("Beijing", "Shanghai", "Guangzhou", "Shenzhen")
SCHEMA_VERSION = 39  # Grafana 10.4


def _target(sql: str, fmt: int = FORMAT_TABLE) -> list[TimestreamTarget]:
    return [TimestreamTarget(rawQuery=sql, format=fmt)]


def _panels(ctx: queries.QueryContext) -> list:
    thresholds = pm25_thresholds()
    ds = datasource()
    focus = ctx.catalogue.station(ctx.focus_station)
    panels = []
    for city_name in GAUGE_CITIES:
        city = ctx.catalogue.city(city_name)
        panels.append(
            Gauge(
                title=f"{city.name} PM2.5 analysis",
                description=f"Average PM2.5 of each {city.name} station over the last 30 seconds (30 s bins).",
                dataSource=ds,
                targets=_target(queries.city_station_averages(ctx, city)),
                thresholds=thresholds,
                transformations=rename_columns({s.alias: s.name for s in city.stations if s.alias != s.name}),
            )
        )
    panels.append(
        TimeSeries(
            title="Shenzhen OCT PM2.5 in the last 5 minutes",
            description=f"Every reading of station '{focus.name}' ({focus.city}) in the last 5 minutes.",
            dataSource=ds,
            targets=_target(queries.station_last_5_minutes(ctx), FORMAT_TIME_SERIES),
            unit=UNIT_UG_M3,
            showPoints="always",
            pointSize=5,
            thresholds=thresholds,
        )
    )
    panels.append(
        TimeSeries(
            title=(
                "Shenzhen OCT average PM2.5 over the past 2 hours "
                "(30 s bins, missing values filled by linear interpolation)"
            ),
            description=f"30-second averages of station '{focus.name}', gaps filled by linear interpolation.",
            dataSource=ds,
            targets=_target(queries.station_interpolated_2_hours(ctx), FORMAT_TIME_SERIES),
            unit=UNIT_UG_M3,
            showPoints="never",
            thresholds=thresholds,
        )
    )
    panels.append(
        BarGauge(
            title="PM2.5 average by city in the last 5 minutes (linear interpolation)",
            description="Each city's average of its stations' interpolated 30-second series, highest first.",
            dataSource=ds,
            targets=_target(queries.city_ranking(ctx)),
            thresholds=thresholds,
            transformations=rename_columns(
                {c.alias: c.name for c in ctx.catalogue.cities if c.alias != c.name}
            ),
        )
    )
    for highest, title in (
        (True, "Top 10 stations by PM2.5 in the last 5 minutes (linear interpolation)"),
        (False, "Lowest 10 stations by PM2.5 in the last 5 minutes (linear interpolation)"),
    ):
        panels.append(
            Table(
                title=title,
                dataSource=ds,
                targets=_target(queries.station_ranking(ctx, highest=highest)),
                unit=UNIT_UG_M3,
                thresholds=thresholds,
                overrides=[
                    {
                        "matcher": {"id": "byName", "options": "avg_pm25_loc"},
                        "properties": [
                            {"id": "decimals", "value": 1},
                            {"id": "displayName", "value": "PM2.5 (5 min average)"},
                            {"id": "custom.cellOptions", "value": {"type": "color-background"}},
                        ],
                    }
                ],
            )
        )
    return panels


# (width, height) of each panel in the 24-column grid, row by row.
LAYOUT: tuple[tuple[tuple[int, int], ...], ...] = (
    ((24, 8),),  # Beijing: 20 stations
    ((24, 8),),  # Shanghai: 16 stations
    ((12, 8), (12, 8)),  # Guangzhou, Shenzhen
    ((12, 9), (12, 9)),  # the focus station: 5 minutes, 2 hours interpolated
    ((24, 10),),  # city ranking
    ((12, 10), (12, 10)),  # top / lowest 10 stations
)


def build(ctx: queries.QueryContext) -> GrafanaDashboard:
    panels = place(_panels(ctx), LAYOUT)
    return GrafanaDashboard(
        title=TITLE,
        uid=UID,
        description="PM2.5 readings of 115 stations in 12 cities, from Amazon Timestream (or the local store).",
        tags=["pm2.5", "iot", "timestream"],
        timezone="browser",
        refresh="5s",
        time=Time("now-2h", "now"),
        schemaVersion=SCHEMA_VERSION,
        editable=False,
        panels=panels,
    ).auto_panel_ids()
