"""A data directory written by an older store (storage layout 1: the tiers' columns named after the
user's dimensions, each database a DuckDB schema with its tables' views) is upgraded at start: every
row of both tiers is still there, under the same names, and the old objects are gone."""

from __future__ import annotations

import json
import time

import boto3
import duckdb

from tests.services import start_timestream_local
from tests.timestream_local.store_helpers import query_rows

NS = 1_000_000_000
HOUR_NS = 3600 * NS
COLUMNS = (
    'city VARCHAR, location VARCHAR, measure_name VARCHAR, time TIMESTAMP_NS, "measure_value::bigint" BIGINT, '
    '"measure_value::double" DOUBLE, "measure_value::varchar" VARCHAR, "measure_value::boolean" BOOLEAN, '
    '"measure_value::timestamp" TIMESTAMP_NS, temperature DOUBLE, __version BIGINT'
)


def _layout_1(data_dir, now_ns: int) -> None:
    """What the store of layout 1 left on disk for iot.pm25: three rows in memory, two in a Parquet file."""
    (data_dir / "magnetic" / "t1" / "2026-01-01").mkdir(parents=True)
    con = duckdb.connect(str(data_dir / "store.duckdb"))
    con.execute('CREATE SCHEMA "__tsl"')
    con.execute('CREATE TABLE "__tsl".meta_databases (name VARCHAR, doc VARCHAR)')
    con.execute('CREATE TABLE "__tsl".meta_tables (id BIGINT, database VARCHAR, name VARCHAR, doc VARCHAR)')
    con.execute(
        'CREATE TABLE "__tsl".meta_files (table_id BIGINT, path VARCHAR, day VARCHAR, min_time BIGINT, '
        "max_time BIGINT, row_count BIGINT, columns VARCHAR)"
    )
    con.execute('CREATE TABLE "__tsl".meta_trash (path VARCHAR)')
    con.execute('CREATE TABLE "__tsl".meta_state (key VARCHAR, value BIGINT)')
    con.execute("INSERT INTO \"__tsl\".meta_state VALUES ('next_table_id', 2), ('log_applied_seq', 0)")
    arn = "arn:aws:timestream:us-east-1:000000000000:database/iot"
    con.execute(
        "INSERT INTO \"__tsl\".meta_databases VALUES ('iot', ?)",
        [json.dumps({"arn": arn, "kms": "k", "created": 1.0, "updated": 1.0})],
    )
    doc = {
        "arn": arn + "/table/pm25", "created": 1.0, "updated": 1.0, "memory_hours": 1, "magnetic_days": 7,
        "magnetic_writes": {"EnableMagneticStoreWrites": True},
        "schema": {"CompositePartitionKey": [{"Type": "MEASURE"}]},
        "dimensions": ["city", "location"], "attributes": {"temperature": "DOUBLE"},
        "measure_types": {"pm2.5": "BIGINT", "climate": "MULTI"},
    }  # fmt: skip
    con.execute("INSERT INTO \"__tsl\".meta_tables VALUES (1, 'iot', 'pm25', ?)", [json.dumps(doc)])
    con.execute(f'CREATE TABLE "__tsl"."mem_1" ({COLUMNS})')
    rows = [  # location, value, temperature, age in hours
        ("a", 1, None, 0), ("b", 2, None, 0), ("c", None, 21.5, 0), ("d", 4, None, 5), ("e", None, 19.0, 6),
    ]  # fmt: skip
    for location, value, temperature, age in rows:
        con.execute(
            'INSERT INTO "__tsl"."mem_1" (city, location, measure_name, time, "measure_value::bigint", '
            "temperature, __version) VALUES ('Beijing', ?, ?, make_timestamp_ns(?), ?, ?, 1)",
            [location, "climate" if temperature else "pm2.5", now_ns - age * HOUR_NS, value, temperature],
        )
    path = "magnetic/t1/2026-01-01/1-0.parquet"
    con.execute(
        f'COPY (SELECT * FROM "__tsl"."mem_1" WHERE time < make_timestamp_ns({now_ns - HOUR_NS}) ORDER BY time) '
        f"TO '{data_dir / path}' (FORMAT parquet)"
    )
    stats = con.execute(
        f"SELECT epoch_ns(min(time)), epoch_ns(max(time)), count(*) FROM read_parquet('{data_dir / path}')"
    ).fetchone()
    columns = [
        row[0] for row in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{data_dir / path}')").fetchall()
    ]
    con.execute(
        "INSERT INTO \"__tsl\".meta_files VALUES (1, ?, '2026-01-01', ?, ?, ?, ?)",
        [path, *stats, json.dumps(columns)],
    )
    con.execute(f'DELETE FROM "__tsl"."mem_1" WHERE time < make_timestamp_ns({now_ns - HOUR_NS})')
    con.execute('CREATE SCHEMA "iot"')
    con.execute('CREATE VIEW "iot"."pm25" AS SELECT * EXCLUDE (__version) FROM "__tsl"."mem_1"')
    con.close()


def test_an_older_data_directory_is_upgraded_at_start_and_loses_nothing(tmp_path):
    data_dir = tmp_path / "data"
    now_ns = time.time_ns()
    _layout_1(data_dir, now_ns)
    service = start_timestream_local(data_dir)
    try:
        query = boto3.client("timestream-query", endpoint_url=service.url, region_name="us-east-1")
        rows = query_rows(
            query,
            "SELECT location, measure_name, measure_value::bigint AS v, temperature FROM iot.pm25 ORDER BY location",
        )
        assert rows == [
            {"location": "a", "measure_name": "pm2.5", "v": "1", "temperature": None},
            {"location": "b", "measure_name": "pm2.5", "v": "2", "temperature": None},
            {"location": "c", "measure_name": "climate", "v": None, "temperature": "21.5"},
            {"location": "d", "measure_name": "pm2.5", "v": "4", "temperature": None},
            {"location": "e", "measure_name": "climate", "v": None, "temperature": "19.0"},
        ]
        # a version update of a row in the Parquet file works on the renamed columns
        write = boto3.client("timestream-write", endpoint_url=service.url, region_name="us-east-1")
        write.write_records(
            DatabaseName="iot",
            TableName="pm25",
            Records=[{
                "Dimensions": [{"Name": "city", "Value": "Beijing"}, {"Name": "location", "Value": "d"}],
                "MeasureName": "pm2.5", "MeasureValue": "40", "MeasureValueType": "BIGINT",
                "Time": str(now_ns - 5 * HOUR_NS), "TimeUnit": "NANOSECONDS", "Version": 2,
            }],
        )  # fmt: skip
        assert query_rows(query, "SELECT measure_value::bigint AS v FROM iot.pm25 WHERE location = 'd'") == [
            {"v": "40"}
        ]
        assert "upgrading 1 table(s) to storage layout 2" in service.log()
    finally:
        service.stop()
    con = duckdb.connect(str(data_dir / "store.duckdb"), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM duckdb_schemas() WHERE schema_name = 'iot'").fetchone() == (
            0,
        )
        columns = [row[0] for row in con.execute('DESCRIBE "__tsl"."mem_1"').fetchall()]
        assert {"d0", "d1", "a0"} <= set(columns) and not {"city", "location", "temperature"} & set(columns)
        (files,) = con.execute('SELECT list(columns) FROM "__tsl".meta_files').fetchone()
        assert files and all("d1" in json.loads(c) and "location" not in json.loads(c) for c in files)
    finally:
        con.close()
