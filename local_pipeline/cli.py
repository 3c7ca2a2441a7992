"""``python -m local_pipeline supervise|status|exclusive|rollup-catch-up``: the local pipeline's operations."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import timedelta
from pathlib import Path

from local_pipeline.restart import MODES, RestartPolicy

DESCRIPTION = """\
Operations of the PM2.5 pipeline on this machine (what `make demo`, `make status` and `make down` use):

  supervise   run one program and restart it when it fails (systemd's Restart=on-failure with a start
              limit), logging every restart with the exit status
  status      one screen on the running pipeline; exit status 1 when a service is down or the newest
              reading is older than --stale-after
  exclusive   run a command while holding the pipeline's lock (two `make demo` at once: the second waits)
  rollup-catch-up
              run the hourly rollup (a Timestream scheduled query) for each past hour of loaded history
"""


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must not be negative")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m local_pipeline",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)

    sup = sub.add_parser(
        "supervise",
        help="run a program and restart it when it fails",
        description="Run COMMAND, restart it when it fails (with a doubling delay and a start limit), "
        "stop it on SIGTERM/SIGINT/SIGHUP. Its state is kept in --state-file for `make status`.",
        epilog="example: python -m local_pipeline supervise --name forwarder --state-file "
        ".state/run/forwarder.state.json -- python -m forwarder --stream S ...\n"
        "exit status: 0 when stopped on request, else the program's last status (128 + signal).",
    )
    sup.add_argument("--name", required=True, help="the service's name, for the log and the state file")
    sup.add_argument("--state-file", type=Path, required=True, help="JSON file the supervisor keeps current")
    sup.add_argument(
        "--restart",
        choices=MODES,
        default="on-failure",
        help="on-failure: after a non-zero status or a death by signal other than HUP/INT/TERM/PIPE "
        "(default); always; no",
    )
    sup.add_argument(
        "--restart-delay", type=_non_negative, default=1.0, metavar="SECONDS",
        help="delay before the first restart; doubles while starts pile up in the window (default: %(default)s)",
    )  # fmt: skip
    sup.add_argument(
        "--restart-max-delay", type=_non_negative, default=30.0, metavar="SECONDS",
        help="longest delay between two starts (default: %(default)s)",
    )  # fmt: skip
    sup.add_argument(
        "--start-limit-burst", type=_positive_int, default=5, metavar="N",
        help="at most N starts (the first included) within --start-limit-interval; then give up "
        "(default: %(default)s)",
    )  # fmt: skip
    sup.add_argument(
        "--start-limit-interval", type=_non_negative, default=120.0, metavar="SECONDS",
        help="the window of the start limit (default: %(default)s)",
    )  # fmt: skip
    sup.add_argument(
        "--stop-timeout", type=_non_negative, default=20.0, metavar="SECONDS",
        help="after SIGTERM, seconds the program gets before SIGKILL (default: %(default)s)",
    )  # fmt: skip
    sup.add_argument("program", nargs=argparse.REMAINDER, metavar="-- COMMAND ...", help="the program to run")

    stat = sub.add_parser(
        "status",
        help="one screen on the running local pipeline",
        description="Each service (state, pid, port, restarts, time up, last exit), the newest reading's "
        "age, the forwarder's lag behind the stream and the records waiting, the dead letters, the free "
        "disk space. Exit status 1 when something is down or stale, 2 when no pipeline ran here.",
    )
    stat.add_argument(
        "--state-dir", type=Path, default=Path(".state"), help="the state folder (default: %(default)s)"
    )
    stat.add_argument(
        "--stale-after", type=_non_negative, metavar="SECONDS",
        help="a newest reading older than this is stale (default: what the play set, 120 unless changed)",
    )  # fmt: skip
    stat.add_argument(
        "--min-free-mb", type=_non_negative, default=500, metavar="MB",
        help="less free disk space than this under the state folder is a problem (default: %(default)s)",
    )  # fmt: skip

    excl = sub.add_parser(
        "exclusive",
        help="run a command while holding the pipeline's lock",
        description="Run COMMAND while holding <state>/run/play.lock; when another run holds it, say which and "
        "wait for it (never interrupt it). Exit status: COMMAND's, or 75 when the lock stayed taken.",
    )
    excl.add_argument(
        "--state-dir", type=Path, default=Path(".state"), help="the state folder (default: %(default)s)"
    )
    excl.add_argument(
        "--what", default="this run", help="what is running, for the other run's message (e.g. make demo)"
    )
    excl.add_argument(
        "--wait", type=_non_negative, default=900, metavar="SECONDS",
        help="how long to wait for another run to finish (default: %(default)s)",
    )  # fmt: skip
    excl.add_argument(
        "program", nargs=argparse.REMAINDER, metavar="-- COMMAND ...", help="the command to run"
    )

    roll = sub.add_parser(
        "rollup-catch-up",
        help="run the hourly rollup for each past hour of loaded history",
        description="Run the scheduled query --name (ExecuteScheduledQuery) once for each whole hour of the "
        "last --since, as its schedule would have run it then. Credentials and region come from the "
        "environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION).",
    )
    roll.add_argument("--name", required=True, help="the scheduled query's name")
    roll.add_argument("--since", required=True, type=_duration, help="how far back, e.g. 2h or 7d")
    roll.add_argument(
        "--endpoint-url", help="Timestream endpoint, e.g. the local store http://127.0.0.1:8600"
    )
    roll.add_argument("--region", help="AWS region (default: the environment's)")
    return parser


def _duration(text: str) -> timedelta:
    from simulator.cli import parse_duration  # noqa: PLC0415

    return timedelta(milliseconds=parse_duration(text))


def _configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        datefmt="%Y-%m-%d %H:%M:%S",
        stream=sys.stdout,
    )


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "supervise":
        return _supervise(parser, args)
    if args.command == "status":
        return _status(args)
    if args.command == "exclusive":
        return _exclusive(parser, args)
    if args.command == "rollup-catch-up":
        return _rollup_catch_up(args)
    return 2


def _rollup_catch_up(args: argparse.Namespace) -> int:
    import boto3  # noqa: PLC0415
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    from local_pipeline.rollup import RollupNotFound, catch_up  # noqa: PLC0415

    _configure_logging()
    where = args.endpoint_url or "Amazon Timestream"
    try:
        client = boto3.client("timestream-query", region_name=args.region, endpoint_url=args.endpoint_url)
        count = catch_up(client, args.name, args.since)
    except RollupNotFound as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except (BotoCoreError, ClientError) as error:
        print(f"error: cannot run the scheduled query {args.name} at {where}: {error}", file=sys.stderr)
        return 1
    print(f"rolled up {count} past hour(s) with {args.name}")
    return 0


def _exclusive(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    import signal  # noqa: PLC0415
    import subprocess  # noqa: PLC0415

    from local_pipeline.lock import RunLock  # noqa: PLC0415

    program = args.program[1:] if args.program[:1] == ["--"] else args.program
    if not program:
        parser.error("exclusive: name the command to run after --")
    lock = RunLock(args.state_dir)

    def note(text: str) -> None:
        print(f"{args.what}: {text}", file=sys.stderr, flush=True)

    try:
        if not lock.acquire(args.what, args.wait, note):
            note(
                f"the other run still holds the lock after {args.wait:.0f} s; nothing was changed. "
                "Try again once it has finished (make status shows the pipeline meanwhile)."
            )
            return 75
    except KeyboardInterrupt:
        note("stopped waiting; nothing was changed")
        return 130
    try:
        child = subprocess.Popen(program)
        # Ctrl-C reaches the command too (same terminal): let it finish its own way.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, lambda signum, _frame: child.send_signal(signum))
        return child.wait()
    except OSError as error:
        note(f"cannot run {program[0]}: {error}")
        return 127
    finally:
        lock.release()


def _status(args: argparse.Namespace) -> int:
    from local_pipeline import config, status  # noqa: PLC0415 - keep --help fast

    try:
        settings = config.load(args.state_dir.resolve())
        stale_after = settings.stale_after if args.stale_after is None else args.stale_after
        report = status.gather(settings, stale_after, int(args.min_free_mb * 1024**2))
    except config.NotDeployed as error:
        print(f"status: {error}", file=sys.stderr)
        return 2
    print(status.format_status(report), end="")
    return 1 if report.problems else 0


def _supervise(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from local_pipeline.supervisor import Supervisor  # noqa: PLC0415 - keep --help fast

    program = args.program[1:] if args.program[:1] == ["--"] else args.program
    if not program:
        parser.error("supervise: name the program to run after --")
    try:
        policy = RestartPolicy(
            mode=args.restart,
            delay=args.restart_delay,
            max_delay=args.restart_max_delay,
            burst=args.start_limit_burst,
            interval=args.start_limit_interval,
        )
    except ValueError as error:
        parser.error(f"supervise: {error}")
    _configure_logging()
    sys.stdout.reconfigure(line_buffering=True)
    return Supervisor(args.name, program, args.state_file, policy, args.stop_timeout).run()
