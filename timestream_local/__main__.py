"""Command line: `python -m timestream_local serve ...` (see --help)."""

from __future__ import annotations

import argparse
import faulthandler
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import duckdb

from timestream_local import __version__
from timestream_local.storage.lockdown import (
    DEFAULT_MEMORY_LIMIT,
    MIN_MEMORY_BYTES,
    THREAD_STACK_BYTES,
    limit_process_memory,
    parse_size,
    split_memory,
)

DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent / ".state" / "timestream"
log = logging.getLogger("timestream_local")


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from error
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be greater than zero")
    return value


DEFAULT_MAX_CONNECTIONS = 64  # Grafana's plugin and boto3 keep a handful of connections each
MAX_CONNECTIONS = 1024


def _connections(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if not 1 <= number <= MAX_CONNECTIONS:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number from 1 to {MAX_CONNECTIONS}")
    return number


def _size(text: str) -> int:
    try:
        value = parse_size(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error
    if value < MIN_MEMORY_BYTES:
        raise argparse.ArgumentTypeError(f"{text!r} is too small: give at least 64MB")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m timestream_local",
        description="A local store that speaks Amazon Timestream's Write and Query APIs.",
    )
    parser.add_argument("--version", action="version", version=f"timestream_local {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        help="run the HTTP server",
        description="Serve the Timestream Write and Query APIs (AWS JSON 1.0) over HTTP.",
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, loopback only)"
    )
    serve.add_argument(
        "--port",
        type=int,
        default=8600,
        help="TCP port (default: 8600); 0 takes any free port, named in the 'listening on' log line",
    )
    serve.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help=f"where data lives (default: {DEFAULT_DATA_DIR})",
    )
    serve.add_argument(
        "--access-key",
        default=os.environ.get("TIMESTREAM_LOCAL_ACCESS_KEY"),
        help="verify SigV4 signatures for this access key (env TIMESTREAM_LOCAL_ACCESS_KEY)",
    )
    serve.add_argument(
        "--secret-key",
        default=os.environ.get("TIMESTREAM_LOCAL_SECRET_KEY"),
        help="the secret key that goes with --access-key; prefer the environment variable "
        "TIMESTREAM_LOCAL_SECRET_KEY (command lines are visible to other local users)",
    )
    serve.add_argument(
        "--region",
        default="us-east-1",
        help="region named in ARNs; with --access-key, signatures must be scoped to it (default: us-east-1)",
    )
    serve.add_argument(
        "--query-timeout",
        type=_positive,
        default=60.0,
        help="seconds before a query is stopped (default: 60)",
    )
    serve.add_argument(
        "--memory-limit",
        type=_size,
        default=DEFAULT_MEMORY_LIMIT,
        help=f"memory the server may use, e.g. 512MB or 2GB (default: {DEFAULT_MEMORY_LIMIT}): half for DuckDB's "
        "work, a quarter for query results kept for paging; a query that needs more fails with an error "
        "naming the limit",
    )
    serve.add_argument(
        "--max-connections",
        type=_connections,
        default=DEFAULT_MAX_CONNECTIONS,
        help=f"client connections served at once (default: {DEFAULT_MAX_CONNECTIONS}, at most {MAX_CONNECTIONS}); "
        "their threads start with the server, and later connections wait for a free one",
    )
    serve.add_argument(
        "--s3-endpoint-url",
        default=os.environ.get("TIMESTREAM_LOCAL_S3_ENDPOINT_URL"),
        metavar="URL",
        help="S3 (or an S3-compatible service) for UNLOAD, batch load and scheduled-query error reports, "
        "e.g. https://s3.us-east-1.amazonaws.com, called with the AWS credentials in the server's environment "
        "(env TIMESTREAM_LOCAL_S3_ENDPOINT_URL); without it UNLOAD and batch load are refused and error "
        "reports are files under the data directory",
    )
    serve.add_argument(
        "--tier-interval",
        type=_positive,
        default=60.0,
        help="seconds between passes that move aged rows to the magnetic tier and expire old ones (default: 60)",
    )
    serve.add_argument(
        "--flush-interval",
        type=_positive,
        default=0.25,
        help="seconds between commits of logged writes to the database (default: 0.25; sooner once 20,000 "
        "rows wait); acknowledged writes are safe in the write log meanwhile",
    )
    serve.add_argument(
        "--sync-writes",
        action="store_true",
        help="fsync the write log before acknowledging each WriteRecords (survives power loss, not only a "
        "killed process; about 1 ms more per call)",
    )
    serve.add_argument(
        "--log-level",
        default=os.environ.get("TIMESTREAM_LOCAL_LOG_LEVEL", "INFO"),
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="logging level; DEBUG logs one line per request (default: INFO)",
    )
    return parser


def _fail(message: str) -> int:
    print(f"timestream_local: {message}", file=sys.stderr)
    return 2


class ConfigError(Exception):
    """Bad configuration: one sentence saying what to fix."""


def _check_config(args: argparse.Namespace) -> None:
    from timestream_local.storage.objects import check_endpoint  # noqa: PLC0415 - keep --help fast

    if bool(args.access_key) != bool(args.secret_key):
        raise ConfigError("give both --access-key and --secret-key (or neither to accept any credentials).")
    if args.s3_endpoint_url is not None and (problem := check_endpoint(args.s3_endpoint_url)):
        raise ConfigError(problem)
    if not 0 <= args.port < 65536:
        raise ConfigError(f"--port {args.port} is not a TCP port number (1-65535, or 0 for any free port).")
    data_dir: Path = args.data_dir
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        probe = data_dir / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise ConfigError(
            f"cannot write to the data directory {data_dir} ({error.strerror}); choose another --data-dir."
        ) from error


def _open_store(args: argparse.Namespace) -> Any:
    from timestream_local.storage.database import describe_failure  # noqa: PLC0415 - keep --help fast
    from timestream_local.storage.writelog import WriteLogDamaged, describe_os_error  # noqa: PLC0415
    from timestream_local.store import Store  # noqa: PLC0415

    try:
        return Store(
            args.data_dir,
            region=args.region,
            sync_writes=args.sync_writes,
            flush_interval=args.flush_interval,
            engine_memory=split_memory(args.memory_limit)[0],
            s3_endpoint_url=args.s3_endpoint_url,
        )
    except WriteLogDamaged as error:
        raise ConfigError(str(error)) from error
    except OSError as error:
        where = f" at {error.filename}" if error.filename else ""
        raise ConfigError(
            f"cannot open the store in {args.data_dir}: {describe_os_error(error, 'the data directory')}{where}."
        ) from error
    except duckdb.IOException as error:
        if "lock" in str(error).lower():
            raise ConfigError(
                f"the data directory {args.data_dir} is in use by another timestream_local process."
            ) from error
        raise ConfigError(
            f"cannot open the store in {args.data_dir}: {str(error).splitlines()[0]}"
        ) from error
    except duckdb.Error as error:  # e.g. the disk is full: the start's own commits fail
        raise ConfigError(f"cannot open the store in {args.data_dir}: {describe_failure(error)}.") from error


def _listen(args: argparse.Namespace, store: Any, verifier: Any) -> Any:
    from timestream_local import urls  # noqa: PLC0415
    from timestream_local.server import make_server  # noqa: PLC0415

    try:
        return make_server(
            args.host,
            args.port,
            lambda address: urls.for_store(
                store,
                address,
                query_timeout=args.query_timeout,
                results_bytes=split_memory(args.memory_limit)[1],
            ),
            verifier,
            args.max_connections,
        )
    except OSError as error:
        store.close()
        if error.errno in (98, 48):  # EADDRINUSE on Linux / macOS
            raise ConfigError(
                f"port {args.port} on {args.host} is already in use; choose another --port."
            ) from error
        raise ConfigError(f"cannot listen on {args.host}:{args.port} ({error.strerror}).") from error


def _warm_up_query_engine() -> None:
    try:
        import timestream_local.query  # noqa: F401, PLC0415
    except ImportError as error:
        log.warning("the query engine cannot be loaded: %s", error)


def serve(args: argparse.Namespace) -> int:
    from timestream_local.sigv4 import SigV4Verifier  # noqa: PLC0415 - keep --help fast
    from timestream_local.storage.mover import TierMover  # noqa: PLC0415

    # Every thread the server uses starts while it starts, none while it serves: a query that filled
    # the memory cap leaves memory the allocator can reuse, but no room for a new thread's stack.
    threading.stack_size(THREAD_STACK_BYTES)
    try:
        _check_config(args)
        store = _open_store(args)
        verifier = SigV4Verifier(args.access_key, args.secret_key, args.region) if args.access_key else None
        server = _listen(args, store, verifier)
    except ConfigError as error:
        return _fail(str(error))

    faulthandler.enable()  # a fatal signal (an abort inside DuckDB, say) leaves every thread's stack in the log
    ceiling = limit_process_memory(args.memory_limit)
    if ceiling is not None:
        log.info("memory: DuckDB %d MiB, query results %d MiB, the whole process's data at most %d MiB",
                 *(size // 2**20 for size in (*split_memory(args.memory_limit), ceiling)))  # fmt: skip
    mover = TierMover(store.mover, args.tier_interval)
    mover.start()
    # load the SQL engine in the background so the first Query does not pay for importing it
    threading.Thread(target=_warm_up_query_engine, name="tsl-warm-up", daemon=True).start()

    stopping = threading.Event()

    def stop_when_asked() -> None:
        stopping.wait()
        server.shutdown()

    threading.Thread(target=stop_when_asked, name="tsl-stop", daemon=True).start()

    def stop(signum: int, _frame: object) -> None:
        log.info("stopping (signal %d)", signum)
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    host, port = server.server_address[:2]
    auth = (
        f"SigV4 verified for access key {args.access_key} in region {args.region}"
        if verifier
        else "OFF (any credentials accepted; set --access-key/--secret-key to verify SigV4)"
    )
    log.info(
        "timestream_local %s listening on http://%s:%d, data dir %s, auth %s",
        __version__,
        host,
        port,
        store.data_dir,
        auth,
    )
    if verifier is None:
        log.warning("no access key configured: requests are accepted without checking their signatures")
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        mover.stop()
        server.router.close()
        server.server_close()
        store.close()
        log.info("stopped; data is in %s", store.data_dir)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, args.log_level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command == "serve":
        return serve(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
