"""Command line: ``python -m simulator [options]``."""

from __future__ import annotations

import argparse
import logging
import math
import os
import random
import re
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError

from catalogue import CatalogueError, load_catalogue
from simulator.errors import ConfigError, DeliveryError
from simulator.model import FleetModel, ModelParams
from simulator.resume import ResumeFile
from simulator.runner import Runner, RunReport, Schedule, StopSignal, iso
from simulator.sinks import KinesisSink, OutputClosed, RetryPolicy, Sink, StdoutSink, TimestreamSink

log = logging.getLogger("simulator")

DEFAULT_STREAM = "Timestreampm25Stream"
EXIT_CONFIG = 2
EXIT_DELIVERY = 1
EXIT_ABORTED = 130

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(d|h|m|s|ms)", re.IGNORECASE)
_UNIT_MS = {"d": 86_400_000, "h": 3_600_000, "m": 60_000, "s": 1000, "ms": 1}


def parse_duration(text: str) -> int:
    """``90`` (seconds), ``30s``, ``15m``, ``2h``, ``1d``, ``1h30m`` -> milliseconds."""
    cleaned = text.strip().lower()
    try:
        seconds = float(cleaned)
    except ValueError:
        pass
    else:
        if not math.isfinite(seconds) or seconds < 0:
            raise argparse.ArgumentTypeError(f"{text!r} is not a duration (use e.g. 30s, 15m, 2h, 1d)")
        return round(seconds * 1000)
    position, total = 0, 0.0
    for match in _DURATION.finditer(cleaned):
        if match.start() != position:
            break
        total += float(match.group(1)) * _UNIT_MS[match.group(2)]
        position = match.end()
    if position != len(cleaned) or not cleaned:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration (use e.g. 30s, 15m, 2h, 1d or 1h30m)")
    return round(total)


def parse_time(text: str) -> int:
    """An ISO 8601 time (UTC unless it has an offset) or epoch milliseconds -> epoch milliseconds."""
    if text.strip().isdigit():
        return int(text.strip())
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a time (use ISO 8601 like 2026-11-28T08:00:00Z, or epoch milliseconds)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return round(moment.timestamp() * 1000)


def parse_param(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip() or not value.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE (e.g. haze_per_day=0.5)")
    return name.strip(), value.strip()


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {value})")
    return value


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage dump
        self.exit(EXIT_CONFIG, f"simulator: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    params = "\n".join(
        f"  {name:<22} {default!s:<7} {text}" for name, default, text in ModelParams.describe()
    )
    parser = _Parser(
        prog="python -m simulator",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Simulate the catalogue's PM2.5 stations (12 cities, 115 stations) and send one reading per\n"
            "station every --interval seconds to Kinesis Data Streams, Timestream, or stdout.\n"
            "Readings follow a daily cycle (peaks around 07-10 h and 19-23 h local time, low mid-afternoon),\n"
            "drift slowly, rise in city-wide haze episodes, carry measurement noise, and stations\n"
            "occasionally drop out for some minutes. The same --seed always gives the same data."
        ),
        epilog=(
            "record format (one flat JSON object per reading, every value a string):\n"
            '  {"city": "Beijing", "location": "dongsi", "MeasureName": "pm2.5", "MeasureValue": "41",\n'
            '   "MeasureValueType": "BIGINT", "Time": "<epoch milliseconds>"}\n\n'
            f"model parameters for --param NAME=VALUE (name, default, meaning):\n{params}\n\n"
            "examples:\n"
            "  python -m simulator --endpoint-url http://127.0.0.1:4567              # live, to local Kinesis\n"
            "  python -m simulator --backfill 2h --duration 0 --sink stdout > window.jsonl\n"
            "  python -m simulator --sink timestream --endpoint-url http://127.0.0.1:8000 --backfill 1h\n"
            "  python -m simulator --cities Beijing Shanghai --param haze_per_day=1 --seed 7\n\n"
            "exit codes: 0 done or stopped by Ctrl-C/SIGTERM (buffered records are flushed first),\n"
            "1 records could not be delivered, 2 bad configuration, 130 second Ctrl-C (no flush)."
        ),
    )
    where = parser.add_argument_group("destination")
    where.add_argument(
        "--sink",
        choices=("kinesis", "timestream", "stdout"),
        default="kinesis",
        help="where readings go: a Kinesis stream (default), a Timestream table, or stdout (one JSON per line)",
    )
    where.add_argument(
        "--stream", default=DEFAULT_STREAM, help=f"Kinesis stream name (default: {DEFAULT_STREAM})"
    )
    where.add_argument("--region", default="us-east-1", help="AWS region (default: us-east-1)")
    where.add_argument(
        "--endpoint-url",
        help="service endpoint, e.g. http://127.0.0.1:4567 for local Kinesis (default: the AWS endpoint)",
    )
    where.add_argument(
        "--database", default="iot", help="Timestream database for --sink timestream (default: iot)"
    )
    where.add_argument(
        "--table", default="pm25", help="Timestream table for --sink timestream (default: pm25)"
    )
    where.add_argument(
        "--rejected-file",
        type=Path,
        help="with --sink timestream: append records Timestream rejects, with the reason, as JSON lines",
    )
    when = parser.add_argument_group("timing")
    when.add_argument(
        "--interval",
        type=float,
        default=1.0,
        help="seconds between two readings of one station (default: 1; at least 0.001)",
    )
    when.add_argument(
        "--duration",
        type=parse_duration,
        help="how long to run live (after any backfill), e.g. 90, 30s, 10m, 2h (default: until stopped); "
        "0 stops right after the backfill",
    )
    when.add_argument(
        "--count", type=positive_int, help="stop after this many records in all (default: no limit)"
    )
    start = when.add_mutually_exclusive_group()
    start.add_argument(
        "--backfill",
        type=parse_duration,
        help="first generate this past window (e.g. 2h) as fast as the sink takes it, then continue live",
    )
    start.add_argument(
        "--start",
        type=parse_time,
        help="time of the first reading (ISO 8601 or epoch ms); a past start is backfilled like --backfill",
    )
    when.add_argument(
        "--resume-file",
        type=Path,
        metavar="FILE",
        help="remember here the last tick the destination accepted, and on start continue with the "
        "tick after it (a restart skips nothing; a --backfill or --start later than that wins)",
    )
    when.add_argument(
        "--resume-limit",
        type=parse_duration,
        default=parse_duration("1h"),
        metavar="DURATION",
        help="with --resume-file: resume no further back than this; older readings are skipped, and "
        "the log says which (default: 1h)",
    )
    what = parser.add_argument_group("data")
    what.add_argument(
        "--seed", type=int, help="random seed; the same seed gives the same data (default: random)"
    )
    what.add_argument(
        "--catalogue",
        type=Path,
        metavar="FILE",
        help="the stations to simulate, a file shaped like catalogue/stations.yaml (default: that file, "
        "the blog's 12 cities and 115 stations)",
    )
    what.add_argument(
        "--cities",
        nargs="+",
        metavar="CITY",
        help="only these catalogue cities (space or comma separated; default: all of the catalogue's)",
    )
    what.add_argument(
        "--param",
        type=parse_param,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a model parameter (repeatable; list below)",
    )
    out = parser.add_argument_group("output")
    out.add_argument(
        "--report-every",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="seconds between progress lines (backfill) and summaries (live) on stderr (default: 5)",
    )
    out.add_argument(
        "--log-level",
        choices=("debug", "info", "warning", "error"),
        default="info",
        help="log detail (default: info)",
    )
    return parser


def select_cities(names: list[str] | None, path: Path | None = None):
    catalogue = load_catalogue(path)
    if not names:
        return catalogue
    wanted = [part.strip() for name in names for part in name.split(",") if part.strip()]
    by_folded = {city.casefold(): city for city in catalogue.city_names}
    resolved = []
    for name in wanted:
        city = by_folded.get(name.casefold())
        if city is None:
            raise ConfigError(f"unknown city {name!r}; choose from: {', '.join(catalogue.city_names)}")
        if city not in resolved:
            resolved.append(city)
    return catalogue.subset(resolved)


def _client(service: str, args: argparse.Namespace):
    config = Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 2, "mode": "standard"})
    try:
        return boto3.session.Session().client(
            service, region_name=args.region, endpoint_url=args.endpoint_url, config=config
        )
    except (BotoCoreError, ValueError) as exc:
        raise ConfigError(
            f"cannot set up the {service} client (check --region and --endpoint-url): {exc}"
        ) from None


def build_sink(args: argparse.Namespace) -> Sink:
    if args.sink == "stdout":
        return StdoutSink(sys.stdout.buffer)
    if args.sink == "kinesis":
        return KinesisSink(_client("kinesis", args), args.stream, RetryPolicy())
    return TimestreamSink(
        _client("timestream-write", args), args.database, args.table, RetryPolicy(), args.rejected_file
    )


def check_options(args: argparse.Namespace) -> int:
    """Validate what argparse cannot; returns the interval in ms."""
    if not math.isfinite(args.interval) or args.interval <= 0:
        raise ConfigError(f"--interval must be a positive number of seconds (got {args.interval:g})")
    interval_ms = round(args.interval * 1000)
    if interval_ms < 1 or abs(interval_ms - args.interval * 1000) > 1e-6:
        raise ConfigError(
            f"--interval must be a whole number of milliseconds, at least 0.001 (got {args.interval:g})"
        )
    if args.report_every <= 0:
        raise ConfigError(f"--report-every must be a positive number of seconds (got {args.report_every:g})")
    if args.rejected_file is not None and args.sink != "timestream":
        raise ConfigError("--rejected-file only applies to --sink timestream")
    return interval_ms


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(asctime)s simulator %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S")
    )
    log.handlers[:] = [handler]
    log.setLevel(level.upper())
    log.propagate = False


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level)
    stop = StopSignal()
    previous = _install_signal_handlers(stop)  # before any network call: Ctrl-C always exits cleanly
    sink: Sink | None = None
    try:
        interval_ms = check_options(args)
        try:
            params = ModelParams.with_overrides(dict(args.param))
        except ValueError as exc:
            raise ConfigError(f"--param: {exc}") from None
        catalogue = select_cities(args.cities, args.catalogue)
        seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1_000_000)
        model = FleetModel(catalogue.stations, seed=seed, params=params, timezone=catalogue.timezone)
        sink = build_sink(args)
        sink.check()
        now_ms = round(datetime.now(UTC).timestamp() * 1000)
        start_ms = (
            args.start if args.start is not None else (now_ms - args.backfill if args.backfill else None)
        )
        resume = ResumeFile(args.resume_file) if args.resume_file else None
        if resume is not None:
            start_ms = resume_start(resume, start_ms, now_ms, interval_ms, args.resume_limit)
            resume.check_writable()
        schedule = Schedule.build(interval_ms, now_ms, start_ms, args.duration, args.count)
        log.info(
            "simulating %d stations in %d cities to %s, seed %d%s",
            len(model.stations),
            len(catalogue.cities),
            _destination(args),
            seed,
            "" if args.seed is not None else f" (pass --seed {seed} to repeat this data)",
        )
        report = Runner(
            model,
            sink,
            schedule,
            stop,
            report_every=args.report_every,
            on_delivered=_saver(resume) if resume is not None else None,
        ).run()
    except (ConfigError, CatalogueError) as exc:
        print(f"simulator: error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except OutputClosed:
        _silence_stdout()
        return 0
    except DeliveryError as exc:
        pending = sink.pending if sink is not None else 0
        print(
            f"simulator: error: {exc} ({pending:,} records still buffered were not delivered)",
            file=sys.stderr,
        )
        return EXIT_DELIVERY
    except KeyboardInterrupt:
        pending = sink.pending if sink is not None else 0
        print(
            f"simulator: interrupted twice; stopped without flushing {pending:,} buffered records",
            file=sys.stderr,
        )
        return EXIT_ABORTED
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        stop.close()
    _final_summary(report)
    return 0


def resume_start(
    resume: ResumeFile, start_ms: int | None, now_ms: int, interval_ms: int, limit_ms: int
) -> int | None:
    """The first tick to generate: the one after the last delivered tick, unless the options ask for a
    later one; never older than ``limit_ms`` before now (the readings skipped are logged)."""
    last = resume.load()
    if last is None:
        log.info("resume file %s does not exist yet: starting afresh", resume.path)
        return start_ms
    following = (last // interval_ms + 1) * interval_ms
    earliest = now_ms - limit_ms
    if following < earliest:
        first_kept = math.ceil(earliest / interval_ms) * interval_ms
        log.warning(
            "resuming: the readings from %s to %s (%s ticks) are skipped: the last run stopped %s ago, "
            "longer than --resume-limit",
            iso(following),
            iso(first_kept - interval_ms),
            f"{(first_kept - following) // interval_ms:,}",
            _ago(now_ms - last),
        )
        following = first_kept
    if start_ms is not None and start_ms > following:
        log.info(
            "resume file %s: last delivered %s; the options start later, at %s",
            resume.path,
            iso(last),
            iso(start_ms),
        )
        return start_ms
    log.info("resuming after the last delivered reading (%s): from %s", iso(last), iso(following))
    return following


def _ago(millis: int) -> str:
    seconds = millis / 1000
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _saver(resume: ResumeFile):
    """Store each delivered position; a failing disk costs a warning (a restart then resends more)."""
    failing = False

    def save(last_delivered_ms: int) -> None:
        nonlocal failing
        try:
            resume.save(last_delivered_ms)
        except OSError as error:
            if not failing:
                log.warning("cannot update the resume file %s (%s); still running", resume.path, error)
            failing = True
        else:
            if failing:
                log.info("the resume file %s is written again", resume.path)
            failing = False

    return save


def _destination(args: argparse.Namespace) -> str:
    if args.sink == "stdout":
        return "stdout"
    where = args.endpoint_url or f"AWS {args.region}"
    if args.sink == "kinesis":
        return f"Kinesis stream {args.stream} at {where}"
    return f"Timestream table {args.database}.{args.table} at {where}"


def _final_summary(report: RunReport) -> None:
    reasons = {"end": "reached the end", "count": "reached --count", "signal": "stopped on request"}
    span = f" from {iso(report.first_ms)} to {iso(report.last_ms)}" if report.first_ms is not None else ""
    log.info(
        "done (%s): %s records in %s ticks%s; %s",
        reasons.get(report.stopped_by, report.stopped_by),
        f"{report.records:,}",
        f"{report.ticks:,}",
        span,
        report.stats.describe(),
    )
    for kind, count in report.stats.rejected_reasons.most_common():
        log.warning("%s records rejected with: %s", f"{count:,}", report.stats.rejected_examples[kind])


def _install_signal_handlers(stop: StopSignal) -> dict[int, Any]:
    """First SIGINT/SIGTERM: stop after flushing; a second one: abort at once. Returns the old handlers."""

    def handle(signum: int, frame: FrameType | None) -> None:
        if stop.requested:
            raise KeyboardInterrupt
        log.info("%s received: flushing buffered records and stopping", signal.Signals(signum).name)
        stop.request()

    return {signum: signal.signal(signum, handle) for signum in (signal.SIGINT, signal.SIGTERM)}


def _silence_stdout() -> None:
    """After the reader closed stdout, point it at /dev/null so interpreter exit does not complain."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
