"""``python -m dashboards build``: regenerate the dashboard JSON from the grafanalib code."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from grafanalib._gen import DashboardEncoder

from catalogue import CatalogueError, load_catalogue
from dashboards import pm25_analysis_1
from dashboards.queries import QueryContext

OUTPUT_DIR = Path(__file__).resolve().parent


def render(ctx: QueryContext) -> str:
    """The dashboard as normalised JSON text (sorted keys, 2-space indent, trailing newline)."""
    data = pm25_analysis_1.build(ctx).to_json_data()
    # Round-trip through the encoder so every grafanalib object becomes plain JSON, then normalise.
    plain = json.loads(json.dumps(data, cls=DashboardEncoder))
    # File provisioning does not resolve __inputs (${DS_...}); panels name the datasource by uid instead.
    # "rows" is the pre-5.0 layout, superseded by panels' gridPos.
    for legacy in ("__inputs", "rows"):
        plain.pop(legacy, None)
    return json.dumps(plain, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dashboards",
        description="Generate the Grafana dashboard JSON of the PM2.5 project from Python (grafanalib).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="write dashboards/pm25-analysis-1.json")
    build.add_argument("--out", type=Path, default=OUTPUT_DIR, help="output folder (default: %(default)s)")
    build.add_argument(
        "--catalogue", type=Path, default=None, help="station catalogue (default: the project's)"
    )
    build.add_argument("--database", default="iot", help="Timestream database (default: %(default)s)")
    build.add_argument("--table", default="pm25", help="Timestream table (default: %(default)s)")
    args = parser.parse_args(argv)

    try:
        catalogue = load_catalogue(args.catalogue)
        ctx = QueryContext(catalogue=catalogue, database=args.database, table=args.table)
        text = render(ctx)
    except CatalogueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    target = args.out / pm25_analysis_1.FILENAME
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
