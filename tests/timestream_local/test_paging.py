"""Query paging (MaxRows / NextToken), QueryStatus and CancelQuery, as the Query API defines them."""

from __future__ import annotations

import pytest

from tests.timestream_local.store_helpers import create_table, now_ms, query_rows, record


@pytest.fixture(scope="module")
def seven_rows(timestream_local):
    import boto3

    write = boto3.client("timestream-write", endpoint_url=timestream_local.url, region_name="us-east-1")
    database, table = create_table(write)
    t = now_ms()
    write.write_records(
        DatabaseName=database, TableName=table, Records=[record(f"s{i}", i, t - i) for i in range(7)]
    )
    return database, table


def test_max_rows_pages_through_every_row_once(timestream_query, seven_rows):
    database, table = seven_rows
    sql = f'SELECT location, measure_value::bigint AS v FROM "{database}"."{table}" ORDER BY v'
    pages = []
    kwargs = {"QueryString": sql, "MaxRows": 3}
    for _ in range(10):
        page = timestream_query.query(**kwargs)
        assert page["QueryStatus"]["ProgressPercentage"] == 100.0
        assert [c["Name"] for c in page["ColumnInfo"]] == ["location", "v"]
        pages.append([row["Data"][1]["ScalarValue"] for row in page["Rows"]])
        if "NextToken" not in page:
            break
        kwargs["NextToken"] = page["NextToken"]
    assert pages == [["0", "1", "2"], ["3", "4", "5"], ["6"]]
    # the same rows without paging
    assert [r["v"] for r in query_rows(timestream_query, sql)] == [str(i) for i in range(7)]


def test_next_token_must_belong_to_the_same_query(timestream_query, seven_rows):
    database, table = seven_rows
    sql = f'SELECT location FROM "{database}"."{table}"'
    first = timestream_query.query(QueryString=sql, MaxRows=2)
    with pytest.raises(timestream_query.exceptions.ValidationException) as error:
        timestream_query.query(QueryString=sql + " WHERE 1 = 1", MaxRows=2, NextToken=first["NextToken"])
    assert "does not belong to this QueryString" in error.value.response["Error"]["Message"]
    with pytest.raises(timestream_query.exceptions.ValidationException):
        timestream_query.query(QueryString=sql, NextToken="not-a-token")


def test_cancel_query(timestream_query, seven_rows):
    database, table = seven_rows
    sql = f'SELECT location FROM "{database}"."{table}"'
    first = timestream_query.query(QueryString=sql, MaxRows=2)
    message = timestream_query.cancel_query(QueryId=first["QueryId"])["CancellationMessage"]
    assert first["QueryId"] in message
    # its remaining pages are gone
    with pytest.raises(timestream_query.exceptions.ValidationException):
        timestream_query.query(QueryString=sql, MaxRows=2, NextToken=first["NextToken"])
    with pytest.raises(timestream_query.exceptions.ValidationException) as error:
        timestream_query.cancel_query(QueryId="AEDQCNOSUCHQUERY")
    assert "does not match" in error.value.response["Error"]["Message"]


def test_max_rows_out_of_range(timestream_query, seven_rows):
    database, table = seven_rows
    with pytest.raises(timestream_query.exceptions.ValidationException):
        timestream_query.query(QueryString=f'SELECT 1 FROM "{database}"."{table}"', MaxRows=5000)
