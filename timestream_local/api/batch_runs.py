"""Running batch load tasks: the loader thread, started with the server like every thread of it
(server.py says why), takes the oldest waiting task (CREATED or PENDING_RESUME) and loads it.

Each file under the source prefix is streamed from S3 in bounded chunks (domain/batch_rows.py reads
the rows); its header must hold every column the data model maps, or the file fails whole
(FileFailures). Each row becomes records by the data model; a row that cannot (ParseFailures) is
reported with its line and reason. Records go through the Write API's path (``Writer.write_records``,
100 a call: the same validation, ingestion window, schema and version rules as WriteRecords); each
rejected record counts in RecordIngestionFailures and is reported with the line of its row. Nothing
is dropped silently: every fault is in the error report, the JSON object
``[<ObjectKeyPrefix>/]<TaskId>/error-report.json`` in the report bucket, in AWS's documented shape.

The position (file, rows done), counts and errors are saved after every write call, so a stop (the
server shutting down, S3 unreachable) leaves a PROGRESS_STOPPED task that ResumeBatchLoadTask
continues from there. The task ends SUCCEEDED without any fault, else FAILED.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

import msgspec

from timestream_local.domain.batch_config import source_columns
from timestream_local.domain.batch_loads import STOPPED_BY_RESTART, BatchLoadTask, BatchLoadTasks
from timestream_local.domain.batch_rows import CsvFormat, Row, RowError, RowMapper, read_rows
from timestream_local.domain.records import parse_write_request
from timestream_local.domain.writes import Writer
from timestream_local.exceptions import TimestreamError
from timestream_local.models import MAX_RECORDS_PER_WRITE
from timestream_local.storage.objects import ObjectStore, ObjectStoreError, encryption_args

log = logging.getLogger(__name__)

IDLE_WAKEUP_S = 60.0
FILE_FAULTS = ("NoSuchKey", "AccessDenied", "ObjectTooLarge")  # the file fails; other S3 faults stop the task


class _Stopped(Exception):
    """The task cannot go on now (S3 unreachable, the server stopping): it becomes PROGRESS_STOPPED."""


class Loader:
    """The thread that runs batch load tasks, one at a time."""

    def __init__(self, tasks: BatchLoadTasks, writer: Writer, objects: ObjectStore) -> None:
        self.tasks = tasks
        self.writer = writer
        self.objects = objects
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tsl-batch-load", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self.tasks.changed.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self.tasks.changed.clear()
            try:
                task = self.tasks.claim()
                if task is not None:
                    self.run(task)
                    continue
            except Exception:
                log.exception("the batch load loader's pass failed; it tries again in a second")
                self._stopping.wait(1.0)
                continue
            self.tasks.changed.wait(IDLE_WAKEUP_S)

    # --------------------------------------------------------------------------------- one task
    def run(self, task: BatchLoadTask) -> None:
        log.info(
            "batch load task %s: loading %d files into %s.%s", task.task_id, len(task.files), *task.table
        )
        try:
            while task.position[0] < len(task.files):
                key, size = task.files[task.position[0]]
                self._load_file(task, key, size)
                task.position = [task.position[0] + 1, 0]
                self.tasks.checkpoint(task)
        except _Stopped as stop:
            log.warning("batch load task %s stopped: %s", task.task_id, stop)
            self.tasks.finish(task, "PROGRESS_STOPPED", str(stop))
            return
        except TimestreamError as error:  # the table went away, the store is failing: the task fails
            task.add_error(None, error.message)
            self._end(task, "FAILED", error.message)
            return
        except Exception as error:  # a fault of the store itself: said in the log, the task resumable
            log.exception("batch load task %s: the load failed", task.task_id)
            self.tasks.finish(
                task, "PROGRESS_STOPPED", f"Internal error while loading: {error}; resume the task."
            )
            return
        self._end(task, "FAILED" if task.failed_anything else "SUCCEEDED", None)

    def _end(self, task: BatchLoadTask, status: str, message: str | None) -> None:
        if task.failed_anything:
            s3 = task.request["ReportConfiguration"]["ReportS3Configuration"]
            key = "/".join([*([s3["ObjectKeyPrefix"].rstrip("/")] if s3.get("ObjectKeyPrefix") else []),
                            task.task_id, "error-report.json"])  # fmt: skip
            try:
                self.objects.put(
                    s3["BucketName"],
                    key,
                    msgspec.json.encode(task.report()),
                    "application/json",
                    encryption_args(s3.get("EncryptionOption", "SSE_S3"), s3.get("KmsKeyId")),
                )
                log.warning(
                    "batch load task %s: error report written to s3://%s/%s",
                    task.task_id,
                    s3["BucketName"],
                    key,
                )
            except ObjectStoreError as error:
                log.error(
                    "batch load task %s: the error report could not be written: %s", task.task_id, error
                )
                message = (
                    message + " " if message else ""
                ) + f"The error report could not be written: {error}"
        p = task.progress
        log.info("batch load task %s %s: %d rows, %d records ingested, %d parse failures, %d record failures, "
                 "%d file failures", task.task_id, status, p["RecordsProcessed"], p["RecordsIngested"],
                 p["ParseFailures"], p["RecordIngestionFailures"], p["FileFailures"])  # fmt: skip
        self.tasks.finish(task, status, message)

    def _chunks(self, bucket: str, key: str) -> Iterator[bytes]:
        try:
            yield from self.objects.stream(bucket, key)
        except ObjectStoreError as error:
            if error.code in FILE_FAULTS:
                raise RowError(str(error)) from error
            raise _Stopped(str(error)) from error

    def _load_file(self, task: BatchLoadTask, key: str, size: int) -> None:
        source = task.request["DataSourceConfiguration"]
        bucket = source["DataSourceS3Configuration"]["BucketName"]
        skip = task.position[1]
        try:
            rows = read_rows(self._chunks(bucket, key), CsvFormat(source.get("CsvConfiguration")))
            header = next(rows, None)
            if header is None or header.fields is None:
                raise RowError(
                    header.error if header is not None else "The file is empty: it has no header row."
                )
            missing = [c for c in source_columns(task.model) if c not in header.fields]
            if missing:
                raise RowError(f"The header has no column {', '.join(missing)}, which the data model maps.")
            if len(set(header.fields)) != len(header.fields):
                raise RowError("The header names a column more than once.")
            mapper = RowMapper(task.model, [str(f) for f in header.fields], task.request.get("RecordVersion"))
            if skip == 0:
                task.progress["BytesMetered"] += size
            self._load_rows(task, key, rows, mapper, skip)
        except RowError as error:  # the whole file
            task.progress["FileFailures"] += 1
            task.add_error(key, str(error))

    def _load_rows(
        self, task: BatchLoadTask, key: str, rows: Iterator[Row], mapper: RowMapper, skip: int
    ) -> None:
        pending: list[tuple[dict[str, Any], int]] = []
        done = 0
        try:
            for row in rows:
                if self._stopping.is_set():  # progress goes back to the last saved position
                    raise _Stopped(STOPPED_BY_RESTART)
                done = self._row(task, key, row, mapper, done, skip, pending)
                if len(pending) >= MAX_RECORDS_PER_WRITE:
                    self._write(task, key, pending)
                    pending.clear()
                    task.position[1] = done
                    self.tasks.checkpoint(task)
        except RowError:  # the object could not be read to its end: what was read is still written
            self._write(task, key, pending)
            raise
        self._write(task, key, pending)

    def _row(
        self,
        task: BatchLoadTask,
        key: str,
        row: Row,
        mapper: RowMapper,
        done: int,
        skip: int,
        pending: list[tuple[dict[str, Any], int]],
    ) -> int:
        """Take one row (its records into ``pending``, or its fault into the report); rows done."""
        done += 1
        if done <= skip:
            return done  # handled before the task stopped
        task.progress["RecordsProcessed"] += 1
        try:
            if row.fields is None:
                raise RowError(row.error or "The row cannot be read.")
            pending += [(record, row.line) for record in mapper.records(row.fields)]
        except RowError as error:
            task.progress["ParseFailures"] += 1
            task.add_error(key, str(error), row.line)
        return done

    def _write(self, task: BatchLoadTask, key: str, pending: list[tuple[dict[str, Any], int]]) -> None:
        database, table = task.table
        for start in range(0, len(pending), MAX_RECORDS_PER_WRITE):
            batch = pending[start : start + MAX_RECORDS_PER_WRITE]
            request = parse_write_request(
                {"DatabaseName": database, "TableName": table, "Records": [record for record, _ in batch]}
            )
            written, rejections = self.writer.write_records(request)
            task.progress["RecordsIngested"] += written.total
            refused = {rejection.index: rejection.reason for rejection in rejections}
            for index, (_record, line) in enumerate(batch):
                if index in refused:
                    task.progress["RecordIngestionFailures"] += 1
                    task.add_error(key, refused[index], line)
