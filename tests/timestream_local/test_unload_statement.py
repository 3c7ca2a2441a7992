"""UNLOAD statements read and checked (timestream_local/query/unload.py): the inner SELECT's text, the
S3 destination, the WITH options with the developer guide's defaults, and each refusal naming the
option at fault. The writing to S3 (over HTTP, against moto) is tested in test_unload.py."""

import pytest

from timestream_local.exceptions import ValidationException
from timestream_local.query.unload import (
    MAX_FILE_SIZE,
    MIN_FILE_SIZE,
    check_partition_columns,
    is_unload,
    parse_s3_uri,
    parse_unload,
)

SELECT = (
    'SELECT station, avg(measure_value::double) AS mean FROM "iot"."pm25" WHERE city = \')\' GROUP BY station'
)


def _refused(sql: str) -> str:
    with pytest.raises(ValidationException) as error:
        parse_unload(sql)
    return str(error.value)


def test_the_select_comes_back_as_the_clients_text_with_the_guides_defaults():
    statement = parse_unload(f"UNLOAD ({SELECT}) TO 's3://my-bucket/exports/daily'")
    assert statement.select == SELECT
    assert (statement.bucket, statement.prefix) == ("my-bucket", "exports/daily/")
    options = statement
    assert (options.format, options.compression, options.encryption) == ("CSV", "GZIP", "SSE_S3")
    assert (options.field_delimiter, options.escaped_by, options.include_header) == (",", "\\", False)
    assert options.partitioned_by == () and options.max_file_size == 78 * 1024**3


def test_a_sample_apps_request_is_read_option_by_option():
    statement = parse_unload(
        f"unload ({SELECT}) to 's3://bucket.one/a/b/' with (format = 'csv', compression = 'NONE', "
        "include_header = 'true', field_delimiter = '|', escaped_by = '#', max_file_size = '16MB', "
        "partitioned_by = ARRAY['station'], encryption = 'SSE_KMS', kms_key = 'arn:aws:kms:k')"
    )
    options = statement
    assert (statement.bucket, statement.prefix) == ("bucket.one", "a/b/")
    assert (options.format, options.compression, options.include_header) == ("CSV", "NONE", True)
    assert (options.field_delimiter, options.escaped_by) == ("|", "#")
    assert options.max_file_size == 16 * 1024**2 and options.partitioned_by == ("station",)
    assert (options.encryption, options.kms_key) == ("SSE_KMS", "arn:aws:kms:k")


def test_parquet_takes_unquoted_partition_columns():
    options = parse_unload(
        f"UNLOAD ({SELECT}) TO 's3://b-1/p/' WITH (format='PARQUET', partitioned_by=ARRAY[city, station])"
    )
    assert options.format == "PARQUET" and options.partitioned_by == ("city", "station")


@pytest.mark.parametrize(
    ("with_clause", "named"),
    [
        ("colour = 'red'", "option 'colour' is unknown"),
        ("format = 'JSON'", "option format is 'JSON'"),
        ("compression = 'ZSTD'", "option compression is 'ZSTD'"),
        ("encryption = 'NONE'", "option encryption is 'NONE'"),
        ("kms_key = 'k'", "kms_key needs encryption = 'SSE_KMS'"),
        ("field_delimiter = ';;'", "option field_delimiter is ';;'"),
        ("escaped_by = ''", "option escaped_by is ''"),
        ("include_header = 'yes'", "option include_header is 'yes'"),
        ("max_file_size = 'big'", "option max_file_size is 'big'"),
        ("format = 'PARQUET', include_header = 'true'", "include_header applies to format 'CSV' only"),
        ("format = 'CSV', format = 'CSV'", "option format is given twice"),
        ("partitioned_by = 'station'", "partitioned_by is ARRAY['column', ...]"),
        ("partitioned_by = ARRAY['a', 'a']", "partitioned_by names a column twice"),
        ("format = 'CSV' compression = 'NONE'", "separated by commas"),
        ("format 'CSV'", "option format is followed by = and its value"),
    ],
)
def test_each_bad_option_is_refused_by_name(with_clause, named):
    assert named in _refused(f"UNLOAD ({SELECT}) TO 's3://bucket/p/' WITH ({with_clause})")


@pytest.mark.parametrize(
    ("size", "accepted"),
    [("16MB", MIN_FILE_SIZE), ("16383KB", None), ("78GB", MAX_FILE_SIZE), ("79GB", None), ("78.1GB", None)],
)
def test_max_file_size_at_its_limits_and_one_past(size, accepted):
    sql = f"UNLOAD ({SELECT}) TO 's3://bucket/p/' WITH (max_file_size = '{size}')"
    if accepted is None:
        assert "between 16MB and 78GB" in _refused(sql)
    else:
        assert parse_unload(sql).max_file_size == accepted


@pytest.mark.parametrize(
    ("uri", "named"),
    [
        ("http://bucket/p/", "starts with s3://"),
        ("s3://", "is not an S3 bucket name"),
        ("s3://Upper/p/", "is not an S3 bucket name"),
        ("s3://ab/p/", "is not an S3 bucket name"),
        ("s3://a..b/p/", "is not an S3 bucket name"),
        ("s3://" + "b" * 64 + "/p/", "is not an S3 bucket name"),
    ],
)
def test_a_malformed_s3_uri_is_refused(uri, named):
    assert named in _refused(f"UNLOAD ({SELECT}) TO '{uri}'")


def test_bucket_names_at_their_length_limits():
    assert parse_s3_uri("s3://abc")[0] == "abc"
    assert parse_s3_uri("s3://" + "b" * 63 + "/x")[0] == "b" * 63
    assert parse_s3_uri("s3://bucket/" + "k" * 511) == ("bucket", "k" * 511 + "/")
    with pytest.raises(ValidationException, match="the limit is 512"):
        parse_s3_uri("s3://bucket/" + "k" * 513)


@pytest.mark.parametrize(
    ("sql", "named"),
    [
        ("UNLOAD SELECT 1 TO 's3://bucket/p/'", "followed by the SELECT in parentheses"),
        ("UNLOAD () TO 's3://bucket/p/'", "hold no SELECT"),
        ("UNLOAD (SELECT 1 TO 's3://bucket/p/'", "not closed"),
        ("UNLOAD (SELECT 1) 's3://bucket/p/'", "followed by TO"),
        ("UNLOAD (SELECT 1) TO bucket", "S3 URI as a string"),
        ("UNLOAD (SELECT 1) TO 's3://bucket/p/' format = 'CSV'", "WITH (...) expected"),
        (
            "UNLOAD (SELECT 1) TO 's3://bucket/p/' WITH (format = 'CSV') ; SELECT 2",
            "after UNLOAD's WITH options",
        ),
    ],
)
def test_a_malformed_statement_is_refused_saying_what_is_expected(sql, named):
    assert named in _refused(sql)


def test_partition_columns_are_the_last_of_the_select_list_in_order():
    check_partition_columns(["mean", "city", "station"], ("city", "station"))
    with pytest.raises(ValidationException, match="'region', which is not in the select list"):
        check_partition_columns(["mean", "city"], ("region",))
    with pytest.raises(ValidationException, match="must be the last columns"):
        check_partition_columns(["city", "mean"], ("city",))
    with pytest.raises(ValidationException, match="must be the last columns"):
        check_partition_columns(["mean", "station", "city"], ("city", "station"))
    with pytest.raises(ValidationException, match="leaves no column"):
        check_partition_columns(["city"], ("city",))


@pytest.mark.parametrize(
    ("sql", "unload"),
    [
        ("UNLOAD (SELECT 1) TO 's3://b/p/'", True),
        ("  (UNLOAD (SELECT 1) TO 's3://b/p/')", True),
        ("unload (SELECT 1) TO 's3://b/p/'", True),
        ("-- the weekly export\nUNLOAD (SELECT 1) TO 's3://b/p/'", True),
        ("/* export */ /* twice */\n -- and a line\n UNLOAD (SELECT 1) TO 's3://b/p/'", True),
        ("-- UNLOAD (SELECT 1) TO 's3://b/p/'\nSELECT 1", False),
        ("/* UNLOAD */ SELECT 1", False),
        ("SELECT 'UNLOAD'", False),
        ("/* UNLOAD (SELECT 1) TO 's3://b/p/'", False),  # an unclosed comment hides the rest
        ("-- only a comment", False),
        ("", False),
    ],
)
def test_an_unload_is_recognised_after_comments_and_only_as_the_first_word(sql, unload):
    assert is_unload(sql) is unload


def test_a_commented_unload_is_read_like_any_other():
    statement = parse_unload(f"-- weekly\n/* export */ UNLOAD ({SELECT}) TO 's3://bucket/weekly/'")
    assert statement.select == SELECT
    assert (statement.bucket, statement.prefix) == ("bucket", "weekly/")
