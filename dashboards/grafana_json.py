"""grafanalib's output made into the dashboard model of the Grafana the project installs.

grafanalib 0.7.1 writes `null` for every field a panel leaves unset and keeps fields of the
pre-Grafana-7 model (a panel's `span`, `height`, `error`, a dashboard's `style` ...). Grafana's
own types (`@grafana/schema`, checked by tests/foundation/test_dashboard_schema.py) know neither:
an unset field is absent there, and `null` is accepted only where it means something, the first
threshold step's `value` (minus infinity). So the unset fields are dropped, not allowed: the
check stays strict, and the JSON says only what the dashboard sets.
"""

from __future__ import annotations

from typing import Any

# Dashboard and panel fields of grafanalib's model that Grafana 12's schema does not have.
LEGACY_DASHBOARD_FIELDS = ("__inputs", "rows", "gnetId", "hideControls", "sharedCrosshair", "style")
LEGACY_PANEL_FIELDS = ("error", "height", "span", "minSpan", "editable", "color", "columns", "fontSize")


def drop_unset(value: Any, path: tuple[str, ...] = ()) -> Any:
    """`value` without the keys whose value is None, at any depth, except a threshold step's
    `value`, where None is Grafana's minus infinity."""
    if isinstance(value, dict):
        return {
            key: drop_unset(item, (*path, key))
            for key, item in value.items()
            if item is not None or (key == "value" and path[-2:] == ("thresholds", "steps"))
        }
    if isinstance(value, list):
        return [drop_unset(item, path) for item in value]
    return value


def to_grafana_model(dashboard: dict[str, Any]) -> dict[str, Any]:
    """The dashboard as the pinned Grafana's schema has it: unset fields and grafanalib's legacy
    fields dropped, and what grafanalib leaves out but the schema requires filled in."""
    model = drop_unset(dashboard)
    for field in LEGACY_DASHBOARD_FIELDS:
        model.pop(field, None)
    model.get("timepicker", {}).pop("time_options", None)  # gone since Grafana 7's time picker
    for panel in model.get("panels", []):
        for field in LEGACY_PANEL_FIELDS:
            panel.pop(field, None)
        mappings = panel.pop("mappings", None)  # a panel-level list before Grafana 7; now a field config's
        if mappings:
            panel.setdefault("fieldConfig", {}).setdefault("defaults", {}).setdefault("mappings", mappings)
        legend = panel.get("options", {}).get("legend")
        if panel.get("type") == "timeseries" and legend is not None:
            # grafanalib's TimeSeries writes the legend's mode but not whether it shows.
            legend.setdefault("showLegend", legend.get("displayMode") != "hidden")
    return model
