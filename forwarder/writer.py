"""WriteRecords with per-record handling of rejections and endless, visible retries.

For one batch, ``TimestreamWriter.write`` returns which entries are stored, which were identical
duplicates of stored records (delivered too) and which were refused, with Timestream's reason:

* success: every entry is stored;
* RejectedRecordsException: the rejected entries are classified one by one; all others are stored
  and are never sent again;
* ValidationException (the whole request refused, e.g. one record breaks a limit): the batch is
  split in halves until the offending record is alone, which is then refused with that message;
  the others are written normally, so one bad record cannot wedge the pipeline;
* throttling, 5xx, network trouble and any other error that is not about the records: the same
  records are retried with exponential backoff and jitter, with no time limit, warning in the log.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from forwarder.awsjson import AwsError, AwsJsonClient
from forwarder.backoff import Backoff, Retrying
from forwarder.batcher import Entry

log = logging.getLogger(__name__)

# Timestream accepts a record identical to a stored one (same value, no higher version) silently.
# Stores or versions that report it as a rejection anyway say so in words like these.
_DUPLICATE = re.compile(
    r"identical|same (?:measure )?values?|already exists with the same|duplicate of", re.I
)
_DIFFERENT = re.compile(r"differ|higher version|lower version|not the same", re.I)


def is_identical_duplicate(reason: str) -> bool:
    """True when a rejection says the very same record is already stored (so it is delivered)."""
    return bool(_DUPLICATE.search(reason)) and not _DIFFERENT.search(reason)


@dataclass
class WriteResult:
    stored: list[Entry] = field(default_factory=list)
    duplicates: list[Entry] = field(default_factory=list)
    refused: list[tuple[Entry, str]] = field(default_factory=list)

    def merge(self, other: WriteResult) -> None:
        self.stored += other.stored
        self.duplicates += other.duplicates
        self.refused += other.refused


def classify_rejections(entries: Sequence[Entry], rejected: Sequence[dict[str, Any]]) -> WriteResult:
    """Split a batch after RejectedRecordsException: entries not named in ``rejected`` are stored."""
    result = WriteResult()
    reasons: dict[int, str] = {}
    for rejection in rejected:
        index = rejection.get("RecordIndex")
        if not isinstance(index, int) or not 0 <= index < len(entries):
            continue
        reason = str(rejection.get("Reason") or "rejected by Timestream (no reason given)")
        if rejection.get("ExistingVersion") is not None and "version" not in reason.lower():
            reason += f" (existing version {rejection['ExistingVersion']})"
        reasons[index] = reason
    for index, entry in enumerate(entries):
        reason = reasons.get(index)
        if reason is None:
            result.stored.append(entry)
        elif is_identical_duplicate(reason):
            result.duplicates.append(entry)
        else:
            result.refused.append((entry, reason))
    return result


class TimestreamWriter:
    def __init__(
        self,
        client: AwsJsonClient,
        database: str,
        table: str,
        *,
        backoff: Backoff | None = None,
        sleep: Callable[[float], Any] | None = None,
        on_retry: Callable[[], None] | None = None,
        abort: threading.Event | None = None,
    ) -> None:
        self._client = client
        self._database = database
        self._table = table
        self._backoff = backoff or Backoff()
        self._on_retry = on_retry
        self._abort = abort or threading.Event()
        self._sleep = sleep or self._abort.wait  # an abort cuts a backoff short

    def write(self, entries: Sequence[Entry]) -> WriteResult:
        """Settle every entry (blocks, retrying, until Timestream has answered for each one)."""
        if not entries:
            return WriteResult()
        retrying = Retrying(backoff=self._backoff)
        while True:
            try:
                self._client.call(
                    "WriteRecords",
                    {
                        "DatabaseName": self._database,
                        "TableName": self._table,
                        "Records": [entry.record for entry in entries],
                    },
                )
                return WriteResult(stored=list(entries))
            except AwsError as error:
                if error.code == "RejectedRecordsException":
                    return classify_rejections(entries, error.body.get("RejectedRecords") or [])
                if error.code == "ValidationException":
                    return self._split(entries, error)
                if self._abort.is_set():
                    raise
                delay, warn = retrying.failed()
                if self._on_retry is not None:
                    self._on_retry()
                if warn:
                    log.warning(
                        "WriteRecords of %d records failed (%s)%s; retrying in %.1f s, keeping them until written",
                        len(entries),
                        error,
                        f", failing for {retrying.failing_for:.0f} s" if retrying.attempts > 1 else "",
                        delay,
                    )
                self._sleep(delay)

    def _split(self, entries: Sequence[Entry], error: AwsError) -> WriteResult:
        if len(entries) == 1:
            return WriteResult(refused=[(entries[0], f"{error.code}: {error.message}")])
        half = len(entries) // 2
        result = self.write(entries[:half])
        result.merge(self.write(entries[half:]))
        return result
