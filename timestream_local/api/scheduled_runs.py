"""Running scheduled queries: one run (``Runner``) and the thread that runs each enabled schedule when
it is due (``Scheduler``).

A run binds @scheduled_runtime to its invocation time (domain/parameters.py), runs the text through
the Query API's engine (the same guard, limits and timeout as Query; api/query.py ``QueryApi.run``),
maps the result to records by the TargetConfiguration (domain/materialize.py) and writes them through
the Write API's path (``Writer.write_records``, 100 records a call, so the ingestion window, schema and
version rules apply as to any client). Its summary goes to the scheduled query's LastRunSummary (and
RecentlyFailedRuns when it failed); a failed run's error report is written to s3://<bucket>/<key>
when the server has an S3 endpoint, else to <data-dir>/error-reports/<bucket>/<key> (through the
domain, by storage/error_reports.py), the key formed as AWS forms it:
[<prefix>/]<name>-<suffix>/<InvocationTime>/<Auto|Manual>/<TriggerTime>.

The scheduler is one thread, started with the server like every thread of it (server.py says why):
it runs the schedules that are due one after another (never on a request's thread), then sleeps until
the next one is due or a schedule changes. At start, each schedule whose invocation time passed while
the server was down is run once, for the latest such time. Its clock is injectable (``clock``).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import msgspec

from timestream_local.api.query import QueryApi
from timestream_local.domain.materialize import MappingError, check_columns, record_bytes, to_records
from timestream_local.domain.parameters import bind
from timestream_local.domain.records import parse_write_request
from timestream_local.domain.scheduled import ScheduledQueries, ScheduledQuery
from timestream_local.domain.writes import Writer
from timestream_local.exceptions import TimestreamError
from timestream_local.models import MAX_RECORDS_PER_WRITE
from timestream_local.storage.objects import ObjectStoreError

log = logging.getLogger(__name__)

MIN_BYTES_METERED = 10_000_000  # a query is metered for at least 10 MB, as Query's QueryStatus says
MAX_REPORTED_RECORDS = 1000  # rejected records listed in one error report
IDLE_WAKEUP_S = 60.0


def _key_time(seconds: float) -> str:
    moment = dt.datetime.fromtimestamp(seconds, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class _Outcome:
    """What a run did so far: its statistics and errors."""

    def __init__(self) -> None:
        self.stats = {"ExecutionTimeInMillis": 0, "DataWrites": 0, "BytesMetered": 0, "CumulativeBytesScanned": 0,
                      "RecordsIngested": 0, "QueryResultRows": 0}  # fmt: skip
        self.errors: list[dict[str, Any]] = []
        self.reason: str | None = None


class Runner:
    """Runs one scheduled query for one invocation time and records the run."""

    def __init__(
        self,
        queries: ScheduledQueries,
        query_api: QueryApi,
        writer: Writer,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.queries = queries
        self.query_api = query_api
        self.writer = writer
        self.clock = clock
        self._one_at_a_time = threading.Lock()  # runs never interleave their writes

    def run(self, arn: str, invocation: float, automatic: bool) -> dict[str, Any]:
        """Run now; answer the run's summary (also kept as the scheduled query's LastRunSummary)."""
        query = self.queries.snapshot(arn)  # ResourceNotFoundException for an unknown ARN
        with self._one_at_a_time:
            trigger = self.clock()
            started = time.perf_counter()
            outcome = _Outcome()
            try:
                self._execute(query, invocation, outcome)
            except (TimestreamError, MappingError) as error:
                outcome.reason = getattr(error, "message", None) or str(error)
                outcome.errors.append({"reason": outcome.reason})
            except Exception as error:  # a fault of the store itself: said in the log, recorded as a failure
                log.exception("scheduled query %s: the run for %s failed", arn, _key_time(invocation))
                outcome.reason = f"Internal error while running the scheduled query: {error}"
                outcome.errors.append({"reason": outcome.reason})
            outcome.stats["ExecutionTimeInMillis"] = round((time.perf_counter() - started) * 1000)
            summary = self._summary(query, invocation, trigger, automatic, outcome)
        self.queries.record_run(arn, summary, automatic)
        level = logging.INFO if not outcome.errors else logging.WARNING
        log.log(level, "scheduled query %s: %s run for %s: %s", query.name, "automatic" if automatic else "manual",
                _key_time(invocation), summary["RunStatus"] + (f" ({outcome.reason})" if outcome.reason else ""))  # fmt: skip
        return summary

    def _execute(self, query: ScheduledQuery, invocation: float, outcome: _Outcome) -> None:
        text = bind(query.definition["QueryString"], round(invocation * 1e9))
        result = self.query_api.run(text)
        outcome.stats["QueryResultRows"] = len(result.rows)
        outcome.stats["CumulativeBytesScanned"] = result.size
        outcome.stats["BytesMetered"] = max(result.size, MIN_BYTES_METERED)
        target = query.definition.get("TargetConfiguration")
        if target is None:
            return
        config = target["TimestreamConfiguration"]
        check_columns(result.column_info, config)
        rows = [msgspec.json.decode(raw) for raw in result.rows]
        records, row_errors = to_records(result.column_info, rows, config)
        outcome.errors.extend(row_errors)
        rejected: list[dict[str, Any]] = []
        reasons: dict[str, int] = {}
        for start in range(0, len(records), MAX_RECORDS_PER_WRITE):
            batch = records[start : start + MAX_RECORDS_PER_WRITE]
            request = parse_write_request(
                {"DatabaseName": config["DatabaseName"], "TableName": config["TableName"], "Records": batch}
            )
            written, rejections = self.writer.write_records(request)
            outcome.stats["RecordsIngested"] += written.memory + written.magnetic
            refused = {r.index: r.reason for r in rejections}
            for index, record in enumerate(batch):
                if index in refused:
                    reasons[refused[index]] = reasons.get(refused[index], 0) + 1
                    if len(rejected) < MAX_REPORTED_RECORDS:
                        rejected.append({"reason": refused[index], "record": record})
                else:
                    outcome.stats["DataWrites"] += record_bytes(record)
        for reason in reasons:
            outcome.errors.append(
                {
                    "reason": reason,
                    "records": [item["record"] for item in rejected if item["reason"] == reason],
                }
            )
        if outcome.errors:
            failed = sum(reasons.values()) + len(row_errors)
            outcome.reason = (
                f"{failed} of {len(rows)} result rows or records were not written "
                f"({outcome.errors[0]['reason']}); see the error report."
            )

    def _summary(
        self, query: ScheduledQuery, invocation: float, trigger: float, automatic: bool, outcome: _Outcome
    ) -> dict[str, Any]:
        kind = "AUTO_TRIGGER" if automatic else "MANUAL_TRIGGER"
        summary: dict[str, Any] = {
            "InvocationTime": invocation,
            "TriggerTime": trigger,
            "RunStatus": f"{kind}_{'FAILURE' if outcome.errors else 'SUCCESS'}",
            "ExecutionStats": outcome.stats,
        }
        if outcome.errors:
            summary["FailureReason"] = outcome.reason
            s3 = query.definition["ErrorReportConfiguration"]["S3Configuration"]
            parts = [s3["ObjectKeyPrefix"]] if "ObjectKeyPrefix" in s3 else []
            parts += [
                query.resource_id,
                _key_time(invocation),
                "Auto" if automatic else "Manual",
                _key_time(trigger),
            ]
            key = "/".join(parts)
            report = {"reportId": uuid.uuid4().hex, "errors": outcome.errors}
            try:
                where = self.queries.write_report(s3["BucketName"], key, report)
            except (ObjectStoreError, OSError, ValueError) as error:
                log.error("scheduled query %s: the error report could not be written: %s", query.name, error)
            else:
                summary["ErrorReportLocation"] = {
                    "S3ReportLocation": {"BucketName": s3["BucketName"], "ObjectKey": key}
                }
                log.warning("scheduled query %s: error report written to %s", query.name, where)
        return summary


class Scheduler:
    """The thread that runs each enabled schedule when it is due."""

    def __init__(
        self, queries: ScheduledQueries, runner: Runner, clock: Callable[[], float] = time.time
    ) -> None:
        self.queries = queries
        self.runner = runner
        self.clock = clock
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tsl-scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self.queries.changed.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def run_due(self) -> int:
        """Run every schedule that is due now (once each); answer how many ran."""
        owed = self.queries.due(self.clock())
        for arn, invocation in owed:
            if self._stopping.is_set():
                break
            try:
                self.runner.run(arn, invocation, automatic=True)
            except TimestreamError as error:  # deleted meanwhile
                log.info("scheduled query %s was not run: %s", arn, error.message)
        return len(owed)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self.queries.changed.clear()
            shortest = 0.0
            try:
                self.run_due()
            except Exception:
                log.exception("the scheduler's pass failed; it tries again in a second")
                shortest = 1.0
            wakeup = self.queries.next_wakeup()
            wait = (
                IDLE_WAKEUP_S if wakeup is None else min(max(wakeup - self.clock(), shortest), IDLE_WAKEUP_S)
            )
            self.queries.changed.wait(wait)
