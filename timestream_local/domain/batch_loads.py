"""Batch load tasks: their requests, status, progress, errors and where the loader has got to, with
AWS's rules: 32-character task ids, ClientToken idempotency (8 hours), at most 5 active tasks per
table and 10 per account (ServiceQuotaExceededException), resuming only a PROGRESS_STOPPED task and
only until its ResumableUntil.

Every change is saved (storage/batch_loads.py) before it is answered or before the loader goes on, so
a restart loses nothing: a task that was IN_PROGRESS when the server stopped comes back
PROGRESS_STOPPED (ResumeBatchLoadTask continues it from its last saved position; records written
after that position are written again, as the same versions, which changes nothing); CREATED and
PENDING_RESUME tasks run after the start. The loading itself is the API layer's (api/batch_runs.py).
"""

from __future__ import annotations

import copy
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from timestream_local.exceptions import (
    ResourceNotFoundException,
    ServiceQuotaExceededException,
    ValidationException,
)
from timestream_local.storage.batch_loads import BatchLoadDocuments

TOKEN_LIFETIME_S = 8 * 3600
RESUMABLE_S = 7 * 86_400  # how long a stopped task can be resumed (AWS does not say; see README)
MAX_ACTIVE_PER_TABLE = 5
MAX_ACTIVE_PER_ACCOUNT = 10
MAX_ERROR_RANGES = 10_000  # line ranges kept for the report per task (the counts are always exact)
ACTIVE = ("CREATED", "IN_PROGRESS", "PENDING_RESUME")
STATUSES = ("CREATED", "IN_PROGRESS", "FAILED", "SUCCEEDED", "PROGRESS_STOPPED", "PENDING_RESUME")
COUNTERS = ("RecordsProcessed", "RecordsIngested", "ParseFailures", "RecordIngestionFailures",
            "FileFailures", "BytesMetered")  # fmt: skip
STOPPED_BY_RESTART = (
    "The server stopped while the task was in progress; resume it with ResumeBatchLoadTask "
    "to continue from where it got to."
)


@dataclass
class BatchLoadTask:
    task_id: str
    request: dict[str, Any]
    model: dict[str, Any]
    files: list[list[Any]]
    created: float
    status: str = "CREATED"
    updated: float = 0.0
    resumable_until: float | None = None
    error: str | None = None
    progress: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    position: list[int] = field(default_factory=lambda: [0, 0])  # [file index, data rows handled in it]
    errors: dict[str, Any] = field(default_factory=lambda: {"task": [], "files": {}, "ranges": 0})
    client_token: str | None = None

    @property
    def table(self) -> tuple[str, str]:
        return self.request["TargetDatabaseName"], self.request["TargetTableName"]

    def to_doc(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in self.__dataclass_fields__ if key != "task_id"}

    @classmethod
    def from_doc(cls, task_id: str, doc: dict[str, Any]) -> BatchLoadTask:
        return cls(task_id, **doc)

    def times(self) -> dict[str, Any]:
        body: dict[str, Any] = {"CreationTime": self.created, "LastUpdatedTime": self.updated}
        if self.resumable_until is not None and self.status == "PROGRESS_STOPPED":
            body["ResumableUntil"] = self.resumable_until
        return body

    def describe(self) -> dict[str, Any]:
        """DescribeBatchLoadTask's BatchLoadTaskDescription."""
        body = {"TaskId": self.task_id, **copy.deepcopy(self.request), "TaskStatus": self.status,
                "ProgressReport": dict(self.progress), **self.times()}  # fmt: skip
        if self.error is not None:
            body["ErrorMessage"] = self.error
        return body

    def summary(self) -> dict[str, Any]:
        """ListBatchLoadTasks' entry."""
        database, table = self.table
        return {"TaskId": self.task_id, "TaskStatus": self.status, "DatabaseName": database,
                "TableName": table, **self.times()}  # fmt: skip

    def add_error(self, file_name: str | None, reason: str, line: int | None = None) -> None:
        """Keep one error for the report: a task error, or a file's error on a line (merged into
        ranges of consecutive lines with the same reason)."""
        if file_name is None:
            if reason not in self.errors["task"]:
                self.errors["task"].append(reason)
            return
        reasons = self.errors["files"].setdefault(file_name, {})
        ranges = reasons.setdefault(reason, [])
        if line is None:
            return
        if ranges and ranges[-1][1] in (line - 1, line):
            ranges[-1][1] = line
        elif self.errors["ranges"] < MAX_ERROR_RANGES:
            ranges.append([line, line])
            self.errors["ranges"] += 1

    def report(self) -> dict[str, Any]:
        """The error report, in the shape AWS documents (taskErrors, fileErrors with lineRanges)."""
        file_errors = [
            {
                "fileName": name,
                "errors": [{"reason": reason, "lineRanges": ranges} for reason, ranges in reasons.items()],
            }
            for name, reasons in self.errors["files"].items()
        ]
        return {
            "taskId": self.task_id,
            "taskErrors": [{"reason": r} for r in self.errors["task"]],
            "fileErrors": file_errors,
        }

    @property
    def failed_anything(self) -> bool:
        p = self.progress
        return bool(
            p["ParseFailures"] or p["RecordIngestionFailures"] or p["FileFailures"] or self.errors["task"]
        )


class BatchLoadTasks:
    """The store's batch load tasks; ``changed`` is set when a task becomes runnable (the loader waits on it)."""

    def __init__(self, documents: BatchLoadDocuments, clock: Callable[[], float] = time.time) -> None:
        self._documents = documents
        self.clock = clock
        self._lock = threading.Lock()
        self.changed = threading.Event()
        self._tasks = {
            task_id: BatchLoadTask.from_doc(task_id, doc) for task_id, doc in documents.load().items()
        }
        for task in self._tasks.values():
            if task.status == "IN_PROGRESS":  # the server stopped under it
                self._stop(task, STOPPED_BY_RESTART)

    def _get(self, task_id: str) -> BatchLoadTask:
        task = self._tasks.get(task_id)
        if task is None:
            raise ResourceNotFoundException(f"The batch load task {task_id} does not exist.")
        return task

    def _save(self, task: BatchLoadTask) -> None:
        task.updated = self.clock()
        self._documents.save(task.task_id, task.to_doc())

    def _stop(self, task: BatchLoadTask, reason: str) -> None:
        task.status, task.error = "PROGRESS_STOPPED", reason
        task.resumable_until = self.clock() + RESUMABLE_S
        self._save(task)

    def _check_quota(self, table: tuple[str, str]) -> None:
        active = [t for t in self._tasks.values() if t.status in ACTIVE]
        if len(active) >= MAX_ACTIVE_PER_ACCOUNT:
            raise ServiceQuotaExceededException(
                f"The account has {len(active)} active batch load tasks, the most it can have "
                f"({MAX_ACTIVE_PER_ACCOUNT}); wait for one to finish."
            )
        on_table = [t for t in active if t.table == table]
        if len(on_table) >= MAX_ACTIVE_PER_TABLE:
            raise ServiceQuotaExceededException(
                f"The table {table[1]} has {len(on_table)} active batch load tasks, the most a table can "
                f"have ({MAX_ACTIVE_PER_TABLE}); wait for one to finish."
            )

    # ---------------------------------------------------------------------------- the API's actions
    def create(
        self,
        request: dict[str, Any],
        model: dict[str, Any],
        files: list[tuple[str, int]],
        client_token: str | None,
    ) -> str:
        now = self.clock()
        with self._lock:
            if client_token is not None:
                for task in self._tasks.values():
                    if task.client_token == client_token and now - task.created < TOKEN_LIFETIME_S:
                        if task.request != request:
                            raise ValidationException(
                                "ClientToken was used within the last 8 hours for a CreateBatchLoadTask call "
                                "with other parameters; use a new ClientToken."
                            )
                        return task.task_id
            self._check_quota((request["TargetDatabaseName"], request["TargetTableName"]))
            task_id = secrets.token_hex(16).upper()
            task = BatchLoadTask(task_id, copy.deepcopy(request), model, [list(f) for f in files], now,
                                 client_token=client_token)  # fmt: skip
            self._save(task)
            self._tasks[task_id] = task
        self.changed.set()
        return task_id

    def describe(self, task_id: str) -> dict[str, Any]:
        with self._lock:
            return self._get(task_id).describe()

    def list(self, status: str | None) -> list[dict[str, Any]]:
        with self._lock:
            ordered = sorted(self._tasks.values(), key=lambda t: (t.created, t.task_id))
            return [t.summary() for t in ordered if status is None or t.status == status]

    def resume(self, task_id: str) -> None:
        with self._lock:
            task = self._get(task_id)
            if task.status != "PROGRESS_STOPPED":
                raise ValidationException(
                    f"The batch load task {task_id} is {task.status}; only a PROGRESS_STOPPED task can be resumed."
                )
            if task.resumable_until is not None and self.clock() > task.resumable_until:
                raise ValidationException(
                    f"The batch load task {task_id} was resumable only until its ResumableUntil."
                )
            self._check_quota(task.table)
            task.status, task.error, task.resumable_until = "PENDING_RESUME", None, None
            self._save(task)
        self.changed.set()

    # ------------------------------------------------------------------------------- the loader's
    def claim(self) -> BatchLoadTask | None:
        """The oldest CREATED or PENDING_RESUME task, now IN_PROGRESS (a copy to work on), or None."""
        with self._lock:
            waiting = [t for t in self._tasks.values() if t.status in ("CREATED", "PENDING_RESUME")]
            if not waiting:
                return None
            task = min(waiting, key=lambda t: (t.created, t.task_id))
            task.status = "IN_PROGRESS"
            self._save(task)
            return copy.deepcopy(task)

    def checkpoint(self, work: BatchLoadTask) -> None:
        """Keep the loader's progress, errors and position (its copy of the task)."""
        with self._lock:
            task = self._get(work.task_id)
            task.progress, task.position, task.errors = (
                copy.deepcopy(work.progress), list(work.position), copy.deepcopy(work.errors),
            )  # fmt: skip
            self._save(task)

    def finish(self, work: BatchLoadTask, status: str, error: str | None = None) -> None:
        """Record the end of a run: SUCCEEDED, FAILED or PROGRESS_STOPPED (then resumable: its
        progress stays as last saved by ``checkpoint``, where a resumed run starts again)."""
        with self._lock:
            task = self._get(work.task_id)
            if status == "PROGRESS_STOPPED":
                self._stop(task, error or "The task stopped.")
                return
            task.progress, task.position, task.errors = (
                copy.deepcopy(work.progress), list(work.position), copy.deepcopy(work.errors),
            )  # fmt: skip
            task.status, task.error = status, error
            self._save(task)
