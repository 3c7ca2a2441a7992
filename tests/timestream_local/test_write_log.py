"""The write log's integrity: a full disk, damaged bytes, torn tails and entries the store cannot apply.

The server tests talk to a real timestream_local over HTTP through boto3. Offsets are computed here
from the segment format that timestream_local/writelog.py documents (an 8-byte segment header, then
per entry a 24-byte header, its CRC-32, the indexes, the body and a CRC-32) and from the file sizes
observed after each acknowledged call, not taken from the code under test.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shlex
import struct
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import boto3
import pytest

from tests.services import ROOT, start_timestream_local
from tests.timestream_local.store_helpers import create_table, now_ms, query_rows
from tests.timestream_local.test_upgrade import _layout_1
from timestream_local.domain.records import RecordParser, parse_write_request
from timestream_local.storage.columns import Columns
from timestream_local.storage.writelog import WriteLog, WriteLogDamaged
from timestream_local.store import Store

SEGMENT_HEADER = 8  # b"TSLWAL2\n"
BATCH = 100


def _clients(service):
    kwargs = {"endpoint_url": service.url, "region_name": "us-east-1"}
    return boto3.client("timestream-write", **kwargs), boto3.client("timestream-query", **kwargs)


def _records(batch: int, start_ms: int) -> list[dict]:
    return [
        {
            "Dimensions": [{"Name": "location", "Value": f"s{i}"}, {"Name": "batch", "Value": str(batch)}],
            "MeasureName": "pm2.5",
            "MeasureValue": str(batch),
            "MeasureValueType": "BIGINT",
            "Time": str(start_ms + batch),
        }
        for i in range(BATCH)
    ]


def _stored_batches(service, database: str, table: str) -> dict[int, int]:
    _, query = _clients(service)
    rows = query_rows(query, f'SELECT batch, count(*) AS n FROM "{database}"."{table}" GROUP BY batch')
    return {int(r["batch"]): int(r["n"]) for r in rows}


def _serve_argv(data_dir: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "timestream_local",
        "serve",
        "--port",
        "0",
        "--data-dir",
        str(data_dir),
        *extra,
    ]


def _refused_start(data_dir: Path, seconds: float = 60) -> str:
    """Start the server on a data dir it must refuse; its output (fails at once if it starts serving)."""
    output = data_dir.parent / "refused.log"
    with output.open("wb") as sink:
        process = subprocess.Popen(_serve_argv(data_dir), cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + seconds
    try:
        while process.poll() is None and time.monotonic() < deadline:
            if "listening on" in output.read_text(errors="replace"):
                break
            time.sleep(0.05)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
    text = output.read_text(errors="replace")
    assert process.returncode == 2, f"the server did not refuse to start:\n{text}"
    return text


def _logged_batches(tmp_path: Path, batches: int):
    """A data dir whose write log holds the acknowledged, not yet applied calls for batches 1..`batches`
    (the server commits only once an hour and is killed; batch 0 added the table's columns, which is
    committed at once), and where the entry of batch b starts in the one segment: starts[b]."""
    data_dir = tmp_path / "data"
    service = start_timestream_local(data_dir, extra_args=["--flush-interval", "3600"])
    try:
        write, _ = _clients(service)
        database, table = create_table(write)
        start = now_ms() - 60_000
        write.write_records(DatabaseName=database, TableName=table, Records=_records(0, start))
        assert not list((data_dir / "wal").glob("*.log"))
        starts = {1: SEGMENT_HEADER}
        for batch in range(1, batches + 1):
            write.write_records(DatabaseName=database, TableName=table, Records=_records(batch, start))
            (segment,) = (data_dir / "wal").glob("*.log")
            starts[batch + 1] = segment.stat().st_size  # the entry was written before the answer
    finally:
        service.stop(kill=True)
    return data_dir, segment, starts, database, table


# ------------------------------------------------------------------------------------ a full disk
WRITER = textwrap.dedent(
    """
    import sys, time, boto3
    from botocore.config import Config
    url, database, table, start_ms = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    client = boto3.client("timestream-write", endpoint_url=url, region_name="us-east-1",
                          config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=10))
    batch = 0
    while True:
        records = [{"Dimensions": [{"Name": "location", "Value": f"s{i}"}, {"Name": "batch", "Value": str(batch)}],
                    "MeasureName": "pm2.5", "MeasureValue": str(batch), "MeasureValueType": "BIGINT",
                    "Time": str(start_ms + batch)} for i in range(100)]
        try:
            client.write_records(DatabaseName=database, TableName=table, Records=records)
        except client.exceptions.ClientError as error:
            print("error", batch, error.response["Error"]["Code"], error.response["Error"]["Message"], flush=True)
        except Exception as error:  # the server went away: this call's outcome is unknown
            print("unknown", batch, type(error).__name__, flush=True)
            break
        else:
            print("ok", batch, flush=True)
        batch += 1
        time.sleep(0.02)
    """
)


class _Writer:
    """The writer process and what it has reported so far."""

    def __init__(self, argv: list[str]) -> None:
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.ok: list[int] = []
        self.errors: list[tuple[int, str]] = []
        self.unknown: list[int] = []

    def _take(self, line: str) -> None:
        kind, batch, *rest = line.split(" ", 2)
        if kind == "ok":
            self.ok.append(int(batch))
        elif kind == "error":
            self.errors.append((int(batch), rest[0]))
        else:
            self.unknown.append(int(batch))

    def until(self, done, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while not done():
            line = self.process.stdout.readline()
            assert line and time.monotonic() < deadline, (
                f"the writer stopped or stalled: {len(self.ok)} ok, {len(self.errors)} errors; "
                f"stderr: {self.process.stderr.read() if not line else ''}"
            )
            self._take(line.strip())

    def finish(self) -> None:
        out, _err = self.process.communicate(timeout=60)
        for line in out.splitlines():
            self._take(line.strip())


def _mount_small_disk(where: Path, size: str) -> None:
    where.mkdir()
    try:
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
            check=True,
            capture_output=True,
            text=True,
        )
    except (OSError, subprocess.CalledProcessError) as error:
        reason = getattr(error, "stderr", None) or error
        pytest.skip(f"cannot mount a small tmpfs to fill (needs root or CAP_SYS_ADMIN): {reason}")


def _fill(disk: Path, name: str = "filler") -> Path:
    """Take every free byte of the disk."""
    filler = disk / name
    with filler.open("ab", buffering=0) as file:
        chunk = b"\0" * 65536
        try:
            while True:
                file.write(chunk)
        except OSError as error:
            assert error.errno == 28, error
    return filler


def _wait_for_a_write(write, database: str, table: str, seconds: float = 30) -> None:
    """Retry one WriteRecords until it succeeds (a paused store resumes by itself)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            write.write_records(
                DatabaseName=database, TableName=table, Records=_records(999_997, now_ms() - 999_997)
            )
            return
        except write.exceptions.InternalServerException:
            assert time.monotonic() < deadline, "writes did not resume after space returned"
            time.sleep(0.2)


@pytest.mark.slow
def test_a_full_disk_fails_writes_naming_the_cause_and_loses_no_acknowledged_record(tmp_path):
    disk = tmp_path / "disk"
    _mount_small_disk(disk, "24m")
    service = writer = None
    try:
        service = start_timestream_local(disk)  # its log goes next to the mount point, not onto it
        write, _ = _clients(service)
        database, table = create_table(write)
        writer = _Writer(
            [sys.executable, "-c", WRITER, service.url, database, table, str(now_ms() - 600_000)]
        )
        writer.until(lambda: len(writer.ok) >= 20)
        filler = _fill(disk)
        writer.until(lambda: len(writer.errors) >= 10)
        filler.unlink()  # space returns: writing must resume without a restart
        writer.until(lambda: writer.ok[-1] > writer.errors[-1][0] + 20)
        filler = _fill(disk)  # full again, and killed while full
        errors = len(writer.errors)
        writer.until(lambda: len(writer.errors) >= errors + 5)
        service.stop(kill=True)
        writer.finish()

        # A start on the full disk either refuses with one clear sentence (when even its own first
        # commit fails) or starts; then writes fail naming the cause until space returns, and resume
        # by themselves. Either way nothing acknowledged is lost.
        try:
            service = start_timestream_local(disk)
        except RuntimeError as refused:
            message = str(refused)
            assert "cannot open the store" in message and "is full (ENOSPC" in message, message
            assert "Traceback" not in message, message
            filler.unlink()
            service = start_timestream_local(disk)
        else:  # DuckDB checkpoints its own WAL when it opens, which may free some space: take it too
            more = _fill(disk, "more")
            write, _ = _clients(service)
            with pytest.raises(write.exceptions.InternalServerException, match=r"is full \(ENOSPC"):
                write.write_records(
                    DatabaseName=database, TableName=table, Records=_records(999_998, now_ms() - 999_998)
                )
            filler.unlink()
            more.unlink()
            _wait_for_a_write(write, database, table)
        stored = _stored_batches(service, database, table)
        assert stored.pop(999_997, BATCH) == BATCH  # the probe of a start with writes paused
        lost = [b for b in writer.ok if stored.get(b) != BATCH]
        assert not lost, (
            f"acknowledged batches lost or partial: {lost[:10]} ({len(lost)} of {len(writer.ok)})"
        )
        refused = {b for b, _ in writer.errors}
        assert not refused & set(stored), "a call that failed left records behind"
        assert set(stored) <= set(writer.ok) | set(writer.unknown)
        assert all(n == BATCH for n in stored.values()), "a batch was applied twice"
        for _batch, message in writer.errors:
            assert message.startswith("InternalServerException "), message
            assert "is full (ENOSPC" in message, message
        write, _ = _clients(service)
        write.write_records(
            DatabaseName=database, TableName=table, Records=_records(999_999, now_ms() - 999_999)
        )
    finally:
        if writer is not None and writer.process.poll() is None:
            writer.process.kill()
            writer.process.wait(timeout=10)
        if service is not None:
            service.stop()
        subprocess.run(["umount", "-l", str(disk)], check=False, capture_output=True)


# ------------------------------------------------------------------------------------ damaged bytes
@pytest.mark.parametrize("damage", ["a byte in the middle of an entry", "a length that runs past the end"])
def test_damage_inside_the_log_stops_the_start_naming_file_and_offset_and_drops_nothing(tmp_path, damage):
    data_dir, segment, starts, database, table = _logged_batches(tmp_path, 10)
    original = segment.read_bytes()
    damaged = bytearray(original)
    entry = 4
    if damage.startswith("a byte"):
        damaged[(starts[entry] + starts[entry + 1]) // 2] ^= 0x10
    else:  # the body length (the header's last u32) gets a leading 9: ten times the file's size
        length_at = starts[entry] + 20
        (length,) = struct.unpack_from("<I", damaged, length_at)
        struct.pack_into("<I", damaged, length_at, int(f"9{length}"))
        assert int(f"9{length}") > len(original)
    segment.write_bytes(damaged)

    output = _refused_start(data_dir)
    assert f"{segment} is damaged at byte {starts[entry]}" in output, output
    assert f"truncate -s {starts[entry]} {segment}" in output
    assert "Traceback" not in output
    assert segment.read_bytes() == damaged, "the refused start changed the log"

    segment.write_bytes(original)  # the damage undone: every acknowledged record is still there
    service = start_timestream_local(data_dir)
    try:
        assert _stored_batches(service, database, table) == dict.fromkeys(range(11), BATCH)
    finally:
        service.stop()


def test_following_the_message_keeps_the_entries_before_the_damage(tmp_path):
    data_dir, segment, starts, database, table = _logged_batches(tmp_path, 6)
    damaged = bytearray(segment.read_bytes())
    damaged[starts[3] + 30] ^= 0xFF
    segment.write_bytes(damaged)
    output = _refused_start(data_dir)
    command = re.search(r"`(truncate -s \d+ \S+)`", output).group(1)
    subprocess.run(shlex.split(command), check=True)
    service = start_timestream_local(data_dir)
    try:
        assert _stored_batches(service, database, table) == dict.fromkeys(range(3), BATCH)  # 0-2 of 0-6
    finally:
        service.stop()


def test_a_torn_tail_is_dropped_with_a_log_line_and_the_rest_replayed(tmp_path):
    data_dir, segment, starts, database, table = _logged_batches(tmp_path, 6)
    whole = segment.read_bytes()
    entry = whole[starts[2] : starts[3]]  # the entry of batch 2
    with segment.open("ab") as file:  # half an entry at the very end: a write cut short by a crash
        file.write(entry[: len(entry) // 2])
    service = start_timestream_local(data_dir, extra_args=["--flush-interval", "3600"])
    try:
        dropped = f"dropping {len(entry) // 2} bytes at the end of {segment} from byte {starts[7]}"
        assert dropped in service.log()
        assert _stored_batches(service, database, table) == dict.fromkeys(range(7), BATCH)
        write, _ = _clients(service)  # later entries are not appended after the cut-off tail
        write.write_records(DatabaseName=database, TableName=table, Records=_records(7, now_ms() - 60_000))
    finally:
        service.stop(kill=True)
    service = start_timestream_local(data_dir)
    try:
        assert _stored_batches(service, database, table) == dict.fromkeys(range(8), BATCH)
        assert "damaged" not in service.log()
    finally:
        service.stop()


def test_an_older_stores_text_log_is_replayed_after_the_layout_upgrade(tmp_path):
    """What a killed older version leaves: a layout-1 data directory whose write log (text headers, no
    checksums) holds acknowledged entries not yet applied, the last one cut short."""
    data_dir = tmp_path / "data"
    now = time.time_ns()
    _layout_1(data_dir, now)
    folder = data_dir / "wal"
    folder.mkdir()
    entries = b""
    for seq, location in ((1, "f"), (2, "g")):
        body = json.dumps({
            "DatabaseName": "iot", "TableName": "pm25",
            "CommonAttributes": {"MeasureName": "pm2.5", "MeasureValueType": "BIGINT", "TimeUnit": "NANOSECONDS"},
            "Records": [{
                "Dimensions": [{"Name": "city", "Value": "Beijing"}, {"Name": "location", "Value": location}],
                "MeasureValue": str(seq * 10), "Time": str(now - seq),
            }],
        }).encode()  # fmt: skip
        entries += f"{seq} 1 {len(body)} null\n".encode() + body + b"\n"
    (folder / f"{1:020d}.log").write_bytes(entries + b"3 1 400 null\n{")
    service = start_timestream_local(data_dir)
    try:
        _, query = _clients(service)
        rows = query_rows(
            query, "SELECT location, measure_value::bigint AS v FROM iot.pm25 ORDER BY location"
        )
        assert [(r["location"], r["v"]) for r in rows] == [
            ("a", "1"), ("b", "2"), ("c", None), ("d", "4"), ("e", None), ("f", "10"), ("g", "20"),
        ]  # fmt: skip
        assert f"at the end of {folder / f'{1:020d}.log'} from byte {len(entries)}" in service.log()
    finally:
        service.stop()


# ------------------------------------------------------------------------ entries that cannot be applied
def test_a_logged_entry_that_cannot_be_read_again_is_set_aside_and_the_start_goes_on(tmp_path):
    """E.g. a write accepted by an older version whose rules are stricter now: the start must not stop."""
    data_dir = tmp_path / "data"
    service = start_timestream_local(data_dir, extra_args=["--flush-interval", "3600"])
    try:
        write, _ = _clients(service)
        database, table = create_table(write)
        _, other = create_table(write, database=database)
        start = now_ms() - 60_000
        for batch in range(3):
            write.write_records(DatabaseName=database, TableName=table, Records=_records(batch, start))
            write.write_records(DatabaseName=database, TableName=other, Records=_records(batch, start))
    finally:
        service.stop(kill=True)
    log = WriteLog(data_dir / "wal")
    table_id = next(e.table_id for e in log.read_after(0) if json.loads(e.body)["TableName"] == table)
    bad = _records(3, start)
    bad[7]["MeasureValue"] = "not a number"
    body = json.dumps({"DatabaseName": database, "TableName": table, "Records": bad}).encode()
    seq, _ = log.append(table_id, None, body)
    log.append(
        table_id,
        None,
        json.dumps({"DatabaseName": database, "TableName": table, "Records": _records(4, start)}).encode(),
    )
    log.close()

    service = start_timestream_local(data_dir)
    try:
        set_aside = json.loads((data_dir / "quarantine" / f"{seq:020d}.json").read_text())
        assert set_aside["seq"] == seq
        assert (set_aside["database"], set_aside["table"]) == (database, table)
        assert "not a number" in set_aside["reason"]
        assert set_aside["request"]["Records"] == bad
        assert f"acknowledged write-log entry {seq} for {database}.{table} cannot be applied" in service.log()
        assert _stored_batches(service, database, table) == {0: BATCH, 1: BATCH, 2: BATCH, 4: BATCH}
        assert _stored_batches(service, database, other) == dict.fromkeys(range(3), BATCH)
        write, _ = _clients(service)
        write.write_records(DatabaseName=database, TableName=other, Records=_records(5, now_ms()))
    finally:
        service.stop()
    service = start_timestream_local(data_dir)  # the entry is behind the applied mark now
    try:
        assert service.log().count("cannot be applied") == 0
        assert len(list((data_dir / "quarantine").iterdir())) == 1
    finally:
        service.stop()


def test_rows_the_database_refuses_are_set_aside_and_the_flusher_goes_on_for_every_table(tmp_path, caplog):
    """The safety net under the write rules: a buffered entry whose rows DuckDB refuses (here a text in
    a BIGINT column, as a validation bug would let through) must not stop the flusher, other entries of
    its table, other tables or the next start. Such an entry cannot be sent over HTTP once the rules
    are right, so this runs the store in-process and hands it the rows directly."""
    caplog.set_level(logging.ERROR, "timestream_local.storage")
    store = Store(tmp_path / "data", flush_interval=3600)
    try:
        store.catalogue.create_database("db1")
        first = store.catalogue.create_table("db1", "first")
        second = store.catalogue.create_table("db1", "second")
        start = now_ms() - 60_000

        def write(table: str, batch: int) -> None:
            raw = json.dumps({"DatabaseName": "db1", "TableName": table, "Records": _records(batch, start)})
            request = parse_write_request(json.loads(raw), raw.encode())
            outcome, rejections = store.writer.write_records(request)
            assert (outcome.total, rejections) == (BATCH, [])

        write("first", 0)
        write("second", 0)
        raw = json.dumps({"DatabaseName": "db1", "TableName": "first", "Records": _records(1, start)})
        request = parse_write_request(json.loads(raw), raw.encode())
        parser = RecordParser({}, set())
        poison = [parser.parse(i, r) for i, r in enumerate(request.records)]
        poison[3].values = {"measure_value::bigint": "abc"}
        with store.database.exclusive():
            store.flusher.append(first.id, None, request.raw, Columns.from_records(poison))
        write("first", 2)
        write("second", 1)

        store.flusher.sync()  # the flusher's commit: must go through for everything else

        def counts(table) -> dict[int, int]:
            rows = store.database.sql(f"SELECT batch, count(*) FROM {table.view} GROUP BY batch")
            return {int(b): n for b, n in rows}

        assert counts(first) == {0: BATCH, 2: BATCH}
        assert counts(second) == {0: BATCH, 1: BATCH}
        (set_aside,) = (tmp_path / "data" / "quarantine").iterdir()
        document = json.loads(set_aside.read_text())
        assert (
            "ConversionException" in document["reason"] and document["request"]["Records"] == request.records
        )
        assert any("cannot be applied" in r.getMessage() for r in caplog.records)
        write("first", 3)  # writes go on
        store.flusher.sync()
        assert counts(first) == {0: BATCH, 2: BATCH, 3: BATCH}
    finally:
        store.close()
    store = Store(tmp_path / "data", flush_interval=3600)  # the next start replays nothing twice
    try:
        rows = store.database.sql(f"SELECT count(*) FROM {first.mem_table}")
        assert rows == [(3 * BATCH,)]
    finally:
        store.close()


# ------------------------------------------------------------------------------------ units
def test_entries_round_trip_and_a_torn_tail_is_cut_off(tmp_path, caplog):
    log = WriteLog(tmp_path / "wal")
    first, _ = log.append(1, None, b'{"Records": [1]}')
    second, _ = log.append(2, [0, 2], b'{"Records": [2]}')
    log.close()
    (segment,) = log.segments()
    size = segment.stat().st_size
    with segment.open("ab") as file:
        file.write(segment.read_bytes()[SEGMENT_HEADER : SEGMENT_HEADER + 30])  # an entry cut short
    log = WriteLog(tmp_path / "wal")
    entries = log.read_after(0)
    assert [(e.seq, e.table_id, e.indexes, e.body) for e in entries] == [
        (first, 1, None, b'{"Records": [1]}'),
        (second, 2, [0, 2], b'{"Records": [2]}'),
    ]
    assert segment.stat().st_size == size
    assert f"dropping 30 bytes at the end of {segment} from byte {size}" in caplog.text
    third, _ = log.append(1, None, b"{}")
    log.close()
    assert [e.seq for e in WriteLog(tmp_path / "wal").read_after(first)] == [second, third]


def test_a_zero_filled_tail_is_a_torn_tail_but_a_bad_last_entry_is_damage(tmp_path):
    log = WriteLog(tmp_path / "wal")
    log.append(1, None, b"{}")
    log.close()
    (segment,) = log.segments()
    whole = segment.read_bytes()
    segment.write_bytes(whole + bytes(100))  # blocks allocated but never written (power loss)
    assert [e.seq for e in WriteLog(tmp_path / "wal").read_after(0)] == [1]
    assert segment.read_bytes() == whole
    segment.write_bytes(whole[:-1] + bytes([whole[-1] ^ 1]))  # whole, but its checksum is wrong
    with pytest.raises(
        WriteLogDamaged, match=f"{re.escape(str(segment))} is damaged at byte {SEGMENT_HEADER}"
    ):
        WriteLog(tmp_path / "wal").read_after(0)


def test_an_entry_cut_short_in_a_segment_that_is_not_the_last_is_damage(tmp_path):
    log = WriteLog(tmp_path / "wal")
    log.append(1, None, b'{"a": 1}')
    log.append(1, None, b'{"a": 2}')
    log.close()
    (older,) = log.segments()
    log = WriteLog(tmp_path / "wal")
    log.last_seq = 2
    log.append(1, None, b'{"a": 3}')  # a new segment
    log.close()
    whole = older.read_bytes()
    older.write_bytes(whole[:-3])
    with pytest.raises(WriteLogDamaged, match="later segments follow"):
        WriteLog(tmp_path / "wal").read_after(0)


def test_segments_of_the_earlier_text_format_are_still_read(tmp_path):
    folder = tmp_path / "wal"
    folder.mkdir()
    old = folder / f"{1:020d}.log"
    old.write_bytes(b'1 1 16 null\n{"Records": [1]}\n2 3 2 [0,2]\n{}\n3 1 500 null\n{"Rec')
    log = WriteLog(folder)
    assert [(e.seq, e.table_id, e.indexes, e.body) for e in log.read_after(0)] == [
        (1, 1, None, b'{"Records": [1]}'),
        (2, 3, [0, 2], b"{}"),
    ]
    assert old.read_bytes().endswith(b"\n{}\n")  # the torn tail was cut off
    seq, position = log.append(1, None, b"{}")
    assert (seq, position[0].name) == (3, f"{3:020d}.log")


APPEND_UNDER_A_FILE_SIZE_LIMIT = textwrap.dedent(
    """
    import resource, signal, sys
    from pathlib import Path
    from timestream_local.storage.writelog import WriteLog, WriteLogError
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG instead
    log = WriteLog(Path(sys.argv[1]))
    log.append(1, None, b"x" * 1000)
    (segment,) = log.segments()
    good = segment.stat().st_size
    resource.setrlimit(resource.RLIMIT_FSIZE, (good + 500, resource.RLIM_INFINITY))
    try:
        log.append(1, None, b"y" * 1000)  # half of it fits
    except WriteLogError as error:
        print("error:", error)
    print("size after the failed append:", segment.stat().st_size, "good:", good)
    resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    print("seq:", log.append(1, None, b"z" * 1000)[0])
    log.close()
    print("read:", [(e.seq, e.body[:1]) for e in WriteLog(Path(sys.argv[1])).read_after(0)])
    """
)


def test_a_failed_append_is_cut_back_before_the_next_one(tmp_path):
    """The file-size limit (RLIMIT_FSIZE) makes write() stop half way, as a full disk does."""
    done = subprocess.run(
        [sys.executable, "-c", APPEND_UNDER_A_FILE_SIZE_LIMIT, str(tmp_path / "wal")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    lines = done.stdout.splitlines()
    assert lines[0].startswith("error: the write log cannot be written (EFBIG: File too large) while writing")
    size, good = re.findall(r"\d+", lines[1])
    assert size == good
    assert lines[2:] == ["seq: 2", "read: [(1, b'x'), (2, b'z')]"]
