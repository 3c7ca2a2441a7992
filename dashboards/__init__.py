"""Grafana dashboards as code (grafanalib). ``python -m dashboards build`` writes the JSON files."""
