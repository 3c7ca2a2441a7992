"""Wires the pieces together and runs the main loop.

Threads: one reader per shard being read, ``writers`` WriteRecords threads, and the main thread,
which flushes due batches, stores checkpoints (after syncing the dead-letter file), starts shards
that became ready, and logs a summary every few seconds. A stop request (SIGTERM, Ctrl-C) stops the
readers, writes everything already read, stores the final checkpoints and returns 0; a second
request gives up waiting (what is unwritten is read again on the next start).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter

from forwarder.awsjson import AwsError
from forwarder.batcher import Batch, Batcher, Item
from forwarder.checkpoint import CheckpointError, CheckpointStore
from forwarder.connect import ConfigError, Settings, connect
from forwarder.deadletter import DeadLetterError, DeadLetterFile
from forwarder.progress import Chunk, Position, Progress
from forwarder.reader import ShardReader, ready_shards
from forwarder.records import InvalidRecord, parse_record
from forwarder.stats import Stats, summary_line, totals_line
from forwarder.writer import StoreHealth, TimestreamWriter, WriteResult

log = logging.getLogger("forwarder")

CHECKPOINT_GRAIN = 500  # records per progress chunk: the checkpoint advances in steps of this size at most


class Forwarder:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stats = Stats()
        self.progress = Progress()
        self._queue: queue.Queue[Batch | None] = queue.Queue()
        self._stop = threading.Event()
        self._abort = threading.Event()
        self._lock = threading.Lock()
        self._readers: dict[str, ShardReader] = {}
        self._ended: list[str] = []
        self._failed: list[str] = []
        self._committed: dict[str, Position] = {}
        self._opened = False
        self._store_health = StoreHealth()  # shared by the writer threads

    # ----------------------------------------------------------------- setup
    def open(self) -> None:
        """Check the configuration and connect; ConfigError says what to fix."""
        s = self.settings
        try:
            self.checkpoints = CheckpointStore(s.checkpoint_dir, s.stream, s.database, s.table)
        except CheckpointError as error:
            raise ConfigError(f"{error}; choose a writable --checkpoint-dir") from None
        try:
            self.dead_letters = DeadLetterFile(s.dead_letter_path)
        except DeadLetterError as error:
            raise ConfigError(f"{error}; choose a writable --dead-letter path") from None
        connections = connect(s)
        self.kinesis = connections.kinesis
        self.timestream = connections.timestream
        self.stream_created = connections.stream_created
        self._opened = True

    # ----------------------------------------------------------------- records in
    def _handle(self, shard_id: str, records: list[tuple[bytes, str, float | None]]) -> None:
        items: list[Item] = []
        invalid = 0
        # Small chunks let a shard's checkpoint follow the writes closely (less to read again after a crash).
        read_at = time.time()
        for start in range(0, len(records), CHECKPOINT_GRAIN):
            part = records[start : start + CHECKPOINT_GRAIN]
            arrival = part[0][2]
            chunk = self.progress.read(
                shard_id, part[-1][1], len(part), read_at if arrival is None else float(arrival)
            )
            for data, sequence_number, _arrival in part:
                try:
                    reading = parse_record(data)
                except InvalidRecord as error:
                    reason = str(error)
                except Exception as error:  # a bug must not stop the pipeline: the record is kept aside
                    log.exception("shard %s: record %s could not be parsed", shard_id, sequence_number)
                    reason = f"internal error while parsing: {error!r}"
                else:
                    items.append(Item(reading, data, shard_id, sequence_number, chunk))
                    continue
                invalid += 1
                self._dead_letter(data, reason, shard_id, sequence_number)
                self.progress.settle(chunk)
        self.stats.add(read=len(records), invalid=invalid)
        self.batcher.add(items)

    def _dead_letter(self, data: bytes, reason: str, shard_id: str, sequence_number: str) -> None:
        attempt = 0
        while True:
            try:
                if self.dead_letters.write(
                    data=data,
                    reason=reason,
                    stream=self.settings.stream,
                    shard_id=shard_id,
                    sequence_number=sequence_number,
                ):
                    self.stats.add(dead_lettered=1)
                return
            except OSError as error:  # disk full...: keep the record until it can be set aside
                attempt += 1
                if attempt == 1 or attempt % 30 == 0:
                    log.warning("cannot write to the dead-letter file (%s); retrying", error)
                time.sleep(1)

    # ----------------------------------------------------------------- records out
    def _write_loop(self) -> None:
        writer = TimestreamWriter(
            self.timestream,
            self.settings.database,
            self.settings.table,
            on_retry=lambda: self.stats.add(retries=1),
            abort=self._abort,
            health=self._store_health,
        )
        while True:
            batch = self._queue.get()
            if batch is None:
                return
            try:
                result = writer.write(batch.entries)
                self._deliver(batch, result)
            except AwsError:
                return  # aborted: the records stay unsettled and are read again next time
            except Exception:  # a bug: stop cleanly; the checkpoints never passed these records
                log.exception("writing a batch failed unexpectedly")
                with self._lock:
                    self._failed.append("writer")
                self._abort.set()  # its records can no longer settle: do not wait for them
                return

    def _deliver(self, batch: Batch, result: WriteResult) -> None:
        settled: Counter[Chunk] = Counter()
        written = sum(len(entry.items) for entry in result.stored)
        duplicates = sum(len(entry.items) for entry in result.duplicates)
        rejected = 0
        for entry, reason in result.refused:
            for item in entry.items:
                rejected += 1
                self._dead_letter(item.data, reason, item.shard_id, item.sequence_number)
        done = batch
        if result.unsettled:  # tried again after the batches already waiting (writer.py says why)
            waiting = {id(entry) for group in result.unsettled for entry in group}
            done = Batch([entry for entry in batch.entries if id(entry) not in waiting])
            for group in result.unsettled:
                self._queue.put(Batch(group))
        for entry in done.entries:
            for item in entry.items:
                settled[item.chunk] += 1
        self.stats.add(written=written, duplicates=duplicates, rejected=rejected)
        for chunk, count in settled.items():
            self.progress.settle(chunk, count)
        self.batcher.done(done)

    # ----------------------------------------------------------------- shards
    def _start_reader(self, shard_id: str) -> None:
        start = self._committed.get(shard_id)
        reader = ShardReader(
            self.kinesis,
            shard_id,
            start,
            handle=self._handle,
            on_end=self._on_end,
            on_lag=self.stats.set_lag,
            wait_for_room=lambda timeout: self.progress.wait_for_room(self.settings.max_pending, timeout),
            stop=self._stop,
            limit=self.settings.get_records_limit,
        )
        original_run = reader.run

        def guarded_run() -> None:
            try:
                original_run()
            except Exception:
                log.exception("shard %s: reader failed", shard_id)
                with self._lock:
                    self._failed.append(f"reader of shard {shard_id}")

        reader.run = guarded_run  # type: ignore[method-assign]
        where = "from its start" if start is None else f"from {start.kind} {start.value}"
        log.info("reading shard %s %s", shard_id, where)
        self._readers[shard_id] = reader
        reader.start()

    def _on_end(self, shard_id: str) -> None:
        log.info("shard %s is closed (resharding); its children start once its records are written", shard_id)
        self.progress.end(shard_id)
        self.stats.forget_shard(shard_id)
        with self._lock:
            self._ended.append(shard_id)

    def _refresh_shards(self) -> None:
        try:
            shards = self.kinesis.list_shards()
        except AwsError as error:
            log.warning("cannot list the shards of %s (%s); trying again later", self.settings.stream, error)
            return
        for shard_id in ready_shards(shards, self._committed, set(self._readers)):
            self._start_reader(shard_id)

    def _initial_positions(self) -> None:
        if not self.checkpoints.check_stream(self.stream_created):
            log.warning(
                "stream %s was created again since the last run; its old checkpoints no longer apply",
                self.settings.stream,
            )
        self._committed = self.checkpoints.load()
        if self._committed or self.settings.start_position != "LATEST":
            return
        # First run from LATEST: pin "now" durably, so records arriving during a restart are not skipped.
        now = f"{time.time():.3f}"
        positions = {}
        for shard in self.kinesis.list_shards():
            closed = shard.get("SequenceNumberRange", {}).get("EndingSequenceNumber") is not None
            positions[shard["ShardId"]] = Position.end() if closed else Position(Position.AT_TIMESTAMP, now)
        self.checkpoints.save(positions)
        self._committed = dict(positions)

    def _checkpoint(self) -> bool:
        """Store the positions that moved; True when a shard became finished."""
        moved = self.progress.take_checkpoints()
        if not moved:
            return False
        try:
            self.dead_letters.sync()
            self.checkpoints.save(moved)
        except (OSError, CheckpointError) as error:
            self.progress.restore(moved)
            log.warning("cannot store checkpoints (%s); will try again", error)
            return False
        self._committed.update(moved)
        return any(position.finished for position in moved.values())

    # ----------------------------------------------------------------- main loop
    @property
    def queued_batches(self) -> int:
        """Batches formed and waiting for a writer thread (a gauge for benchmarks)."""
        return self._queue.qsize()

    def lag_ms(self) -> float:
        """How far behind the stream what is written to Timestream is: the age of the oldest record read
        but not yet written (it grows while writing stalls), or the readers' lag behind the stream's
        tip when that is larger (MillisBehindLatest, or the age of the newest record read)."""
        oldest = self.progress.oldest_unsettled_arrival()
        unwritten = 0.0 if oldest is None else max(0.0, (time.time() - oldest) * 1000)
        return max(unwritten, self.stats.lag)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def request_stop(self) -> None:
        if self._stop.is_set():
            self._abort.set()
        else:
            self._stop.set()

    def run(self) -> int:
        if not self._opened:
            self.open()
        s = self.settings
        self.batcher = Batcher(
            self._queue.put,
            flush_interval=s.flush_interval,
            multi_measure_name=s.multi_measure_name,
        )
        writers = [
            threading.Thread(target=self._write_loop, name=f"writer-{n}", daemon=True)
            for n in range(s.writers)
        ]
        for thread in writers:
            thread.start()
        try:
            self._initial_positions()
        except (AwsError, CheckpointError) as error:
            raise ConfigError(f"cannot read the shards of {s.stream!r} ({error})") from None
        log.info(
            "forwarding Kinesis stream %s to Timestream %s.%s; checkpoints in %s, dead letters to %s",
            s.stream,
            s.database,
            s.table,
            self.checkpoints.path,
            self.dead_letters.path,
        )
        started = time.monotonic()
        tick = min(0.05, s.flush_interval / 4)
        next_refresh = 0.0
        next_summary = started + s.summary_interval
        next_checkpoint = started + s.checkpoint_interval
        last_counts, last_summary = self.stats.snapshot(), started
        exit_code = 0
        while not self._stop.is_set():
            self.batcher.flush_due()
            now = time.monotonic()
            with self._lock:
                ended, self._ended = bool(self._ended), []
                failed = list(self._failed)
            if failed:
                log.error("stopping: the %s failed (see above)", failed[0])
                exit_code = 1
                break
            if now >= next_checkpoint or ended:
                if self._checkpoint() or ended:
                    next_refresh = 0.0
                next_checkpoint = now + s.checkpoint_interval
            if now >= next_refresh:
                self._refresh_shards()
                next_refresh = now + s.shard_refresh_interval
            if now >= next_summary:
                counts = self.stats.snapshot()
                log.info(
                    summary_line(
                        last_counts,
                        counts,
                        now - last_summary,
                        lag_ms=self.lag_ms(),
                        pending=self.progress.pending,
                        shards=sum(1 for reader in self._readers.values() if reader.is_alive()),
                    )
                )
                last_counts, last_summary, next_summary = counts, now, now + s.summary_interval
            self._stop.wait(tick)
        with self._lock:
            if self._failed:
                exit_code = 1
        return self._shutdown(writers, exit_code)

    def _shutdown(self, writers: list[threading.Thread], exit_code: int) -> int:
        self._stop.set()
        pending = self.progress.pending
        log.info("stopping: no more reading; writing the %d records already read", pending)
        for reader in self._readers.values():
            reader.join(timeout=40)
        next_note = time.monotonic() + 5
        while not self._abort.is_set():
            self.batcher.flush()
            if self.progress.wait_settled(0.1):
                break
            if time.monotonic() >= next_note:
                log.info(
                    "stopping: %d records still to write (stop again to quit without them)",
                    self.progress.pending,
                )
                next_note = time.monotonic() + 5
            self._checkpoint()
        for _ in writers:
            self._queue.put(None)
        if not self._abort.is_set():
            for thread in writers:
                thread.join(timeout=10)
        self._checkpoint()
        self.dead_letters.close()
        self.checkpoints.close()
        unwritten = self.progress.pending
        if unwritten:
            log.warning("stopped with %d records unwritten; they are read again on the next start", unwritten)
            exit_code = exit_code or 1
        log.info("stopped; totals: %s", totals_line(self.stats.snapshot()))
        return exit_code
