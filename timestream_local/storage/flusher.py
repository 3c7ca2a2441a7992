"""The flusher: acknowledged appends go from the write log into the memory tier.

A writer appends an entry to the write log (writelog.py) and hands its rows over (``append``); that
is when WriteRecords answers. A background thread commits everything pending every `interval`
seconds, or sooner once FLUSH_ROWS rows wait, in one DuckDB transaction that also records the last
log entry applied; then the log's closed segments are deleted. A query first calls ``sync`` so it
sees every acknowledged write. At start, ``replay`` applies what the last run acknowledged but did
not commit.

When a commit fails the rows stay pending (and in the log) for the next try: a failure of the
machine (a full disk, memory) pauses writes until a commit succeeds again, a failed database stops
them until a restart, and an entry DuckDB refuses on its own is set aside (quarantine.py) so that
it stops nothing else.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import NoReturn

import duckdb

from timestream_local.catalog import TableInfo
from timestream_local.exceptions import InternalServerException
from timestream_local.storage.columns import Columns
from timestream_local.storage.database import Database, describe_failure, is_environmental
from timestream_local.storage.descriptions import Descriptions
from timestream_local.storage.memory import MemoryTier
from timestream_local.storage.pending import PendingBatch, PendingWrites
from timestream_local.storage.quarantine import set_aside
from timestream_local.storage.writelog import LogEntry, Position, WriteLog, WriteLogError

log = logging.getLogger(__name__)

# Wake the flusher early once this many rows are pending. Each flush costs a few milliseconds of
# DuckDB statement overhead whatever its size, so at streaming rates fewer, larger flushes are cheaper.
FLUSH_ROWS = 20_000


class Flusher:
    """Pending rows, the write log they are safe in meanwhile, and the thread that commits them."""

    def __init__(
        self,
        database: Database,
        descriptions: Descriptions,
        memory: MemoryTier,
        write_log: WriteLog,
        interval: float,
    ) -> None:
        self._db = database
        self._descriptions = descriptions
        self._memory = memory
        self._log = write_log
        self._interval = interval
        self._pending = PendingWrites()
        self._carry: PendingBatch | None = None  # taken rows a failed commit left (under db_lock)
        # Why writes are refused: _failure until a restart (the database is unusable), _stalled until
        # a commit succeeds again (e.g. its disk was full); _log_trouble only names a failing write log.
        self._failure: str | None = None
        self._stalled: str | None = None
        self._log_trouble: str | None = None
        self._wakeup = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="tsl-flusher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    # ------------------------------------------------------------------------------- appending
    def append(self, table_id: int, indexes: list[int] | None, body: bytes, rows: Columns) -> None:
        """Log a WriteRecords request whose records (all, or those at ``indexes``) are plain appends
        and queue their rows; once this returns the call may answer. Runs under the store lock.
        When the log cannot take the entry, nothing of it stays there and InternalServerException
        names the cause; the next append tries again by itself."""
        seq, position = self._append_log(table_id, indexes, body)
        self._pending.add(table_id, rows, seq, position)
        if self._pending.size >= FLUSH_ROWS:
            self._wakeup.set()

    def _append_log(self, table_id: int, indexes: list[int] | None, body: bytes) -> tuple[int, Position]:
        try:
            logged = self._log.append(table_id, indexes, body)
        except WriteLogError as error:
            if self._log_trouble is None:
                log.error("WriteRecords calls fail: %s; they work again once that is fixed", error)
            self._log_trouble = str(error)
            remedy = "the disk has room" if "is full" in str(error) else "that is fixed"
            raise InternalServerException(
                f"The records were not stored: {error}. Nothing of this call was kept; retry it (writes work "
                f"again by themselves once {remedy})."
            ) from error
        if self._log_trouble is not None:
            log.warning("the write log takes entries again (after: %s)", self._log_trouble)
            self._log_trouble = None
        return logged

    @property
    def accepting(self) -> bool:
        """Whether writes are taken (no failed or stalled commit); check_healthy says why not."""
        return not (self._failure or self._stalled)

    def check_healthy(self) -> None:
        if self._failure:
            raise InternalServerException(
                f"Writes are stopped after a storage failure ({self._failure}); restart the server "
                "(acknowledged writes are kept in the write log)."
            )
        if self._stalled:
            raise InternalServerException(
                f"Writes are paused: acknowledged writes cannot be committed to the database ({self._stalled}). "
                "They are kept in the write log and retried every second; writes resume by themselves once "
                "that is fixed."
            )

    # ---------------------------------------------------------------------------------- replay
    def replay(self, parse: Callable[[LogEntry], Columns]) -> None:
        """Apply the entries that the last run acknowledged but did not commit; ``parse`` reads an
        entry's rows again (the writer's rules). An entry that cannot be parsed again (e.g. rules
        became stricter since) is set aside, not allowed to stop the start."""
        applied = self._db.state("log_applied_seq", 0)
        replayed = 0
        by_id = self._descriptions.by_id()
        for entry in self._log.read_after(applied):
            table = by_id.get(entry.table_id)
            if table is None:  # the table was deleted after the entry was logged
                self._pending.advance(entry.seq)
                continue
            try:
                rows = parse(entry)
            except Exception as error:
                set_aside(
                    self._db.data_dir, table, entry, f"the logged request cannot be read again: {error}"
                )
                self._pending.advance(entry.seq)
                continue
            self._pending.add(entry.table_id, rows, entry.seq, entry.position)
            replayed += rows.count
        if replayed:
            log.info("replaying %d acknowledged records from the write log", replayed)
        try:
            self.flush()
        except InternalServerException as error:
            if self._failure:
                raise
            log.error("%s", error.message)  # the flusher retries; the server starts meanwhile

    # --------------------------------------------------------------------------------- commits
    def sync(self) -> None:
        """Make every acknowledged write visible to queries (called before each query)."""
        self.flush()

    def flush(self, holding_lock: bool = False) -> None:
        """Commit every pending row to DuckDB; on return all acknowledged writes are visible to queries.

        Pending rows are taken and the DuckDB lock acquired while holding the store lock, so commits
        happen in log order; the insert itself runs without the store lock. Rows a failed commit left
        (`_carry`, kept under the DuckDB lock) go first. Raises InternalServerException naming the cause
        when the database cannot commit; the rows then stay pending (and in the log) for the next try.
        """
        if not holding_lock:
            self._db.lock.acquire()
        try:
            batch = self._pending.take()
            segments = self._log.rotate() if batch.last_seq is not None else []
            self._db.db_lock.acquire()
        finally:
            if not holding_lock:
                self._db.lock.release()
        try:
            if self._carry is not None:
                batch, self._carry = self._carry.then(batch), None
            if batch.last_seq is None:
                return
            if self._failure:
                self._carry = batch
                self.check_healthy()
            self._commit(batch)
            if self._stalled:
                log.warning(
                    "committing to the database works again (after: %s); writes resume", self._stalled
                )
                self._stalled = None
        finally:
            self._db.db_lock.release()
        for segment in segments:
            segment.unlink(missing_ok=True)

    def _commit(self, batch: PendingBatch) -> None:
        """One transaction for the whole batch; when DuckDB refuses the rows themselves, entry by entry."""
        sql = self._db.sql
        by_id = self._descriptions.by_id()
        try:
            sql("BEGIN")
            for table_id, rows in batch.tables.items():
                table = by_id.get(table_id)
                if table is not None:
                    self._memory.insert(table, rows)
            self._db.set_state("log_applied_seq", batch.last_seq)
            sql("COMMIT")
        except Exception as error:
            self._db.rollback()
            # the database's memory limit may fit one entry at a time where the whole batch did not
            if is_environmental(error) and not isinstance(error, duckdb.OutOfMemoryException):
                self._hold(batch, error)
            log.warning(
                "committing %d buffered entries failed (%s); applying them one at a time",
                len(batch.entries),
                describe_failure(error),
            )
            self._commit_each(batch, by_id)

    def _commit_each(self, batch: PendingBatch, by_id: dict[int, TableInfo]) -> None:
        """Each entry in its own transaction, in log order; an entry DuckDB refuses is set aside (see
        quarantine.py) and the others are committed, so one bad entry stops neither the flusher, nor
        other tables, nor the next start."""
        sql = self._db.sql
        for number, (seq, table_id, rows, position) in enumerate(batch.each()):
            table = by_id.get(table_id)
            try:
                sql("BEGIN")
                if table is not None:
                    self._memory.insert(table, rows)
                self._db.set_state("log_applied_seq", seq)
                sql("COMMIT")
                continue
            except Exception as error:
                self._db.rollback()
                if is_environmental(error):
                    self._hold(batch.rest(number), error)
                reason = f"the database refused its rows: {describe_failure(error)}"
            try:
                set_aside(self._db.data_dir, table, self._log.read_entry(position), reason)
                sql("BEGIN")
                self._db.set_state("log_applied_seq", seq)
                sql("COMMIT")
            except Exception as error:
                self._db.rollback()
                self._hold(batch.rest(number), error)
        if batch.last_seq is not None and (not batch.entries or batch.last_seq > batch.entries[-1][0]):
            try:
                sql("BEGIN")
                self._db.set_state("log_applied_seq", batch.last_seq)
                sql("COMMIT")
            except Exception as error:
                self._db.rollback()
                self._hold(PendingBatch(last_seq=batch.last_seq), error)

    def _hold(self, batch: PendingBatch, error: BaseException) -> NoReturn:
        """Keep rows a commit could not take for the next try (the log keeps them across restarts) and
        refuse writes meanwhile; raise InternalServerException naming the cause."""
        self._carry = batch
        reason = describe_failure(error)
        if isinstance(error, duckdb.FatalException) or "invalidated" in str(error):
            self._failure = reason
            log.error(
                "the database failed (%s); writes are stopped until a restart, which replays them", reason
            )
        elif self._stalled != reason:
            log.error(
                "committing acknowledged writes to the database failed: %s. They stay in the write log and are "
                "retried every second; writes are refused until then",
                reason,
            )
            self._stalled = reason
        raise InternalServerException(
            f"Acknowledged writes cannot be committed to the database ({reason}); they are kept in the write "
            "log and retried every second."
        ) from error

    def _loop(self) -> None:
        delay = self._interval
        while not self._closed:
            self._wakeup.wait(delay)
            self._wakeup.clear()
            if self._closed:
                return
            delay = self._interval
            if self._failure:
                continue
            try:
                self.flush()
            except Exception:  # logged; the rows stay pending and writes answer with the reason
                delay = min(delay, 1.0)  # retried every second until the database commits again

    # ---------------------------------------------------------------------------------- shutdown
    def close(self, flush: bool = True) -> None:
        """Stop the thread, commit what is pending (unless ``flush`` is False: a start that failed) and
        close the write log; whatever cannot be committed is replayed at the next start."""
        if self._closed:
            return
        self._closed = True
        self._wakeup.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        with self._db.exclusive():
            try:
                if flush and not self._failure:
                    try:
                        self.flush(holding_lock=True)
                    except InternalServerException as error:
                        log.warning("%s They are replayed at the next start.", error.message)
            finally:
                self._log.close()
