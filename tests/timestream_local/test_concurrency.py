"""Several clients at once: concurrent writers and readers get correct, complete results."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import boto3

from tests.timestream_local.store_helpers import create_table, now_ms, query_rows, record


def test_parallel_writers_and_readers(timestream_local):
    url = timestream_local.url
    admin = boto3.client("timestream-write", endpoint_url=url, region_name="us-east-1")
    database, table = create_table(admin)
    start = now_ms() - 10 * 60 * 1000

    def writer(worker: int) -> int:
        client = boto3.client("timestream-write", endpoint_url=url, region_name="us-east-1")
        for batch in range(20):
            records = [record(f"w{worker}-s{i}", batch, start + batch) for i in range(50)]
            result = client.write_records(DatabaseName=database, TableName=table, Records=records)
            assert result["RecordsIngested"]["Total"] == 50
        return 20 * 50

    def reader(_: int) -> int:
        client = boto3.client("timestream-query", endpoint_url=url, region_name="us-east-1")
        seen = 0
        for _ in range(10):
            rows = query_rows(client, f'SELECT count(*) AS n FROM "{database}"."{table}"')
            count = int(rows[0]["n"])
            assert count >= seen, "a reader saw the row count go down"
            seen = count
        return seen

    with ThreadPoolExecutor(max_workers=6) as pool:
        writes = [pool.submit(writer, w) for w in range(4)]
        reads = [pool.submit(reader, r) for r in range(2)]
        written = sum(f.result(timeout=120) for f in writes)
        for f in reads:
            f.result(timeout=120)

    query = boto3.client("timestream-query", endpoint_url=url, region_name="us-east-1")
    rows = query_rows(
        query,
        f"SELECT count(*) AS n, count(DISTINCT location) AS series, sum(measure_value::bigint) AS total "
        f'FROM "{database}"."{table}"',
    )
    assert rows == [{"n": str(written), "series": "200", "total": str(200 * sum(range(20)))}]
