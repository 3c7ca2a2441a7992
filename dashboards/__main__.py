"""``python -m dashboards build`` regenerates the dashboards' JSON; ``report`` prints what their panels show."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError
from grafanalib._gen import DashboardEncoder

from catalogue import CatalogueError, load_catalogue
from dashboards import grafana_json, pm25_air_quality, pm25_analysis_1, report
from dashboards.air_quality_queries import ROLLUP_TABLE, RollupContext
from dashboards.queries import QueryContext, quote_identifier
from local_pipeline import config as local_config
from local_pipeline.freshness import newest_reading, stale_message
from local_pipeline.services import all_services

OUTPUT_DIR = Path(__file__).resolve().parent
DEFAULT_DASHBOARDS = (OUTPUT_DIR / pm25_analysis_1.FILENAME, OUTPUT_DIR / pm25_air_quality.FILENAME)
DEFAULT_STALE_AFTER = 120.0  # seconds: a newest reading older than this means the pipeline has stalled


def render(ctx: QueryContext) -> str:
    """ "PM2.5 Analysis 1" as normalised JSON text (sorted keys, 2-space indent, trailing newline)."""
    return _normalised(pm25_analysis_1.build(ctx))


def render_air_quality(ctx: RollupContext) -> str:
    """ "PM2.5 Air Quality" as normalised JSON text."""
    return _normalised(pm25_air_quality.build(ctx))


def _normalised(dashboard: Any) -> str:
    data = dashboard.to_json_data()
    # Round-trip through the encoder so every grafanalib object becomes plain JSON, then normalise.
    plain = json.loads(json.dumps(data, cls=DashboardEncoder))
    # Unset and pre-Grafana-7 fields dropped: among them __inputs (file provisioning does not resolve
    # ${DS_...}; panels name the datasource by uid instead) and "rows" (superseded by gridPos).
    plain = grafana_json.to_grafana_model(plain)
    return json.dumps(plain, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be greater than 0")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dashboards",
        description="Generate the Grafana dashboard JSON of the PM2.5 project from Python (grafanalib).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser(
        "build", help="write dashboards/pm25-analysis-1.json and dashboards/pm25-air-quality.json"
    )
    build.add_argument("--out", type=Path, default=OUTPUT_DIR, help="output folder (default: %(default)s)")
    build.add_argument(
        "--catalogue", type=Path, default=None, help="station catalogue (default: the project's)"
    )
    build.add_argument("--database", default="iot", help="Timestream database (default: %(default)s)")
    build.add_argument("--table", default="pm25", help="Timestream table (default: %(default)s)")
    build.add_argument(
        "--rollup-table",
        default=ROLLUP_TABLE,
        help="the hourly rollup table that 'PM2.5 Air Quality' reads (default: %(default)s)",
    )
    show = sub.add_parser("report", help="run the panel queries and print what the panels show")
    show.add_argument(
        "--endpoint-url", default=None, help="Timestream endpoint, e.g. the local store http://127.0.0.1:8600"
    )
    show.add_argument("--region", default="us-east-1", help="AWS region (default: %(default)s)")
    show.add_argument(
        "--dashboard",
        type=Path,
        action="append",
        help="dashboard JSON, once per dashboard (default: dashboards/"
        f"{pm25_analysis_1.FILENAME} and dashboards/{pm25_air_quality.FILENAME})",
    )
    show.add_argument(
        "--database", default="iot", help="database checked for fresh data (default: %(default)s)"
    )
    show.add_argument("--table", default="pm25", help="table checked for fresh data (default: %(default)s)")
    show.add_argument(
        "--wait",
        type=float,
        default=0,
        metavar="SECONDS",
        help="first wait up to SECONDS for readings of the last 30 s",
    )
    show.add_argument(
        "--state-dir",
        type=Path,
        help="the local pipeline's state folder (e.g. .state): take the endpoint, names and key pair the "
        "play recorded there, and name the services that are down when the data is stale",
    )
    show.add_argument(
        "--stale-after",
        type=_positive_seconds,
        metavar="SECONDS",
        help="say so, and exit with status 1, when the newest reading is older than this "
        "(default: the play's setting with --state-dir, else 120)",
    )
    args = parser.parse_args(argv)
    if args.command == "report":
        return _report(args)

    try:
        catalogue = load_catalogue(args.catalogue)
        texts = {
            pm25_analysis_1.FILENAME: render(
                QueryContext(catalogue=catalogue, database=args.database, table=args.table)
            ),
            pm25_air_quality.FILENAME: render_air_quality(
                RollupContext(catalogue=catalogue, database=args.database, table=args.rollup_table)
            ),
        }
    except CatalogueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    for filename, text in texts.items():
        target = args.out / filename
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target}")
    return 0


def _report(args: argparse.Namespace) -> int:
    keys: dict[str, str] = {}
    pipeline = None
    stale_after = args.stale_after or DEFAULT_STALE_AFTER
    if args.state_dir is not None:
        try:
            pipeline = local_config.load(args.state_dir.resolve())
            keys = pipeline.credentials()
        except local_config.NotDeployed as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        args.endpoint_url = pipeline.timestream_endpoint
        args.region, args.database, args.table = pipeline.region, pipeline.database, pipeline.table
        stale_after = args.stale_after or pipeline.stale_after
    client = boto3.client("timestream-query", region_name=args.region, endpoint_url=args.endpoint_url, **keys)
    source = f"{quote_identifier(args.database)}.{quote_identifier(args.table)}"
    where = args.endpoint_url or f"Amazon Timestream ({args.region})"
    try:
        if args.wait > 0:
            report.wait_for_fresh_data(
                client, source, 30, args.wait, lambda line: print(line, file=sys.stderr)
            )
        dashboards = [report.load_dashboard(path) for path in args.dashboard or DEFAULT_DASHBOARDS]
        runs = [(title, _run_dashboard(client, title, panels)) for title, panels in dashboards]
        newest = newest_reading(client, args.database, args.table)
    except EndpointConnectionError:
        hint = " Is the local pipeline running? `make demo` starts it." if args.endpoint_url else ""
        print(f"error: nothing answers at {where}.{hint}", file=sys.stderr)
        return 1
    except (BotoCoreError, ClientError, OSError) as exc:
        print(f"error: cannot read the panels from {where}: {exc}", file=sys.stderr)
        return 1
    statuses = all_services(pipeline.run_dir, pipeline.services) if pipeline is not None else None
    age = None if newest is None else time.time() - newest
    stale = stale_message(age, stale_after, statuses)
    if stale:
        print(f"STALE: {stale}")
    print(
        "\n".join(
            report.format_report(title, panel_runs, where)
            if isinstance(panel_runs, list)
            else f"{title} — {panel_runs}\n"
            for title, panel_runs in runs
        ),
        end="",
    )
    return 1 if stale else 0


def _run_dashboard(client: Any, title: str, panels: list[dict[str, Any]]) -> list[report.PanelRun] | str:
    """The dashboard's panel runs; for "PM2.5 Air Quality" before the rollup wrote its first record (the
    table has no columns yet, so the store answers "Column ... does not exist", as AWS does), a note."""
    try:
        return report.run_panels(client, panels)
    except ClientError as exc:
        message = exc.response.get("Error", {}).get("Message", "")
        if title != pm25_air_quality.TITLE or "does not exist" not in message:
            raise
        return "no rolled-up hour yet: the hourly rollup runs at minute 5 of each hour"


if __name__ == "__main__":
    sys.exit(main())
