"""Building blocks for Grafana 10+ dashboards that grafanalib 0.7.1 does not emit correctly.

- ``TimestreamTarget``: the Timestream plugin's query model. grafanalib's ``Target``
  and ``SqlTarget`` add fields (``expr``, ``rawSql`` ...) the plugin does not read.
- ``pm25_thresholds``: plain threshold steps; grafanalib's ``Threshold`` writes ``"value": "null"``.
- ``Gauge`` and ``BarGauge``: grafanalib's ``GaugePanel`` omits ``options.reduceOptions``
  (grafanalib issue #575) and its ``BarGauge`` writes the pre-7 ``fieldOptions``; these
  write Grafana 10's ``options`` / ``fieldConfig`` model.
"""

from __future__ import annotations

import os
from typing import Any

import attr
from attr.validators import in_, instance_of
from grafanalib.core import GridPos, Panel

DATASOURCE_TYPE = "grafana-timestream-datasource"
# Must equal the uid pinned in provisioning/datasources/timestream.yaml.j2
# (grafana_provisioning_datasource_uid); a test checks they agree.
DATASOURCE_UID = os.environ.get("PM25_DATASOURCE_UID", "timestream-pm25")

FORMAT_TABLE = 0
FORMAT_TIME_SERIES = 1

UNIT_UG_M3 = "conµgm3"  # Grafana's "Concentration / micrograms per cubic metre"

# China's PM2.5 air-quality breakpoints (HJ 633-2012, 24 h mean, ug/m3): excellent < 35 <= good < 75
# <= lightly polluted < 115 <= moderately < 150 <= heavily < 250 <= severely polluted.
PM25_BREAKPOINTS: tuple[tuple[str, float | None], ...] = (
    ("green", None),
    ("yellow", 35),
    ("orange", 75),
    ("red", 115),
    ("purple", 150),
    ("#7e0023", 250),  # maroon
)
GAUGE_MAX = 500


def datasource() -> dict[str, str]:
    return {"type": DATASOURCE_TYPE, "uid": DATASOURCE_UID}


def pm25_thresholds() -> list[dict[str, Any]]:
    """Grafana 10 threshold steps. (grafanalib's ``Threshold`` writes the base value as the string 'null'.)"""
    return [{"color": color, "value": value} for color, value in PM25_BREAKPOINTS]


@attr.s
class TimestreamTarget:
    """One query of the Timestream plugin: raw SQL, table (0) or time series (1) frames."""

    rawQuery: str = attr.ib(validator=instance_of(str))
    refId: str = attr.ib(default="A")
    format: int = attr.ib(default=FORMAT_TABLE, validator=in_([FORMAT_TABLE, FORMAT_TIME_SERIES]))
    waitForResult: bool = attr.ib(default=True)

    def to_json_data(self) -> dict[str, Any]:
        return {
            "datasource": datasource(),
            "refId": self.refId,
            "rawQuery": self.rawQuery,
            "format": self.format,
            "waitForResult": self.waitForResult,
        }


@attr.s
class _ReducingPanel(Panel):
    """A panel that reduces each field to one value (gauge, bar gauge), in Grafana 10's JSON model."""

    unit: str = attr.ib(default=UNIT_UG_M3)
    decimals: int | None = attr.ib(default=0)
    minimum: float | None = attr.ib(default=0)
    maximum: float | None = attr.ib(default=None)

    def _reducing_json(self, panel_type: str, options: dict[str, Any]) -> dict[str, Any]:
        defaults = {
            "unit": self.unit,
            "decimals": self.decimals,
            "min": self.minimum,
            "max": self.maximum,
            "color": {"mode": "thresholds"},
            "mappings": [],
        }
        # One value per field: each pivoted column holds one non-null value per row set.
        reduce_options = {"values": False, "calcs": ["lastNotNull"], "fields": ""}
        return self.panel_json(
            {
                "type": panel_type,
                "fieldConfig": {"defaults": defaults, "overrides": []},
                "options": {"reduceOptions": reduce_options, **options},
            }
        )


@attr.s
class Gauge(_ReducingPanel):
    """Grafana 10 gauge panel."""

    maximum: float | None = attr.ib(default=GAUGE_MAX)
    showThresholdMarkers: bool = attr.ib(default=True)

    def to_json_data(self) -> dict[str, Any]:
        return self._reducing_json(
            "gauge",
            {
                "orientation": "auto",
                "showThresholdLabels": False,
                "showThresholdMarkers": self.showThresholdMarkers,
                "sizing": "auto",
            },
        )


@attr.s
class BarGauge(_ReducingPanel):
    """Grafana 10 bar gauge panel."""

    decimals: int | None = attr.ib(default=1)
    orientation: str = attr.ib(default="horizontal", validator=in_(["auto", "horizontal", "vertical"]))
    displayMode: str = attr.ib(default="gradient", validator=in_(["basic", "gradient", "lcd"]))

    def to_json_data(self) -> dict[str, Any]:
        return self._reducing_json(
            "bargauge",
            {
                "orientation": self.orientation,
                "displayMode": self.displayMode,
                "valueMode": "color",
                "namePlacement": "auto",
                "showUnfilled": True,
                "sizing": "auto",
                "minVizWidth": 8,
                "minVizHeight": 16,
            },
        )


def rename_columns(names: dict[str, str]) -> list[dict[str, Any]]:
    """A Grafana 'organize' transformation showing SQL aliases under their real names."""
    return [{"id": "organize", "options": {"renameByName": names}}] if names else []


def grid_positions(layout: tuple[tuple[tuple[int, int], ...], ...]) -> list[GridPos]:
    """Panel positions in Grafana's 24-column grid from (width, height) pairs, row by row."""
    positions = []
    y = 0
    for row in layout:
        x = 0
        for width, height in row:
            positions.append(GridPos(h=height, w=width, x=x, y=y))
            x += width
        y += max(height for _, height in row)
    return positions


def place(panels: list, layout: tuple[tuple[tuple[int, int], ...], ...]) -> list:
    """Give each panel its place in ``layout`` (as grid_positions reads it), in order; returns them."""
    positions = grid_positions(layout)
    if len(panels) != len(positions):
        raise ValueError(f"layout has {len(positions)} places for {len(panels)} panels")
    for panel, position in zip(panels, positions, strict=True):
        panel.gridPos = position
    return panels
