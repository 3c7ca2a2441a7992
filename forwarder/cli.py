"""Command line: ``python -m forwarder --stream NAME --database iot --table pm25 --region R ...``."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path

from forwarder import __version__
from forwarder.connect import ConfigError, Settings
from forwarder.runner import Forwarder

log = logging.getLogger("forwarder")

DESCRIPTION = """\
Forward PM2.5 (or any) records from a Kinesis data stream into an Amazon Timestream table.

Records are the legacy Flink connector's flat JSON objects, keys case-insensitive:
  {"city": "Shenzhen", "location": "huaqiao city", "MeasureName": "pm2.5",
   "MeasureValue": "114", "MeasureValueType": "BIGINT", "Time": "1764295689000"}
Time, MeasureName, MeasureValue and MeasureValueType are required, TimeUnit defaults to
MILLISECONDS, and every other key becomes a dimension.

Every shard is read (following splits and merges: parents before children) from its checkpoint,
or from --start-position the first time. Records are written in batches of up to 100, at least every
--flush-interval seconds. Records Timestream refuses, and records that are not valid, go to the
dead-letter file (one JSON line each: record, reason, shard_id, sequence_number); an identical
duplicate of a stored record counts as delivered. Throttling and network errors are retried with
backoff for as long as it takes. A shard's checkpoint is stored only after its records are written,
so after a crash the forwarder resumes without losing or duplicating anything.

SIGTERM or Ctrl-C stops reading, writes what was read, stores the checkpoints and exits 0.
The same command works against AWS (omit the endpoint URLs) and the local stack.
"""

EPILOG = """\
examples:
  python -m forwarder --stream Timestreampm25Stream --database iot --table pm25 --region us-east-1
  python -m forwarder --stream Timestreampm25Stream --database iot --table pm25 --region us-east-1 \\
      --kinesis-endpoint-url http://127.0.0.1:4567 --timestream-endpoint-url http://127.0.0.1:8600 \\
      --checkpoint-dir .state/forwarder

credentials come from the usual AWS sources (environment, profile, instance role).
exit status: 0 after a requested stop, 2 for bad configuration, 1 otherwise.
"""


def _positive(kind: type):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text!r} must be greater than 0")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m forwarder",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    parser.add_argument(
        "--stream", required=True, help="Kinesis data stream to read (e.g. Timestreampm25Stream)"
    )
    parser.add_argument("--database", required=True, help="Timestream database (e.g. iot)")
    parser.add_argument("--table", required=True, help="Timestream table (e.g. pm25)")
    parser.add_argument(
        "--region",
        default=region,
        required=region is None,
        help="AWS region of the stream and the table (default: $AWS_REGION or $AWS_DEFAULT_REGION"
        + (f", now {region})" if region else ")"),
    )
    parser.add_argument(
        "--kinesis-endpoint-url",
        metavar="URL",
        help="Kinesis endpoint, for a local Kinesis such as kinesalite (default: the region's AWS endpoint)",
    )
    parser.add_argument(
        "--timestream-endpoint-url",
        metavar="URL",
        help="Timestream Write endpoint, for timestream_local (default: discovered with DescribeEndpoints)",
    )
    parser.add_argument(
        "--checkpoint-dir",
        metavar="DIR",
        type=Path,
        default=Path("forwarder-state"),
        help="folder for the per-shard checkpoints (SQLite; created if missing; default: %(default)s)",
    )
    parser.add_argument(
        "--dead-letter",
        metavar="FILE",
        type=Path,
        help="file the records that cannot be stored are appended to, one JSON line each "
        "(default: CHECKPOINT_DIR/dead-letter.jsonl)",
    )
    parser.add_argument(
        "--flush-interval",
        metavar="SECONDS",
        type=_positive(float),
        default=1.0,
        help="write a partial batch once its oldest record has waited this long (default: %(default)s)",
    )
    parser.add_argument(
        "--start-position",
        choices=("TRIM_HORIZON", "LATEST"),
        default="TRIM_HORIZON",
        help="where to start in shards without a checkpoint on the first run: the oldest record kept "
        "(TRIM_HORIZON) or records arriving from now on (LATEST) (default: %(default)s)",
    )
    parser.add_argument(
        "--multi-measure",
        nargs="?",
        const="readings",
        metavar="NAME",
        help="merge the readings of one series (same dimensions and time) into one MULTI record with "
        "this measure name (default name when the flag is given: %(const)s); "
        "without the flag, every reading is a single-measure record",
    )
    parser.add_argument(
        "--writers",
        metavar="N",
        type=_positive(int),
        default=2,
        help="concurrent WriteRecords calls (default: %(default)s; more help against AWS, whose round trips "
        "are long; timestream_local is fastest with 1-2)",
    )
    parser.add_argument(
        "--max-pending",
        metavar="N",
        type=_positive(int),
        default=20_000,
        help="stop reading while this many records are read but not yet written (default: %(default)s)",
    )
    parser.add_argument(
        "--summary-interval",
        metavar="SECONDS",
        type=_positive(float),
        default=5.0,
        help="seconds between summary lines (records/s in, written, rejected, dead-lettered, lag) "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--log-level",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        default="INFO",
        help="how much to log (default: %(default)s)",
    )
    parser.add_argument("--version", action="version", version=f"forwarder {__version__}")
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings(
        stream=args.stream,
        database=args.database,
        table=args.table,
        region=args.region,
        kinesis_endpoint_url=args.kinesis_endpoint_url,
        timestream_endpoint_url=args.timestream_endpoint_url,
        checkpoint_dir=args.checkpoint_dir,
        dead_letter=args.dead_letter,
        flush_interval=args.flush_interval,
        start_position=args.start_position,
        multi_measure_name=args.multi_measure,
        writers=args.writers,
        max_pending=args.max_pending,
        summary_interval=args.summary_interval,
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("botocore").setLevel(logging.WARNING)
    forwarder = Forwarder(settings_from(args))

    def on_signal(number: int, _frame) -> None:
        if forwarder.stopping:
            log.warning(
                "%s again: quitting without waiting for unwritten records", signal.Signals(number).name
            )
        else:
            log.info("%s received: finishing up", signal.Signals(number).name)
        forwarder.request_stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        forwarder.open()
        return forwarder.run()
    except ConfigError as error:
        print(f"forwarder: {error}", file=sys.stderr)
        return 2
