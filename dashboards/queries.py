"""The nine panel queries of "PM2.5 Analysis 1", generated from the station catalogue.

They keep the reference deployment's meaning (measure ``pm2.5`` read as
``measure_value::bigint``, ``ago(...)`` windows, 30 s bins, the CASE-per-station
pivots, the interpolation CTEs) but are built from the catalogue and the
database/table names, so a station added to the catalogue appears everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from catalogue import Catalogue, City

MEASURE = "pm2.5"


@dataclass(frozen=True)
class QueryContext:
    """What every query needs: the catalogue and where the data lives."""

    catalogue: Catalogue
    database: str = "iot"
    table: str = "pm25"
    focus_station: str = "huaqiao city"  # "Shenzhen OCT": the station of the two time-series panels

    @property
    def source(self) -> str:
        return f"{quote_identifier(self.database)}.{quote_identifier(self.table)}"


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _pivot(cases: list[tuple[str, str]], column: str, value: str) -> str:
    """``CASE WHEN column = 'x' THEN value ELSE NULL END AS alias`` for each (value, alias)."""
    return ",\n  ".join(
        f"CASE WHEN {column} = {quote_literal(match)} THEN {value} ELSE NULL END AS {alias}"
        for match, alias in cases
    )


def city_station_averages(ctx: QueryContext, city: City) -> str:
    """Panels 1-4: each station's average over the last 30 s (30 s bins, rounded), one column per station."""
    cases = [(station.name, station.alias) for station in city.stations]
    return (
        f"SELECT\n  {_pivot(cases, 'location', 'avg_pm25')}\n"
        "FROM (\n"
        "  SELECT location, ROUND(AVG(measure_value::bigint), 0) AS avg_pm25\n"
        f"  FROM {ctx.source}\n"
        f"  WHERE measure_name = {quote_literal(MEASURE)} AND city = {quote_literal(city.name)}"
        " AND time >= ago(30s)\n"
        "  GROUP BY location, BIN(time, 30s)\n"
        "  ORDER BY avg_pm25 DESC\n"
        ")"
    )


def station_last_5_minutes(ctx: QueryContext) -> str:
    """Panel 5: the focus station's raw readings of the last 5 minutes as one time series."""
    return (
        "SELECT location, CREATE_TIME_SERIES(time, measure_value::bigint) AS pm25\n"
        f"FROM {ctx.source}\n"
        f"WHERE measure_name = {quote_literal(MEASURE)} AND location = {quote_literal(ctx.focus_station)}"
        " AND time >= ago(5m)\n"
        "GROUP BY location"
    )


def _interpolated_ctes(ctx: QueryContext, keys: str, window: str, station_filter: str = "") -> str:
    """30 s bin averages per station, then linear interpolation over every 30 s step between first and last bin."""
    return (
        "binned_timeseries AS (\n"
        f"  SELECT {keys}, BIN(time, 30s) AS binned_timestamp, ROUND(AVG(measure_value::bigint), 2) AS avg_pm25\n"
        f"  FROM {ctx.source}\n"
        f"  WHERE measure_name = {quote_literal(MEASURE)}{station_filter} AND time > ago({window})\n"
        f"  GROUP BY {keys}, BIN(time, 30s)\n"
        "),\n"
        "interpolated_timeseries AS (\n"
        f"  SELECT {keys}, INTERPOLATE_LINEAR(\n"
        "    CREATE_TIME_SERIES(binned_timestamp, avg_pm25),\n"
        "    SEQUENCE(MIN(binned_timestamp), MAX(binned_timestamp), 30s)) AS interpolated_avg_pm25\n"
        "  FROM binned_timeseries\n"
        f"  GROUP BY {keys}\n"
        ")"
    )


def station_interpolated_2_hours(ctx: QueryContext) -> str:
    """Panel 6: the focus station's 30 s averages over 2 hours, gaps filled by linear interpolation."""
    station_filter = f" AND location = {quote_literal(ctx.focus_station)}"
    return (
        f"WITH {_interpolated_ctes(ctx, 'location', '2h', station_filter)}\n"
        "SELECT time, ROUND(value, 2) AS interpolated_avg_pm25\n"
        "FROM interpolated_timeseries\n"
        "CROSS JOIN UNNEST(interpolated_avg_pm25)"
    )


def _all_stations_interpolated(ctx: QueryContext) -> str:
    return (
        f"WITH {_interpolated_ctes(ctx, 'city, location', '5m')},\n"
        "all_location_interpolated AS (\n"
        "  SELECT city, location, time, ROUND(value, 2) AS interpolated_avg_pm25\n"
        "  FROM interpolated_timeseries\n"
        "  CROSS JOIN UNNEST(interpolated_avg_pm25)\n"
        ")"
    )


def city_ranking(ctx: QueryContext) -> str:
    """Panel 7: each city's average over the last 5 minutes of its stations' interpolated 30 s series."""
    cases = [(city.name, city.alias) for city in ctx.catalogue.cities]
    return (
        f"SELECT\n  {_pivot(cases, 'city', 'inter_avg_pm25')}\n"
        "FROM (\n"
        f"{_all_stations_interpolated(ctx)}\n"
        "SELECT city, AVG(interpolated_avg_pm25) AS inter_avg_pm25\n"
        "FROM all_location_interpolated\n"
        "GROUP BY city\n"
        "ORDER BY AVG(interpolated_avg_pm25) DESC\n"
        ")"
    )


def station_ranking(ctx: QueryContext, *, highest: bool, limit: int = 10) -> str:
    """Panels 8 and 9: the stations with the highest / lowest interpolated 5-minute average."""
    order = "DESC" if highest else "ASC"
    return (
        f"{_all_stations_interpolated(ctx)}\n"
        "SELECT city, location, AVG(interpolated_avg_pm25) AS avg_pm25_loc\n"
        "FROM all_location_interpolated\n"
        "GROUP BY city, location\n"
        f"ORDER BY avg_pm25_loc {order}\n"
        f"LIMIT {limit}"
    )
