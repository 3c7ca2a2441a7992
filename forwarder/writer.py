"""WriteRecords with per-record handling of rejections, visible retries, and poison records set aside.

For one batch, ``TimestreamWriter.write`` returns which entries are stored, which were identical
duplicates of stored records (delivered too), which were refused, with Timestream's reason, and
which are still unsettled (to be tried again later):

* success: every entry is stored;
* RejectedRecordsException: the rejected entries are classified one by one; all others are stored
  and are never sent again;
* ValidationException (the whole request refused, e.g. one record breaks a limit): the batch is
  split in halves until the offending record is alone, which is then refused with that message;
  the others are written normally, so one bad record cannot wedge the pipeline;
* a server error (HTTP 5xx, or no answer within the read timeout): it may come from the store or
  from a record in the batch (a "poison" record the store fails on every time). One try per call:
  the batch comes back *unsettled*, and the runner queues it again behind the other batches. Once
  its records have failed ``isolate_after`` times, and the store has stored other records of this
  forwarder since their first failure, the batch comes back split in halves (each half tried on
  its own; splitting loses nothing); a record that has failed *alone* ``isolate_after`` times, the
  store storing other records between each of those tries and the one before, is refused with the
  server's answer (status, code, message), so it goes to the dead-letter file and its shard flows
  on. While the store stores nothing at all (an outage: every batch fails), nothing is split or set
  aside: every record is kept and retried, paced by a backoff that all writers share
  (``StoreHealth``);
* throttling, network trouble (connection refused or reset: the store is down) and any other
  error that is not about the records (access denied, no such table): the same records are
  retried with exponential backoff and jitter, with no time limit, warning in the log.

Why "stored other records since": a store that fails every write (disk full, a broken flusher)
looks, from one batch, exactly like a batch that holds a poison record. The difference is whether
the store goes on storing other records between this batch's failures; only then is the failure
the batch's own. /health would not tell (the HTTP front answers while writes fail), and a canary
that writes an already stored record again proves little (an identical record is a no-op that may
never reach the store's disk). Successful writes of this forwarder's own records are the evidence.
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

ISOLATE_AFTER = 3  # server errors of a record before its batch is split / it is set aside (see above)

# Rate limits, whatever their HTTP status: never a record's fault.
THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ProvisionedThroughputExceededException",
        "LimitExceededException",
        "KMSThrottlingException",
        "SlowDown",
        "RequestLimitExceeded",
        "TooManyRequestsException",
    }
)


def is_server_error(error: AwsError) -> bool:
    """A failure a record may cause: a 5xx answer that is not throttling, or no answer in time.

    Not: connection refused or reset (the store is down), throttling, or a 4xx answer."""
    if error.code in THROTTLING_CODES:
        return False
    return error.status >= 500 or error.timed_out


def describe_answer(error: AwsError) -> str:
    """The server's answer as a dead-letter reason: status, code and message."""
    if error.status:
        return f"HTTP {error.status} {error.code}: {error.message}".rstrip(": ")
    return f"no answer ({error.code}: {error.message})"


class StoreHealth:
    """What the writers of one forwarder have seen of the store, shared by all of them.

    ``stored`` counts calls that stored records: a record's failures are its own only if this
    count moved between them. ``pause()`` is the shared backoff while calls keep failing with
    server errors (an outage makes every writer wait, not only the one that saw the error).
    """

    def __init__(self, backoff: Backoff | None = None) -> None:
        self._lock = threading.Lock()
        self._backoff = backoff or Backoff()
        self.stored = 0
        self._failing = 0  # server errors since the last call that stored something

    def store_worked(self) -> None:
        with self._lock:
            self.stored += 1
            self._failing = 0

    def server_error(self) -> int:
        """Count a server error; returns the number of calls that stored records so far."""
        with self._lock:
            self._failing += 1
            return self.stored

    def pause(self) -> float:
        """Seconds to wait before the next call: 0 unless the last calls failed with server errors."""
        with self._lock:
            failing = self._failing
        return self._backoff.delay(failing) if failing else 0.0


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
    unsettled: list[list[Entry]] = field(default_factory=list)  # groups to try again later, each a batch

    def merge(self, other: WriteResult) -> None:
        self.stored += other.stored
        self.duplicates += other.duplicates
        self.refused += other.refused
        self.unsettled += other.unsettled


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
        health: StoreHealth | None = None,
        isolate_after: int = ISOLATE_AFTER,
    ) -> None:
        self._client = client
        self._database = database
        self._table = table
        self._backoff = backoff or Backoff()
        self._on_retry = on_retry
        self._abort = abort or threading.Event()
        self._sleep = sleep or self._abort.wait  # an abort cuts a backoff short
        self._health = health or StoreHealth(self._backoff)
        self._isolate_after = isolate_after
        self._server_warning = Retrying(backoff=self._backoff)  # only to rate-limit its warnings

    def write(self, entries: Sequence[Entry]) -> WriteResult:
        """Settle what can be settled now: blocks while the store is unreachable or throttling;
        after a server error the entries come back in ``unsettled`` (see the module docstring)."""
        if not entries:
            return WriteResult()
        retrying = Retrying(backoff=self._backoff)
        pause = self._health.pause()
        if pause:
            self._sleep(pause)
        while True:
            if self._abort.is_set():
                raise AwsError("Aborted", "the forwarder is stopping without waiting for these records")
            try:
                self._client.call(
                    "WriteRecords",
                    {
                        "DatabaseName": self._database,
                        "TableName": self._table,
                        "Records": [entry.record for entry in entries],
                    },
                )
                self._health.store_worked()
                return WriteResult(stored=list(entries))
            except AwsError as error:
                if error.code == "RejectedRecordsException":
                    result = classify_rejections(entries, error.body.get("RejectedRecords") or [])
                    if result.stored:
                        self._health.store_worked()
                    return result
                if error.code == "ValidationException":
                    return self._split(entries, error)
                if self._abort.is_set():
                    raise
                if self._on_retry is not None:
                    self._on_retry()
                if is_server_error(error):
                    return self._server_error(entries, error)
                delay, warn = retrying.failed()
                if warn:
                    log.warning(
                        "WriteRecords of %d records failed (%s)%s; retrying in %.1f s, keeping them until written",
                        len(entries),
                        error,
                        f", failing for {retrying.failing_for:.0f} s" if retrying.attempts > 1 else "",
                        delay,
                    )
                self._sleep(delay)

    def _server_error(self, entries: Sequence[Entry], error: AwsError) -> WriteResult:
        """Count the failure on each entry; split the batch, or refuse its record, once the failures
        are clearly its own (see the module docstring); otherwise hand it back unsettled."""
        stored = self._health.server_error()
        since_first = all(0 <= entry.first_failure < stored for entry in entries)
        since_last = all(0 <= entry.last_failure < stored for entry in entries)
        for entry in entries:
            entry.failures += 1
            if entry.first_failure < 0:
                entry.first_failure = stored
            entry.last_failure = stored
        if len(entries) == 1:
            entry = entries[0]
            if since_last:
                entry.failures_alone += 1
                if entry.failures_alone >= self._isolate_after:
                    reason = (
                        f"{describe_answer(error)} (failed alone {entry.failures_alone} times, the store "
                        "storing other records in between)"
                    )
                    log.warning("a record keeps failing alone; dead-lettering it: %s", reason)
                    return WriteResult(refused=[(entry, reason)])
        elif since_first and min(entry.failures for entry in entries) >= self._isolate_after:
            half = len(entries) // 2
            log.info(
                "WriteRecords of %d records failed %d times (%s) while the store stored others; "
                "trying its halves apart to find the record it fails on",
                len(entries),
                min(entry.failures for entry in entries),
                describe_answer(error),
            )
            return WriteResult(unsettled=[list(entries[:half]), list(entries[half:])])
        _, warn = self._server_warning.failed()
        if warn:
            log.warning(
                "WriteRecords of %d records failed (%s); keeping them and trying again after the other "
                "batches%s",
                len(entries),
                describe_answer(error),
                "" if since_last else " (the store has stored nothing since: an outage, not a bad record)",
            )
        return WriteResult(unsettled=[list(entries)])

    def _split(self, entries: Sequence[Entry], error: AwsError) -> WriteResult:
        if len(entries) == 1:
            return WriteResult(refused=[(entries[0], f"{error.code}: {error.message}")])
        half = len(entries) // 2
        result = self.write(entries[:half])
        result.merge(self.write(entries[half:]))
        return result
