"""`make status`: one screen on the local pipeline, and an exit status that says whether it is well.

Shown: each service (state, pid, port, restarts, time up, last exit), the newest reading's age in the
store, the forwarder's real lag behind the stream (read from its checkpoints and the stream, not from
the forwarder), the dead-letter count and the free disk space under the state folder. The exit status
is 1 when a service is down, the newest reading is older than the threshold, the forwarder is further
behind than that, or the disk is nearly full; 0 otherwise.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from local_pipeline.backlog import Backlog, forwarder_backlog, read_checkpoints
from local_pipeline.config import PipelineConfig
from local_pipeline.freshness import human, newest_reading, stale_message
from local_pipeline.services import ServiceStatus, all_services

GIB = 1024**3


@dataclass
class Status:
    config: PipelineConfig
    stale_after: float
    min_free: int
    at: float
    services: list[ServiceStatus]
    newest: float | None = None
    newest_error: str = ""
    backlog: Backlog | None = None
    backlog_error: str = ""
    dead_letters: int | None = None
    disk_free: int | None = None
    disk_total: int | None = None
    problems: list[str] = field(default_factory=list)


def _clients(config: PipelineConfig):
    import boto3  # noqa: PLC0415 - keep --help fast
    from botocore.config import Config  # noqa: PLC0415

    settings = Config(connect_timeout=2, read_timeout=15, retries={"max_attempts": 1})
    keys = config.credentials()
    query = boto3.client(
        "timestream-query",
        region_name=config.region,
        endpoint_url=config.timestream_endpoint,
        config=settings,
        **keys,
    )
    kinesis = boto3.client(
        "kinesis", region_name=config.region, endpoint_url=config.kinesis_endpoint, config=settings, **keys
    )
    return query, kinesis


def _short_error(error: Exception) -> str:
    text = str(error).strip() or type(error).__name__
    return text if len(text) < 160 else text[:157] + "..."


def count_lines(path: Path) -> int | None:
    try:
        with path.open("rb") as handle:
            return sum(1 for line in handle if line.strip())
    except FileNotFoundError:
        return 0
    except OSError:
        return None


def gather(config: PipelineConfig, stale_after: float, min_free: int) -> Status:
    status = Status(config, stale_after, min_free, time.time(), all_services(config.run_dir, config.services))
    query, kinesis = _clients(config)
    try:
        status.newest = newest_reading(query, config.database, config.table)
    except Exception as error:  # any failure to ask is reported, not raised: this is a status screen
        status.newest_error = f"cannot ask the store ({_short_error(error)})"
    try:
        checkpoints = read_checkpoints(config.checkpoint_dir, config.stream, config.database, config.table)
        status.backlog = forwarder_backlog(kinesis, config.stream, checkpoints)
    except Exception as error:
        status.backlog_error = f"cannot read the stream ({_short_error(error)})"
    status.dead_letters = count_lines(config.dead_letter)
    try:
        usage = shutil.disk_usage(config.state_dir)
        status.disk_free, status.disk_total = usage.free, usage.total
    except OSError:
        pass
    status.problems = problems(status)
    return status


def problems(status: Status) -> list[str]:
    found = []
    log_dir = status.config.log_dir
    for service in status.services:
        if not service.ok:
            why = f" ({service.detail})" if service.detail else ""
            found.append(f"{service.name} is {service.summary}{why}; see {log_dir / (service.name + '.log')}")
    if status.newest_error:
        found.append(f"newest reading unknown: {status.newest_error}")
    else:
        age = None if status.newest is None else status.at - status.newest
        stale = stale_message(age, status.stale_after, status.services)
        if stale:
            found.append(stale)
    if status.backlog is not None and status.backlog.lag(status.at) > status.stale_after:
        found.append(
            f"the forwarder is {human(status.backlog.lag(status.at))} behind the stream "
            f"(more than {human(status.stale_after)})"
        )
    if status.backlog_error:
        found.append(f"forwarder lag unknown: {status.backlog_error}")
    if status.disk_free is not None and status.disk_free < status.min_free:
        found.append(
            f"only {status.disk_free / 1024**2:.0f} MiB free under {status.config.state_dir}: "
            "the store and the stream need room to write"
        )
    return found


def _clock(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%H:%M:%S UTC")


def _table(services: list[ServiceStatus]) -> list[str]:
    header = ("SERVICE", "STATE", "PID", "PORT", "RESTARTS", "UP FOR", "LAST EXIT")
    rows = [header]
    for s in services:
        port = "-" if s.port is None else str(s.port) + (" (silent)" if s.port_answers is False else "")
        rows.append(
            (
                s.name + (" (one-shot)" if s.one_shot else ""),
                s.summary,
                "-" if s.pid is None else str(s.pid),
                port,
                "-" if s.restarts is None else str(s.restarts),
                "-" if s.uptime is None else human(s.uptime),
                s.last_exit or "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[-1]
            for row in rows]  # fmt: skip


def format_status(status: Status) -> str:
    config = status.config
    moment = datetime.fromtimestamp(status.at, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    lines = [f"PM2.5 local pipeline in {config.state_dir} at {moment}", ""]
    lines += _table(status.services)
    lines.append("")
    if status.newest_error:
        newest = status.newest_error
    elif status.newest is None:
        newest = f"none in {config.database}.{config.table}"
    else:
        newest = f"{human(status.at - status.newest)} old ({_clock(status.newest)})"
    lines.append(f"newest reading  {newest}; stale after {human(status.stale_after)}")
    if status.backlog is not None:
        backlog = status.backlog
        more = "at least " if backlog.capped else ""
        lines.append(
            f"forwarder       {human(backlog.lag(status.at))} behind the stream, {more}{backlog.waiting:,} "
            f"records waiting after its checkpoint ({backlog.shards} shard{'s' if backlog.shards != 1 else ''})"
        )
    else:
        lines.append(f"forwarder       {status.backlog_error}")
    letters = "unreadable" if status.dead_letters is None else f"{status.dead_letters:,}"
    lines.append(f"dead letters    {letters} in {config.dead_letter}")
    if status.disk_free is not None and status.disk_total:
        lines.append(
            f"disk            {status.disk_free / GIB:,.1f} GiB free of {status.disk_total / GIB:,.1f} GiB "
            f"under {config.state_dir}"
        )
    lines.append("")
    if status.problems:
        lines.append("NOT WELL:")
        lines += [f"  - {problem}" for problem in status.problems]
    else:
        lines.append("OK: every service runs and the newest reading is fresh.")
    return "\n".join(lines) + "\n"
