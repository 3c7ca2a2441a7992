"""What real clients send, replayed over HTTP, and their answers checked the way those clients read them.

The Grafana Timestream plugin (grafana/timestream-datasource, read for these facts, nothing copied):
its health check runs ``SELECT 1`` and wants the string "1" in the first cell; the query editor fills
its lists with ``SHOW DATABASES``, ``SHOW TABLES FROM "db"`` and ``SHOW MEASURES FROM "db"."table"``
(the measure dropdown reads the first cell of each row; the dimension list reads the third cell, an
array of rows whose first cell is a dimension's name); its sample queries use ``$__database`` and
``$__table`` bare (``DESCRIBE $__database.$__table``); it expands ``$__timeFilter`` to
``time BETWEEN from_milliseconds(F) AND from_milliseconds(T)``, ``$__interval_ms`` to ``<n>ms`` and
``$__now_ms`` to milliseconds since the epoch; it parses timestamps with up to nine fraction digits
and builds a frame per time-series cell. A CancelQuery may come twice (AWS documents it idempotent),
and boto3 may be configured through the environment alone (endpoint discovery then stays on).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time

import boto3
import pytest
from botocore.config import Config

from tests.services import start_timestream_local

NOW_MS = (int(time.time()) - 60) * 1000
TIMESTAMP_TEXT = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{9}")


@pytest.fixture(scope="module")
def plugin_world(tmp_path_factory):
    """A store with a table written as the simulator writes (BIGINT pm2.5 per city and location),
    plus one DOUBLE measure and one multi-measure record, and boto3 clients."""
    service = start_timestream_local(tmp_path_factory.mktemp("clients") / "data")
    kwargs = {
        "endpoint_url": service.url,
        "region_name": "us-east-1",
        "config": Config(retries={"max_attempts": 1}),
    }
    write, query = boto3.client("timestream-write", **kwargs), boto3.client("timestream-query", **kwargs)
    write.create_database(DatabaseName="grafana_db")
    write.create_table(DatabaseName="grafana_db", TableName="readings")
    dims = [{"Name": "city", "Value": "Beijing"}, {"Name": "location", "Value": "aoti"}]
    records = [
        {"Dimensions": dims, "MeasureName": "pm2.5", "MeasureValue": str(v), "MeasureValueType": "BIGINT",
         "Time": str(NOW_MS - (5 - i) * 1000)}
        for i, v in enumerate([10, 20, 30, 40, 50])
    ]  # fmt: skip
    records.append({"Dimensions": dims, "MeasureName": "temperature", "MeasureValue": "21.5",
                    "MeasureValueType": "DOUBLE", "Time": str(NOW_MS)})  # fmt: skip
    records.append({"Dimensions": dims, "MeasureName": "climate", "MeasureValueType": "MULTI", "Time": str(NOW_MS),
                    "MeasureValues": [{"Name": "humidity", "Value": "40", "Type": "BIGINT"}]})  # fmt: skip
    write.write_records(DatabaseName="grafana_db", TableName="readings", Records=records)
    yield service, query
    service.stop()


def _cells(page):
    return [[datum.get("ScalarValue") for datum in row["Data"]] for row in page["Rows"]]


def test_health_check_answers_the_string_one(plugin_world):
    _service, query = plugin_world
    page = query.query(QueryString="SELECT 1")
    assert page["Rows"][0]["Data"][0]["ScalarValue"] == "1"


def test_editor_lists_databases_tables_and_measures_with_dimensions(plugin_world):
    _service, query = plugin_world
    assert ["grafana_db"] in _cells(query.query(QueryString="SHOW DATABASES"))
    assert _cells(query.query(QueryString='SHOW TABLES FROM "grafana_db"')) == [["readings"]]
    page = query.query(QueryString='SHOW MEASURES FROM "grafana_db"."readings"')
    assert [c["Name"] for c in page["ColumnInfo"]] == ["measure_name", "data_type", "dimensions"]
    assert (
        page["ColumnInfo"][2]["Type"]["ArrayColumnInfo"]["Type"]["RowColumnInfo"][0]["Name"]
        == "dimension_name"
    )
    # the measure dropdown: each row's first cell
    assert [row["Data"][0]["ScalarValue"] for row in page["Rows"]] == ["climate", "pm2.5", "temperature"]
    assert [row["Data"][1]["ScalarValue"] for row in page["Rows"]] == ["multi", "bigint", "double"]
    # the dimension list: the first row's third cell, an array of rows (name, type)
    first = page["Rows"][0]["Data"]
    assert len(first) == 3
    names = [cell["RowValue"]["Data"][0]["ScalarValue"] for cell in first[2]["ArrayValue"]]
    assert names == ["city", "location"]
    # LIKE filters the measures
    like = query.query(QueryString="SHOW MEASURES FROM grafana_db.readings LIKE 'pm%'")
    assert [row["Data"][0]["ScalarValue"] for row in like["Rows"]] == ["pm2.5"]


def test_sample_queries_with_the_plugins_bare_database_and_table(plugin_world):
    _service, query = plugin_world
    database, table = "grafana_db", "readings"  # what $__database and $__table expand to
    assert _cells(query.query(QueryString=f"SHOW TABLES FROM {database}")) == [["readings"]]
    described = _cells(query.query(QueryString=f"DESCRIBE {database}.{table}"))
    assert described == [
        ["city", "varchar", "DIMENSION"],
        ["location", "varchar", "DIMENSION"],
        ["measure_name", "varchar", "MEASURE_NAME"],
        ["time", "timestamp", "TIMESTAMP"],
        ["measure_value::bigint", "bigint", "MEASURE_VALUE"],
        ["measure_value::double", "double", "MEASURE_VALUE"],
        ["humidity", "bigint", "MULTI"],
    ]
    # SELECT * shows exactly the columns DESCRIBE lists: only value types the table has received
    page = query.query(QueryString=f"SELECT * FROM {database}.{table} LIMIT 10")
    assert [c["Name"] for c in page["ColumnInfo"]] == [row[0] for row in described]
    for row in page["Rows"]:
        assert len(row["Data"]) == len(page["ColumnInfo"])  # the plugin indexes cells by column
        for datum in row["Data"]:
            assert "ScalarValue" in datum or datum == {"NullValue": True}
    times = [row["Data"][3]["ScalarValue"] for row in page["Rows"]]
    assert all(TIMESTAMP_TEXT.fullmatch(t) for t in times)


def test_a_value_type_the_table_never_received_is_an_unknown_column(plugin_world):
    """AWS answers "Column '...' does not exist" for a column a table does not have yet (an empty
    table has no measure_value columns at all); the message names the column as the client wrote it."""
    _service, query = plugin_world
    with pytest.raises(query.exceptions.ValidationException) as error:
        query.query(QueryString="SELECT measure_value::varchar FROM grafana_db.readings")
    assert error.value.response["Error"]["Message"] == "Column 'measure_value::varchar' does not exist"


def test_macros_expanded_as_the_plugin_expands_them(plugin_world):
    _service, query = plugin_world
    start, end, now = NOW_MS - 10_000, NOW_MS + 1000, NOW_MS + 5000
    time_filter = f"time BETWEEN from_milliseconds({start}) AND from_milliseconds({end})"
    interval = "2000ms"  # $__interval_ms
    sql = (
        f"SELECT bin(time, {interval}) AS t, avg(measure_value::bigint) AS v FROM grafana_db.readings "
        f"WHERE {time_filter} AND measure_name = 'pm2.5' AND time < from_milliseconds({now}) GROUP BY 1 ORDER BY 1"
    )
    rows = _cells(query.query(QueryString=sql))
    # readings at NOW-5 s .. NOW-1 s (10 .. 50); 2 s bins of the epoch
    expected: dict[int, list[int]] = {}
    for i, value in enumerate([10, 20, 30, 40, 50]):
        at = NOW_MS - (5 - i) * 1000
        expected.setdefault(at - at % 2000, []).append(value)
    assert [float(v) for _t, v in rows] == [sum(vs) / len(vs) for _b, vs in sorted(expected.items())]
    # Grafana's own variables: ${__from:date:seconds} and ${__from:date:iso}
    seconds = start // 1000
    iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + "Z"
    counted = _cells(query.query(QueryString=(
        f"SELECT count(*) FROM grafana_db.readings WHERE measure_name = 'pm2.5' "
        f"AND time >= from_unixtime({seconds}) AND time >= from_iso8601_timestamp('{iso}')"
    )))  # fmt: skip
    assert counted == [[str(sum(1 for i in range(5) if NOW_MS - (5 - i) * 1000 >= seconds * 1000))]]


def test_time_series_cells_hold_ascending_times(plugin_world):
    _service, query = plugin_world
    page = query.query(QueryString=(
        "SELECT location, CREATE_TIME_SERIES(time, measure_value::bigint) AS series FROM grafana_db.readings "
        "WHERE measure_name = 'pm2.5' GROUP BY location"
    ))  # fmt: skip
    assert page["ColumnInfo"][1]["Type"] == {
        "TimeSeriesMeasureValueColumnInfo": {"Type": {"ScalarType": "BIGINT"}}
    }
    points = page["Rows"][0]["Data"][1]["TimeSeriesValue"]
    times = [point["Time"] for point in points]
    assert times == sorted(times) and all(TIMESTAMP_TEXT.fullmatch(t) for t in times)
    assert [point["Value"]["ScalarValue"] for point in points] == ["10", "20", "30", "40", "50"]


def test_cancel_query_twice_and_bytes_scanned_across_pages(plugin_world):
    _service, query = plugin_world
    sql = "SELECT measure_value::bigint AS v FROM grafana_db.readings WHERE measure_name = 'pm2.5' ORDER BY v"
    pages, token = [], None
    while True:
        page = query.query(QueryString=sql, MaxRows=2, **({"NextToken": token} if token else {}))
        pages.append(page)
        token = page.get("NextToken")
        if not token:
            break
    scanned = [page["QueryStatus"]["CumulativeBytesScanned"] for page in pages]
    assert len(pages) == 3 and scanned == sorted(scanned) and scanned[0] < scanned[1] < scanned[2]
    # a paged query cancelled twice: the second answer says so, it is no error
    first = query.query(QueryString=sql, MaxRows=2)
    once = query.cancel_query(QueryId=first["QueryId"])["CancellationMessage"]
    twice = query.cancel_query(QueryId=first["QueryId"])["CancellationMessage"]
    assert first["QueryId"] in once and "already been cancelled" in twice
    with pytest.raises(query.exceptions.ValidationException, match="expired"):
        query.query(QueryString=sql, MaxRows=2, NextToken=first["NextToken"])


def test_unload_without_s3_says_to_start_the_server_with_an_endpoint(plugin_world):
    _service, query = plugin_world
    with pytest.raises(query.exceptions.ValidationException) as error:
        query.query(QueryString="UNLOAD (SELECT 1) TO 's3://bucket/prefix/' WITH (format = 'CSV')")
    assert "start timestream_local with --s3-endpoint-url" in error.value.response["Error"]["Message"]
    with pytest.raises(query.exceptions.ValidationException, match="EXPLAIN is not supported"):
        query.query(QueryString="EXPLAIN SELECT 1")


_ENV_CLIENT = r"""
import boto3, time
from botocore.config import Config
started = time.monotonic()
client = boto3.client("timestream-query", region_name="us-east-1",
                      config=Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 1}))
print(client.query(QueryString="SELECT 1")["Rows"][0]["Data"][0]["ScalarValue"], round(time.monotonic() - started, 1))
"""


@pytest.mark.parametrize("variable", ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_TIMESTREAM_QUERY"])
def test_boto3_configured_only_through_the_environment_works(plugin_world, variable):
    """Endpoint discovery stays on for such a client: it asks DescribeEndpoints and sends the query
    to the address it gets (which must keep the http:// scheme, or it would try TLS)."""
    service, _query = plugin_world
    env = {
        **os.environ,
        variable: service.url,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
    }
    env.pop(
        "AWS_ENDPOINT_URL" if variable != "AWS_ENDPOINT_URL" else "AWS_ENDPOINT_URL_TIMESTREAM_QUERY", None
    )
    done = subprocess.run(
        [sys.executable, "-c", _ENV_CLIENT], check=False, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[0] == "1"


def test_a_tls_client_on_the_plain_port_is_refused_at_once(plugin_world):
    service, _query = plugin_world
    hello = bytes.fromhex("16030100a0010000") + b"\x00" * 160  # a TLS ClientHello's first bytes
    with socket.create_connection(("127.0.0.1", service.port), timeout=10) as sock:
        sock.sendall(hello)
        answer = sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 400")
        assert b"plain HTTP: use an http:// endpoint" in answer
    assert "opened TLS (https) on this plain-HTTP port" in service.log()
