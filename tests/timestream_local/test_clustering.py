"""The stored layout serves queries about one station: rows are kept sorted by series within time
blocks in the memory tier and within each hour of each Parquet file, so DuckDB's zone maps (each row group's
minimum and maximum per column) skip the row groups of other stations. Reordering must never lose,
duplicate or change a row, and must give way to a writer that changes the same rows meanwhile.

The data: up to 1,000 stations in 7 cities, one reading per second, stored in time order as a
forwarder's writes arrive: 10 minutes are 600,000 rows, about five row groups of 122,880.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb
import pytest

from timestream_local.catalog import VERSION_KEY
from timestream_local.models import Retention, WriteRequest
from timestream_local.query import execute_query
from timestream_local.query.engine import compile_query
from timestream_local.query.translate import bind_now, bind_tables
from timestream_local.storage import mover as mover_module
from timestream_local.storage.columns import Columns
from timestream_local.storage.mover import CLUSTER_LATE_NS, CLUSTER_SPANS_NS
from timestream_local.store import Store

SECOND_NS = 1_000_000_000
NOW_NS = 1_795_000_200 * SECOND_NS  # a fixed "now"; 1_795_000_200 s is a multiple of 600 s
START_NS = NOW_NS - 3600 * SECOND_NS  # second 0 of the data: an hour ago, every block closed
# stations whose names sort neither with their number nor with their city (as real names do not)
STATIONS = [(f"city{n % 7}", f"{n * 37 % 1000:03d} station") for n in range(1000)]


def _record(city: str, location: str, value: int, time_ns: int, **extra) -> dict:
    return {
        "Dimensions": [{"Name": "city", "Value": city}, {"Name": "location", "Value": location}],
        "MeasureName": "pm2.5",
        "MeasureValue": str(value),
        "MeasureValueType": "BIGINT",
        "Time": str(time_ns),
        "TimeUnit": "NANOSECONDS",
        **extra,
    }


def _value(second: int, n: int) -> int:
    return (second * 31 + n * 17) % 500


def _write(store: Store, first_s: int, last_s: int, stations: int = 1000) -> None:
    """Readings of the first ``stations`` stations for each second in [first_s, last_s) after
    START_NS, in time order: up to 10,000 through WriteRecords (100 records per call), more through
    the memory tier's insert, as the flusher commits a forwarder's writes (then the writer's
    look-up caches do not know them: the tests that write such volumes overwrite nothing)."""
    fleet = STATIONS[:stations]
    if (last_s - first_s) * stations <= 10_000:
        records = [
            _record(c, loc, _value(s, n), START_NS + s * SECOND_NS)
            for s in range(first_s, last_s)
            for n, (c, loc) in enumerate(fleet)
        ]
        for i in range(0, len(records), 100):
            _, rejections = store.writer.write_records(
                WriteRequest("iot", "pm25", records=records[i : i + 100])
            )
            assert not rejections
        store.flusher.sync()
        return
    _write(store, first_s, first_s + 1, stations)  # registers the dimensions and the measure's type
    table = store.catalogue.describe_table("iot", "pm25")
    for chunk in range(first_s + 1, last_s, 100):
        seconds = range(chunk, min(chunk + 100, last_s))
        count = len(seconds) * len(fleet)
        data = {
            "city": [c for _ in seconds for c, _ in fleet],
            "location": [loc for _ in seconds for _, loc in fleet],
            "measure_name": ["pm2.5"] * count,
            "time": [START_NS + s * SECOND_NS for s in seconds for _ in fleet],
            "measure_value::bigint": [_value(s, n) for s in seconds for n in range(len(fleet))],
            VERSION_KEY: [1] * count,
        }
        with store.database.db_lock:
            store.database.sql("BEGIN")
            store.memory.insert(table, Columns(count, data))
            store.database.sql("COMMIT")


@pytest.fixture
def store(tmp_path: Path):
    store = Store(tmp_path / "data", clock_ns=lambda: NOW_NS)
    store.catalogue.create_database("iot")
    store.catalogue.create_table("iot", "pm25", retention=Retention(memory_hours=2, magnetic_days=2))
    yield store
    store.close()


def _rows(store: Store) -> list[tuple]:
    table = store.catalogue.describe_table("iot", "pm25")
    with store.database.db_lock:
        return store.database.sql(
            f'SELECT d0, d1, measure_name, epoch_ns(time), "measure_value::bigint" FROM {table.mem_table} '
            "ORDER BY ALL"
        )


def _city_of(location: str) -> str:
    return next(c for c, loc in STATIONS if loc == location)


def _row_groups_admitting(store: Store, location: str) -> tuple[int, int]:
    """(row groups of the memory tier whose zone maps admit ``location`` and its city, all row groups)."""
    table = store.catalogue.describe_table("iot", "pm25")
    wanted = {table.physical_name("city"): _city_of(location), table.physical_name("location"): location}
    with store.database.db_lock:
        store.database.sql("CHECKPOINT")  # the zone maps as stored
        stats = store.database.sql(
            "SELECT row_group_id, column_name, stats FROM pragma_storage_info(?) WHERE column_name IN (?, ?) "
            "AND segment_type = 'VARCHAR'",
            [f"__tsl.{table.mem_table.split('.')[-1]}", *wanted],
        )
    groups = {group for group, _, _ in stats}
    refused = {group for group, column, zone in stats if not zone["min"] <= wanted[column] <= zone["max"]}
    return len(groups - refused), len(groups)


def _answer(store: Store, sql: str) -> list[tuple]:
    """A query's rows as the engine answers it at NOW, each a tuple of its scalar values."""
    result = execute_query(store.reader.cursor(), sql, now_ns=NOW_NS, tiers=store.reader)
    return [tuple(d["ScalarValue"] for d in row["Data"]) for row in result.rows]


def _station_query(store: Store, location: str) -> list[tuple[str, str]]:
    sql = (
        "SELECT BIN(time, 60s) AS t, COUNT(*) AS n, SUM(measure_value::bigint) AS s FROM iot.pm25 "
        f"WHERE location = '{location}' AND time > ago(2h) GROUP BY BIN(time, 60s) ORDER BY t"
    )
    return _answer(store, sql)


def test_clustering_keeps_every_row_and_lets_zone_maps_skip_other_stations(store: Store) -> None:
    _write(store, 0, 1200)  # two 10-minute blocks, 1.2 million rows
    before = _rows(store)
    answer_before = _station_query(store, "111 station")
    admitting, groups = _row_groups_admitting(store, "111 station")
    assert groups >= 9 and admitting == groups  # in time order every row group holds every station

    assert store.mover.cluster_once(NOW_NS, catch_up=True) == len(before) == 1_200_000

    assert _rows(store) == before  # nothing lost, duplicated or changed
    assert _station_query(store, "111 station") == answer_before
    admitting, groups = _row_groups_admitting(store, "111 station")
    # each block holds the station's 600 rows in one row group (two where they straddle a boundary),
    # and a row group spanning the boundary between the blocks admits every station
    assert groups >= 9 and admitting <= 3


def test_recent_blocks_are_sorted_finer_and_the_newest_seconds_wait(store: Store) -> None:
    _write(store, 2400, 3600, stations=50)  # the last 20 minutes before NOW
    before = _rows(store)
    rewritten = store.mover.cluster_once(NOW_NS, catch_up=True)
    table = store.catalogue.describe_table("iot", "pm25")
    with store.database.db_lock:
        physical = store.database.sql(f"SELECT d0, d1, epoch_ns(time) FROM {table.mem_table} ORDER BY rowid")
    limit = NOW_NS - CLUSTER_LATE_NS
    fine, coarse = CLUSTER_SPANS_NS
    assert (fine, coarse) == (60 * SECOND_NS, 600 * SECOND_NS)
    open_block = limit // coarse * coarse  # NOW - 10 min: the 10-minute block NOW is in is open
    newest = limit // fine * fine  # NOW - 1 min: so is the newest minute
    # the closed 10-minute block whole, the open one's closed minutes; the open minute waits
    assert rewritten == 50 * (600 + (newest - open_block) // SECOND_NS) == 50 * (600 + 540)
    assert _rows(store) == before

    runs: dict[tuple[int, int], list[tuple]] = {}
    for row in physical:
        if row[2] < newest:
            span = coarse if row[2] < open_block else fine
            runs.setdefault((span, row[2] // span), []).append(row)
    assert {span for span, _ in runs} == {coarse, fine} and len(runs) == 1 + 9
    for key, rows in runs.items():
        assert rows == sorted(rows), f"block {key} is not sorted by city, location, time"
    head = [row[2] for row in physical if row[2] >= newest]
    assert len(head) == 50 * 60 and head == sorted(head)  # the newest minute stays in arrival order


def _physical(store: Store, low_ns: int, high_ns: int) -> list[tuple]:
    """(city, station, time) of the memory tier's rows with low_ns <= time < high_ns, as stored."""
    table = store.catalogue.describe_table("iot", "pm25")
    with store.database.db_lock:
        return store.database.sql(
            f"SELECT d0, d1, epoch_ns(time) FROM {table.mem_table} WHERE time >= make_timestamp_ns({low_ns}) "
            f"AND time < make_timestamp_ns({high_ns}) ORDER BY rowid"
        )


@pytest.mark.parametrize(("threshold", "sorted_open"), [(20_000, True), (20_001, False)])
def test_the_open_minutes_closed_seconds_are_sorted_once_they_fill_a_row_group(
    store: Store, monkeypatch: pytest.MonkeyPatch, threshold: int, sorted_open: bool
) -> None:
    """A dashboard's last 30 s lie mostly in the open minute: once its closed seconds hold a row
    group's worth of rows (the threshold, here lowered from 122,880 to fit a test), they are sorted
    by series too, again in every pass, whole, until the minute closes and is sorted for good."""
    monkeypatch.setattr(mover_module, "ROW_GROUP_ROWS", threshold)
    minute = NOW_NS - 60 * SECOND_NS  # the newest minute; the one before it is closed
    _write(store, 3480, 3562)  # 1,000 stations: the closed minute, 20 s of the open one, 2 s more
    before = _rows(store)
    at = minute + 20 * SECOND_NS + CLUSTER_LATE_NS  # the open minute's first 20 s are closed
    rewritten = store.mover.cluster_once(at, catch_up=True)
    assert rewritten == 60_000 + (20_000 if sorted_open else 0)
    assert _rows(store) == before
    assert (
        store.mover.clusterer._upto[(store.catalogue.describe_table("iot", "pm25").id, 60 * SECOND_NS)]
        == minute
    )
    closed_part = _physical(store, minute, minute + 20 * SECOND_NS)
    assert len(closed_part) == 20_000
    by_series = sorted(closed_part)
    assert (closed_part == by_series) is sorted_open
    times = [row[2] for row in closed_part]
    assert (times == sorted(times)) is not sorted_open  # else still in arrival (time) order
    newest = _physical(store, minute + 20 * SECOND_NS, NOW_NS)
    assert [row[2] for row in newest] == sorted(row[2] for row in newest)  # the last 2 s wait

    if not sorted_open:
        return
    _write(store, 3562, 3600)  # the rest of the minute arrives
    before = _rows(store)
    # ten seconds later: the closed part (now 30 s) is sorted again as one run, not two
    assert store.mover.cluster_once(at + 10 * SECOND_NS, catch_up=True) == 30_000
    assert _rows(store) == before
    closed_part = _physical(store, minute, minute + 30 * SECOND_NS)
    assert len(closed_part) == 30_000 and closed_part == sorted(closed_part)
    assert _city_query(store, "city3", "2m") == _expected_city_answer("city3", 3480, 3600, 120)
    # the minute closes, and with it the 10-minute block (both written minutes): sorted whole and
    # recorded; the next pass has nothing left to do
    assert store.mover.cluster_once(NOW_NS + CLUSTER_LATE_NS, catch_up=True) == 120_000
    assert _physical(store, minute, NOW_NS) == sorted(_physical(store, minute, NOW_NS))
    assert store.mover.cluster_once(NOW_NS + CLUSTER_LATE_NS, catch_up=True) == 0
    assert _rows(store) == before


def test_a_late_reading_is_kept_and_sorted_into_its_block_by_a_coarser_pass(store: Store) -> None:
    _write(store, 2900, 3600, stations=50)
    store.mover.cluster_once(NOW_NS, catch_up=True)
    late_ns = NOW_NS - 90 * SECOND_NS  # a reading of an already sorted minute arrives late
    _, rejections = store.writer.write_records(
        WriteRequest("iot", "pm25", records=[_record("city3", "late station", 5, late_ns)])
    )
    assert not rejections
    store.flusher.sync()
    before = _rows(store)
    assert store.mover.cluster_once(NOW_NS + 600 * SECOND_NS, catch_up=True) > 0  # the 10-minute block closes
    assert _rows(store) == before
    table = store.catalogue.describe_table("iot", "pm25")
    with store.database.db_lock:
        block = store.database.sql(
            f"SELECT d0, d1, epoch_ns(time) FROM {table.mem_table} "
            f"WHERE time >= make_timestamp_ns({NOW_NS - 600 * SECOND_NS}) ORDER BY rowid"
        )
    assert ("city3", "late station", late_ns) in block and block == sorted(block)


def test_a_writer_overwriting_a_row_of_a_block_being_sorted_wins(store: Store) -> None:
    _write(store, 0, 20, stations=50)
    table = store.catalogue.describe_table("iot", "pm25")
    cursor = store.database.cursor()
    cursor.execute("BEGIN")
    last = store.memory.copy_clustered(cursor, table, START_NS, START_NS + 10 * SECOND_NS)
    assert last >= 0
    # meanwhile a writer overwrites one reading of that block with a higher version
    city, location = STATIONS[5]
    update = _record(city, location, 999, START_NS + 3 * SECOND_NS, Version=2)
    _, rejections = store.writer.write_records(WriteRequest("iot", "pm25", records=[update]))
    assert not rejections
    with pytest.raises(duckdb.TransactionException):
        store.memory.drop_unclustered(cursor, table, START_NS, START_NS + 10 * SECOND_NS, last)
    cursor.execute("ROLLBACK")
    rows = _rows(store)
    assert len(rows) == 20 * 50  # the copy went with the rollback: no row twice
    assert (city, location, "pm2.5", START_NS + 3 * SECOND_NS, 999) in rows
    assert store.mover.cluster_once(NOW_NS, catch_up=True) == 20 * 50  # the next pass sorts the block
    assert _rows(store) == rows


def test_parquet_files_are_sorted_by_series_so_row_groups_of_other_stations_are_skipped(store: Store) -> None:
    _write(store, 0, 1200)
    before = _rows(store)
    store.mover.run_once(NOW_NS + 2 * 3600 * SECOND_NS)  # every row is now older than the memory retention
    table = store.catalogue.describe_table("iot", "pm25")
    files = store.magnetic.files(table.id)
    assert len(files) == 1 and files[0].rows == len(before)
    path = str(store.data_dir / files[0].path)
    con = duckdb.connect()
    order = con.execute(
        "SELECT d0, d1, epoch_ns(time) FROM read_parquet(?, file_row_number = true) ORDER BY file_row_number",
        [path],
    ).fetchall()
    assert order == sorted(order)  # city (7 values), then station (1,000), then time
    wanted = {"d0": _city_of("111 station"), "d1": "111 station"}  # the tiers' names of city, location
    groups = con.execute(
        "SELECT row_group_id, path_in_schema, stats_min_value, stats_max_value FROM parquet_metadata(?) "
        "WHERE path_in_schema IN ('d0', 'd1')",
        [path],
    ).fetchall()
    refused = {g for g, column, low, high in groups if not low <= wanted[column] <= high}
    admitting = {g for g, _, _, _ in groups} - refused
    assert len({g for g, _, _, _ in groups}) >= 9 and len(admitting) <= 2
    assert (
        sorted(
            tuple(r)
            for r in con.execute(
                'SELECT d0, d1, measure_name, epoch_ns(time), "measure_value::bigint" FROM read_parquet(?)',
                [path],
            ).fetchall()
        )
        == before
    )


def _expected_station_answer(location: str, first_s: int, last_s: int) -> list[tuple[str, str, str]]:
    """The 1-minute bins of one station's readings over the last 2 h, computed from the generator
    (not read back from the store): (bin start, count, sum) as the query returns them."""
    n = next(i for i, (_c, loc) in enumerate(STATIONS) if loc == location)
    low_s = (NOW_NS - 2 * 3600 * SECOND_NS - START_NS) // SECOND_NS  # time > ago(2h)
    bins: dict[int, list[int]] = {}
    for s in range(max(first_s, low_s + 1), last_s):
        minute = (START_NS + s * SECOND_NS) // (60 * SECOND_NS) * 60
        bins.setdefault(minute, []).append(_value(s, n))
    return [
        (
            dt.datetime.fromtimestamp(minute, dt.UTC).strftime("%Y-%m-%d %H:%M:%S.000000000"),
            str(len(values)),
            str(sum(values)),
        )
        for minute, values in sorted(bins.items())
    ]


def _scanned(store: Store, sql: str) -> tuple[int, int]:
    """(row groups DuckDB scanned, row groups of the table) for a query as the engine runs it: the
    relation the store picks for it, with the dimension conditions it implies (storage/hints.py),
    from EXPLAIN ANALYZE."""
    compiled = compile_query(sql)
    relations, _full, _generation = store.reader.query_relations(compiled.tables, NOW_NS)
    cursor = store.reader.cursor()
    cursor.execute("CHECKPOINT")
    text = bind_tables(bind_now(compiled.sql, NOW_NS), relations)
    plan = cursor.execute(f"EXPLAIN ANALYZE {text}").fetchall()[0][1]
    found = re.search(r"Row Groups Scanned: (\d+) / (\d+)", plan)
    assert found, plan
    return int(found.group(1)), int(found.group(2))


def _station_count(location: str) -> str:
    return f"SELECT count(*) FROM iot.pm25 WHERE location = '{location}' AND time > ago(2h)"


def test_a_station_query_reads_few_row_groups_and_gets_the_same_answer(store: Store) -> None:
    _write(store, 0, 3000)  # fifty minutes, three million rows in time order: five 10-minute blocks
    expected = _expected_station_answer("111 station", 0, 3000)
    assert _station_query(store, "111 station") == expected
    scanned, groups = _scanned(store, _station_count("111 station"))
    assert groups >= 24 and scanned == groups  # in time order every row group holds every station

    store.mover.cluster_once(NOW_NS, catch_up=True)

    assert _station_query(store, "111 station") == expected
    scanned, groups = _scanned(store, _station_count("111 station"))
    # sorted by city, then station: the station's city (implied by the store) narrows each 10-minute
    # block to a row group or two, the station's own zone maps to one (two where its 600 rows straddle
    # a boundary), plus those that hold two blocks' edges
    assert groups >= 24 and scanned <= 2 * 5


def _expected_city_answer(city: str, first_s: int, last_s: int, since_s: int) -> list[tuple[str, str, str]]:
    """(station, count, sum) of one city's readings in the last ``since_s`` seconds, from the generator."""
    low_s = (NOW_NS - START_NS) // SECOND_NS - since_s  # time >= ago(since_s)
    answer = []
    for n, (c, location) in enumerate(STATIONS):
        values = [_value(s, n) for s in range(max(first_s, low_s), last_s)]
        if c == city and values:
            answer.append((location, str(len(values)), str(sum(values))))
    return sorted(answer)


def _city_query(store: Store, city: str, since: str) -> list[tuple[str, str, str]]:
    sql = (
        "SELECT location, COUNT(*) AS n, SUM(measure_value::bigint) AS s FROM iot.pm25 "
        f"WHERE city = '{city}' AND time >= ago({since}) GROUP BY location ORDER BY location"
    )
    return _answer(store, sql)


def test_a_city_query_reads_only_that_citys_row_groups(store: Store) -> None:
    _write(store, 2400, 3600)  # the last 20 minutes, 1.2 million rows: two 10-minute blocks
    expected = _expected_city_answer("city3", 2400, 3600, 1200)
    assert len(expected) == 143 and _city_query(store, "city3", "20m") == expected
    count = "SELECT count(*) FROM iot.pm25 WHERE city = 'city3' AND time >= ago(20m)"
    scanned, groups = _scanned(store, count)
    assert groups >= 9 and scanned == groups

    store.mover.cluster_once(NOW_NS + 10 * SECOND_NS, catch_up=True)  # both blocks closed

    assert _city_query(store, "city3", "20m") == expected
    scanned, groups = _scanned(store, count)
    # a seventh of each block (86,000 rows): a row group or two each, and those holding two blocks'
    # edges; with the station first, every row group would hold some of the city's stations
    assert groups >= 9 and scanned <= 2 * 2 + 1


def test_clustering_marks_survive_a_restart(tmp_path: Path) -> None:
    store = Store(tmp_path / "data", clock_ns=lambda: NOW_NS)
    store.catalogue.create_database("iot")
    store.catalogue.create_table("iot", "pm25", retention=Retention(memory_hours=2, magnetic_days=2))
    _write(store, 0, 1800, stations=20)
    rewritten = store.mover.cluster_once(NOW_NS, catch_up=True)
    assert rewritten == 1800 * 20
    store.close()
    store = Store(tmp_path / "data", clock_ns=lambda: NOW_NS)
    try:
        assert store.mover.cluster_once(NOW_NS, catch_up=True) == 0  # nothing sorted twice
        assert len(_rows(store)) == 1800 * 20
    finally:
        store.close()


def test_a_bulk_load_marked_clustered_is_not_sorted_again(store: Store) -> None:
    _write(store, 0, 1200, stations=20)
    table = store.catalogue.describe_table("iot", "pm25")
    block = CLUSTER_SPANS_NS[-1]
    with pytest.raises(ValueError, match="not a multiple"):
        store.mover.clusterer.mark_clustered(table, START_NS + block + SECOND_NS)
    first_block_end = (START_NS + block) // block * block  # the end of the block holding START
    store.mover.clusterer.mark_clustered(table, first_block_end)
    rows_after_mark = 20 * (1200 - (first_block_end - START_NS) // SECOND_NS)
    assert store.mover.cluster_once(NOW_NS, catch_up=True) == rows_after_mark


def test_parquet_files_are_sorted_by_hour_then_series(store: Store) -> None:
    _write(store, 2400, 4200, stations=200)  # 30 minutes across the hour at START + 3000 s
    before = _rows(store)
    store.mover.run_once(NOW_NS + 3 * 3600 * SECOND_NS)
    table = store.catalogue.describe_table("iot", "pm25")
    (file,) = store.magnetic.files(table.id)
    con = duckdb.connect()
    order = con.execute(
        "SELECT epoch_ns(time_bucket(INTERVAL 1 HOUR, time)), d0, d1, epoch_ns(time) "
        "FROM read_parquet(?, file_row_number = true) ORDER BY file_row_number",
        [str(store.data_dir / file.path)],
    ).fetchall()
    assert order == sorted(order) and len({row[0] for row in order}) == 2
    assert sorted(_rows_of_file(con, str(store.data_dir / file.path))) == before


def _rows_of_file(con: duckdb.DuckDBPyConnection, path: str) -> list[tuple]:
    return con.execute(
        'SELECT d0, d1, measure_name, epoch_ns(time), "measure_value::bigint" FROM read_parquet(?)', [path]
    ).fetchall()


def test_a_dimension_partition_key_sorts_first_so_its_queries_prune(tmp_path: Path) -> None:
    store = Store(tmp_path / "data", clock_ns=lambda: NOW_NS)
    try:
        store.catalogue.create_database("iot")
        store.catalogue.create_table(
            "iot",
            "pm25",
            retention=Retention(memory_hours=2, magnetic_days=2),
            schema={"CompositePartitionKey": [{"Type": "DIMENSION", "Name": "city"}]},
        )
        _write(store, 0, 1200)
        store.mover.cluster_once(NOW_NS, catch_up=True)
        table = store.catalogue.describe_table("iot", "pm25")
        with store.database.db_lock:
            physical = store.database.sql(
                f"SELECT d0, d1, epoch_ns(time) FROM {table.mem_table} ORDER BY rowid"
            )
        block = 600 * SECOND_NS
        for start in (START_NS, START_NS + block):
            rows = [r for r in physical if start <= r[2] < start + block]
            assert len(rows) == 600_000 and rows == sorted(rows)  # city, then station, then time
        cursor = store.reader.cursor()
        cursor.execute("CHECKPOINT")
        plan = cursor.execute(
            f"EXPLAIN ANALYZE SELECT count(*) FROM {table.recent_view} WHERE city = 'city3'"
        ).fetchall()[0][1]
        scanned, groups = map(int, re.search(r"Row Groups Scanned: (\d+) / (\d+)", plan).groups())
        # a seventh of each block's rows, a row group or two each (and those that hold two blocks' edges)
        assert groups >= 9 and scanned <= 2 * 2 + 1
    finally:
        store.close()
