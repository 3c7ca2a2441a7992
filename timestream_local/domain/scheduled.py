"""Scheduled queries: their definitions, state (ENABLED/DISABLED), schedule and run history, with
AWS's rules: ARNs `arn:aws:timestream:<region>:<account>:scheduled-query/<name>-<suffix>`, a
ConflictException for a name in use, ResourceNotFoundException for an unknown ARN, ClientToken
idempotency (the same token within 8 hours answers the scheduled query it created), LastRunSummary
and the last five RecentlyFailedRuns.

Every change is saved (storage/scheduled.py) before it is answered, so schedules and their history
survive a restart. Running a query is not done here (the API layer's runner does it); the scheduler
asks ``due`` which runs are owed and reports each with ``record_run``.
"""

from __future__ import annotations

import copy
import logging
import secrets
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from timestream_local.catalog import ACCOUNT_ID
from timestream_local.domain.schedules import parse_schedule
from timestream_local.domain.tags import TagStore
from timestream_local.exceptions import ConflictException, ResourceNotFoundException, ValidationException
from timestream_local.storage.error_reports import ErrorReports
from timestream_local.storage.scheduled import ScheduledDocuments

log = logging.getLogger(__name__)

TOKEN_LIFETIME_S = 8 * 3600  # AWS: after 8 hours a ClientToken names a new request
RECENT_FAILURES = 5
MAX_CATCH_UP_STEPS = 1_000_000
_SUFFIX = string.ascii_lowercase + string.digits


@dataclass
class ScheduledQuery:
    arn: str
    definition: dict[str, Any]
    created: float
    state: str = "ENABLED"
    next_time: float | None = None
    previous_time: float | None = None
    last_run: dict[str, Any] | None = None
    failed_runs: list[dict[str, Any]] = field(default_factory=list)
    client_token: str | None = None

    @property
    def name(self) -> str:
        return self.definition["Name"]

    @property
    def resource_id(self) -> str:
        """The last part of the ARN, <name>-<suffix> (what error report keys start with)."""
        return self.arn.rsplit("/", 1)[1]

    def next_after(self, t: float) -> float | None:
        return parse_schedule(self.definition["ScheduleConfiguration"]["ScheduleExpression"]).next_after(
            t, self.created
        )

    def to_doc(self) -> dict[str, Any]:
        return {
            "definition": self.definition, "created": self.created, "state": self.state,
            "next": self.next_time, "previous": self.previous_time, "last_run": self.last_run,
            "failed_runs": self.failed_runs, "client_token": self.client_token,
        }  # fmt: skip

    @classmethod
    def from_doc(cls, arn: str, doc: dict[str, Any]) -> ScheduledQuery:
        return cls(
            arn, doc["definition"], doc["created"], doc["state"], doc["next"], doc["previous"],
            doc["last_run"], doc["failed_runs"], doc["client_token"],
        )  # fmt: skip

    def times(self) -> dict[str, Any]:
        body: dict[str, Any] = {"CreationTime": self.created, "State": self.state}
        if self.previous_time is not None:
            body["PreviousInvocationTime"] = self.previous_time
        if self.next_time is not None and self.state == "ENABLED":
            body["NextInvocationTime"] = self.next_time
        return body

    def to_api(self) -> dict[str, Any]:
        """DescribeScheduledQuery's ScheduledQuery."""
        body = {"Arn": self.arn, **copy.deepcopy(self.definition), **self.times()}
        if self.last_run is not None:
            body["LastRunSummary"] = copy.deepcopy(self.last_run)
        if self.failed_runs:
            body["RecentlyFailedRuns"] = copy.deepcopy(self.failed_runs)
        return body

    def to_summary(self) -> dict[str, Any]:
        """ListScheduledQueries' entry."""
        body = {"Arn": self.arn, "Name": self.name, **self.times()}
        body["ErrorReportConfiguration"] = copy.deepcopy(self.definition["ErrorReportConfiguration"])
        target = self.definition.get("TargetConfiguration")
        if target is not None:
            config = target["TimestreamConfiguration"]
            body["TargetDestination"] = {
                "TimestreamDestination": {
                    "DatabaseName": config["DatabaseName"],
                    "TableName": config["TableName"],
                }
            }
        if self.last_run is not None:
            body["LastRunStatus"] = self.last_run["RunStatus"]
        return body


class ScheduledQueries:
    """The store's scheduled queries; ``changed`` is set whenever a schedule changes (the scheduler
    waits on it)."""

    def __init__(
        self,
        documents: ScheduledDocuments,
        reports: ErrorReports,
        region: str,
        clock: Callable[[], float] = time.time,
        tags: TagStore | None = None,
    ) -> None:
        self._documents = documents
        self._reports = reports
        self._tags = tags
        self.region = region
        self.clock = clock
        self._lock = threading.Lock()
        self.changed = threading.Event()
        self._queries = {arn: ScheduledQuery.from_doc(arn, doc) for arn, doc in documents.load().items()}
        self._noted = False
        if self._queries:
            self._note_once()
        if tags is not None:  # scheduled queries can be tagged (read without the lock: see names)
            tags.register(self.names)

    def names(self, arn: str) -> bool:
        """Whether ``arn`` is an existing scheduled query's (the tag store's resolver; it runs under
        the database lock, which create/delete take after this object's lock, so it reads the dict
        without taking the lock)."""
        return arn in self._queries

    def _get(self, arn: str) -> ScheduledQuery:
        query = self._queries.get(arn)
        if query is None:
            raise ResourceNotFoundException(f"The scheduled query {arn} does not exist.")
        return query

    def _save(self, query: ScheduledQuery) -> None:
        self._documents.save(query.arn, query.to_doc())
        self.changed.set()

    def _note_once(self) -> None:
        if not self._noted:
            self._noted = True
            log.info(
                "scheduled queries: SNS notifications are kept in their NotificationConfiguration but not "
                "delivered (timestream_local has no SNS); ScheduledQueryExecutionRoleArn is kept, not assumed; "
                "error reports are written %s",
                self._reports.where,
            )

    # ---------------------------------------------------------------------------- the API's actions
    def create(
        self, definition: dict[str, Any], client_token: str | None, tags: dict[str, str] | None = None
    ) -> str:
        now = self.clock()
        with self._lock:
            if client_token is not None:
                for query in self._queries.values():
                    if query.client_token == client_token and now - query.created < TOKEN_LIFETIME_S:
                        if query.definition != definition:
                            raise ValidationException(
                                "ClientToken was used within the last 8 hours for a CreateScheduledQuery call "
                                "with other parameters; use a new ClientToken."
                            )
                        return query.arn
            name = definition["Name"]
            if any(query.name == name for query in self._queries.values()):
                raise ConflictException(f"A scheduled query with the name {name} already exists.")
            suffix = "".join(secrets.choice(_SUFFIX) for _ in range(12))
            arn = f"arn:aws:timestream:{self.region}:{ACCOUNT_ID}:scheduled-query/{name}-{suffix}"
            query = ScheduledQuery(arn, definition, now, client_token=client_token)
            query.next_time = query.next_after(now)
            if tags and self._tags is None:
                raise ValidationException("Tags cannot be kept by this store; create it without Tags.")
            attach = None if self._tags is None else lambda: self._tags.attach(arn, tags or {})
            self._documents.save(query.arn, query.to_doc(), attach)  # the query and its tags, or neither
            self.changed.set()
            self._queries[arn] = query
            self._note_once()
            return arn

    def describe(self, arn: str) -> dict[str, Any]:
        with self._lock:
            return self._get(arn).to_api()

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            ordered = sorted(self._queries.values(), key=lambda q: (q.name, q.arn))
            return [query.to_summary() for query in ordered]

    def set_state(self, arn: str, state: str) -> None:
        with self._lock:
            query = self._get(arn)
            if query.state == state:
                return
            query.state = state
            query.next_time = query.next_after(self.clock()) if state == "ENABLED" else None
            self._save(query)

    def delete(self, arn: str) -> None:
        with self._lock:
            self._get(arn)
            self._documents.delete(arn, None if self._tags is None else lambda: self._tags.detach(arn))
            del self._queries[arn]
            self.changed.set()

    def snapshot(self, arn: str) -> ScheduledQuery:
        """A copy of one scheduled query, for a run."""
        with self._lock:
            return copy.deepcopy(self._get(arn))

    def write_report(self, bucket: str, key: str, report: dict[str, Any]) -> str:
        """Keep a failed run's error report (in S3, or a file without an S3 endpoint); where it went."""
        return self._reports.write(bucket, key, report)

    # ------------------------------------------------------------------------------ the scheduler's
    def due(self, now: float) -> list[tuple[str, float]]:
        """(ARN, invocation time) of each enabled schedule owed a run: once, for the latest invocation
        time not after ``now`` (runs missed while the server was down are caught up with one run)."""
        owed = []
        with self._lock:
            for query in self._queries.values():
                if query.state != "ENABLED" or query.next_time is None or query.next_time > now:
                    continue
                latest = query.next_time
                recent = query.next_after(max(latest, now - 86_400))  # skip ahead: few steps remain
                if recent is not None and recent <= now:
                    latest = recent
                for _ in range(MAX_CATCH_UP_STEPS):
                    following = query.next_after(latest)
                    if following is None or following > now:
                        break
                    latest = following
                owed.append((query.arn, latest))
        return sorted(owed, key=lambda item: item[1])

    def next_wakeup(self) -> float | None:
        with self._lock:
            times = [
                q.next_time
                for q in self._queries.values()
                if q.state == "ENABLED" and q.next_time is not None
            ]
        return min(times, default=None)

    def record_run(self, arn: str, summary: dict[str, Any], automatic: bool) -> None:
        """Keep a run's summary (nothing when the scheduled query was deleted meanwhile); an automatic
        run also moves the schedule on past the run and the present."""
        with self._lock:
            query = self._queries.get(arn)
            if query is None:
                return
            query.last_run = summary
            if summary["RunStatus"].endswith("FAILURE"):
                query.failed_runs = [summary, *query.failed_runs][:RECENT_FAILURES]
            if automatic:
                invocation = summary["InvocationTime"]
                query.previous_time = invocation
                if query.state == "ENABLED":
                    query.next_time = query.next_after(max(invocation, self.clock()))
            self._save(query)
