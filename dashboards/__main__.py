"""``python -m dashboards build`` regenerates the dashboard JSON; ``report`` prints its nine panels."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError
from grafanalib._gen import DashboardEncoder

from catalogue import CatalogueError, load_catalogue
from dashboards import grafana_json, pm25_analysis_1, report
from dashboards.queries import QueryContext, quote_identifier
from local_pipeline import config as local_config
from local_pipeline.freshness import newest_reading, stale_message
from local_pipeline.services import all_services

OUTPUT_DIR = Path(__file__).resolve().parent
DEFAULT_STALE_AFTER = 120.0  # seconds: a newest reading older than this means the pipeline has stalled


def render(ctx: QueryContext) -> str:
    """The dashboard as normalised JSON text (sorted keys, 2-space indent, trailing newline)."""
    data = pm25_analysis_1.build(ctx).to_json_data()
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
    build = sub.add_parser("build", help="write dashboards/pm25-analysis-1.json")
    build.add_argument("--out", type=Path, default=OUTPUT_DIR, help="output folder (default: %(default)s)")
    build.add_argument(
        "--catalogue", type=Path, default=None, help="station catalogue (default: the project's)"
    )
    build.add_argument("--database", default="iot", help="Timestream database (default: %(default)s)")
    build.add_argument("--table", default="pm25", help="Timestream table (default: %(default)s)")
    show = sub.add_parser("report", help="run the nine panel queries and print what the panels show")
    show.add_argument(
        "--endpoint-url", default=None, help="Timestream endpoint, e.g. the local store http://127.0.0.1:8600"
    )
    show.add_argument("--region", default="us-east-1", help="AWS region (default: %(default)s)")
    show.add_argument(
        "--dashboard",
        type=Path,
        default=OUTPUT_DIR / pm25_analysis_1.FILENAME,
        help="dashboard JSON (default: %(default)s)",
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
        runs = report.run_panels(client, report.load_panels(args.dashboard))
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
    print(report.format_report(runs, where), end="")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
