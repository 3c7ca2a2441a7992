"""Functions of Timestream's reference added to the coverage (number bases and buckets, bit_count,
skewness and kurtosis, the clock, date/time text, parse_duration, ngrams, zip, zip_with, shuffle),
over HTTP against a real timestream_local. Expected values are computed here in plain Python from
the functions' definitions in Trino's documentation and implementation (the rule each follows is
named next to it); limits are tested at the limit and one past it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import re

import pytest

TRINO = "https://trino.io/docs/current/functions"
DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def _cell(datum: dict) -> object:
    if "ArrayValue" in datum:
        return [_cell(item) for item in datum["ArrayValue"]]
    if "RowValue" in datum:
        return tuple(_cell(item) for item in datum["RowValue"]["Data"])
    return None if datum.get("NullValue") else datum.get("ScalarValue")


def _row(query, sql: str) -> list[object]:
    page = query.query(QueryString=sql)
    assert len(page["Rows"]) == 1, page
    return [_cell(datum) for datum in page["Rows"][0]["Data"]]


def _types(query, sql: str) -> list[str]:
    return [column["Type"].get("ScalarType", "?") for column in query.query(QueryString=sql)["ColumnInfo"]]


def _refused(query, sql: str, message: str) -> None:
    with pytest.raises(query.exceptions.ValidationException) as error:
        query.query(QueryString=sql)
    assert message.rstrip() in str(error.value), str(error.value)


# ----------------------------------------------------------------- numbers (math.html, bitwise.html)


def java_to_base(value: int, radix: int) -> str:
    """Long.toString(value, radix): lower-case digits, a minus sign."""
    digits, rest = "", abs(value)
    while True:
        rest, digit = divmod(rest, radix)
        digits = DIGITS[digit] + digits
        if rest == 0:
            return ("-" if value < 0 else "") + digits


@pytest.mark.parametrize(
    ("value", "radix"),
    [
        (255, 16),
        (-255, 16),
        (0, 2),
        (5, 2),
        (-(2**63), 16),
        (2**63 - 1, 36),
        (-(2**63), 2),
        (35, 36),
        (-7, 3),
    ],
)
def test_to_base(query, value, radix):
    # the smallest BIGINT is written as an expression: its literal would not fit
    literal = f"({value + 1} - 1)" if value == -(2**63) else str(value)
    assert _row(query, f"SELECT to_base({literal}, {radix})") == [java_to_base(value, radix)]


@pytest.mark.parametrize("radix", [1, 37])
def test_to_base_radix_one_past_its_limits(query, radix):
    _refused(query, f"SELECT to_base(5, {radix})", "Radix must be between 2 and 36")


def java_parse_long(text: str, radix: int) -> int | None:
    """Long.parseLong(text, radix); None where it throws."""
    body = text[1:] if text[:1] in "+-" else text
    if not body or any(c.lower() not in DIGITS[:radix] for c in body):
        return None
    value = int(text, radix)
    return value if -(2**63) <= value < 2**63 else None


@pytest.mark.parametrize(
    ("text", "radix"),
    [("ff", 16), ("-FF", 16), ("+7fffffffffffffff", 16), ("-8000000000000000", 16), ("zz", 36),
     ("101", 2), ("0009", 10), ("8000000000000000", 16), ("-8000000000000001", 16), ("12", 2), ("", 10),
     ("1 ", 10), ("+-1", 10), ("1" * 64, 2), ("1" + "0" * 63, 2)],
)  # fmt: skip
def test_from_base(query, text, radix):
    expected = java_parse_long(text, radix)
    sql = f"SELECT from_base('{text}', {radix})"
    if expected is None:
        _refused(query, sql, f"Not a valid base-{radix} number: {text}")
    else:
        assert _row(query, sql) == [str(expected)]
        assert _types(query, sql) == ["BIGINT"]


def test_from_base_radix_one_past_its_limits(query):
    _refused(query, "SELECT from_base('1', 1)", "Radix must be between 2 and 36")
    _refused(query, "SELECT from_base('1', 37)", "Radix must be between 2 and 36")
    assert _row(query, "SELECT from_base('z', 36), from_base('1', 2)") == ["35", "1"]


def width_bucket(x: float, bound1: float, bound2: float, n: int) -> int:
    """The bucket of x among n equal-width buckets between the bounds (math.html width_bucket):
    0 below the lower bound, n + 1 at or above the upper one, numbered from bound1's side."""
    lower, upper = min(bound1, bound2), max(bound1, bound2)
    if x < lower:
        bucket = 0
    elif x >= upper:
        bucket = n + 1
    else:
        bucket = int(n * (x - lower) / (upper - lower) + 1)
    return n - bucket + 1 if bound1 > bound2 else bucket


@pytest.mark.parametrize(
    "args",
    [(3.14, 0, 4, 3), (2, 0, 4, 3), (4, 0, 4, 3), (0, 0, 4, 3), (-1, 0, 3.2, 4), (3.14, 4, 0, 3),
     (2, 4, 0, 3), (-1, 3.2, 0, 4), (5.3, 0.2, 10.6, 5), (10.6, 0.2, 10.6, 5)],
)  # fmt: skip
def test_width_bucket(query, args):
    assert _row(query, f"SELECT width_bucket({', '.join(map(str, args))})") == [str(width_bucket(*args))]


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT width_bucket(3.14, 0, 4, 0)", "bucketCount must be greater than 0"),
        ("SELECT width_bucket(nan(), 0, 4, 3)", "operand must not be NaN"),
        ("SELECT width_bucket(3.14, -1, -1, 3)", "bounds cannot equal each other"),
        ("SELECT width_bucket(3.14, infinity(), -1, 3)", "first bound must be finite"),
        ("SELECT width_bucket(3.14, -1, nan(), 3)", "second bound must be finite"),
        ("SELECT width_bucket(1, ARRAY[])", "Bins cannot be an empty array"),
        ("SELECT width_bucket(1, ARRAY[2.0, 1.0])", "Bin values are not sorted in ascending order"),
        ("SELECT width_bucket(1, ARRAY[1.0, infinity()])", "Bin value must be finite"),
    ],
)
def test_width_bucket_refusals(query, sql, message):
    _refused(query, sql, message)


@pytest.mark.parametrize("x", [0.5, 1.0, 1.5, 5.0, 7.0, 9.0])
def test_width_bucket_of_bins(query, x):
    bins = [1.0, 2.0, 5.0, 7.0]
    expected = sum(1 for b in bins if b <= x)  # bins at or below x (math.html width_bucket(x, bins))
    assert _row(query, f"SELECT width_bucket({x}, ARRAY[1.0, 2.0, 5.0, 7.0])") == [str(expected)]


def bit_count(value: int, bits: int) -> int:
    """The 1 bits of value's two's complement in `bits` bits (bitwise.html bit_count)."""
    return bin(value & ((1 << bits) - 1)).count("1")


@pytest.mark.parametrize(
    ("value", "bits"),
    [(9, 64), (-7, 64), (-1, 62), (33554132, 26), (-1, 26), (1152921504598458367, 62), (1, 2), (-2, 2),
     (2**62 - 1, 63), (-(2**62), 63), (0, 64)],
)  # fmt: skip
def test_bit_count(query, value, bits):
    assert _row(query, f"SELECT bit_count({value}, {bits})") == [str(bit_count(value, bits))]


@pytest.mark.parametrize(("value", "bits"), [(2, 2), (-3, 2), (2**62, 63), (33554132, 25)])
def test_bit_count_of_a_number_one_past_what_the_bits_hold(query, value, bits):
    _refused(
        query,
        f"SELECT bit_count({value}, {bits})",
        f"Number must be representable with the bits specified. {value} cannot be represented with {bits} bits",
    )


@pytest.mark.parametrize("bits", [1, 65])
def test_bit_count_bits_one_past_their_limits(query, bits):
    _refused(
        query,
        f"SELECT bit_count(0, {bits})",
        f"Bits specified in bit_count must be between 2 and 64, got {bits}",
    )


def moments(values: list[float]) -> tuple[float, float, float, float]:
    n, mean = len(values), sum(values) / len(values)
    return (n, *(sum((v - mean) ** k for v in values) for k in (2, 3, 4)))


def skewness(values: list[float]) -> float | None:
    """aggregate.html skewness: Fisher's moment coefficient, sqrt(n) m3 / m2^1.5; NULL under 3 values."""
    n, m2, m3, _m4 = moments(values)
    return None if n < 3 else math.sqrt(n) * m3 / m2**1.5


def kurtosis(values: list[float]) -> float | None:
    """aggregate.html kurtosis: the unbiased excess kurtosis; NULL under 4 values."""
    n, m2, _m3, m4 = moments(values)
    if n < 4:
        return None
    return (n - 1) * n * (n + 1) / ((n - 2) * (n - 3)) * m4 / m2**2 - 3 * (n - 1) ** 2 / ((n - 2) * (n - 3))


@pytest.mark.parametrize(
    "values", [[1.0, 2.0], [1.0, 2.0, 4.0], [1.0, 2.0, 4.0, 9.0], [3.5, -2.0, 8.25, 0.0, 11.0, 4.0, 4.0]]
)
def test_skewness_and_kurtosis(query, values):
    source = ", ".join(map(str, values))
    got = _row(query, f"SELECT skewness(x), kurtosis(x) FROM (VALUES {source}) AS t(x)")
    for value, expected in zip(got, (skewness(values), kurtosis(values)), strict=True):
        if expected is None:
            assert value is None
        else:
            assert math.isclose(float(value), expected, rel_tol=1e-12), (values, got)


def test_skewness_and_kurtosis_of_equal_values_are_nan(query):
    # m2 = 0: both formulas divide zero by zero, which is NaN in Java's double arithmetic
    assert _row(query, "SELECT skewness(x), kurtosis(x) FROM (VALUES 2.0, 2.0, 2.0, 2.0) AS t(x)") == [
        "NaN",
        "NaN",
    ]
    _refused(
        query,
        "SELECT skewness(x) OVER () FROM (VALUES 1.0) AS t(x)",
        "skewness() is not supported as a window",
    )


def test_random_below_a_bound(query):
    # math.html random(n): a number of n's type in [0, n); n = 1 always gives 0, n = 0 is refused
    sql = "SELECT min(random(3)), max(random(3)), max(random(1)) FROM UNNEST(sequence(1, 2000)) AS t(i)"
    assert _row(query, sql) == ["0", "2", "0"]  # each of 0 and 2 is missed with probability (2/3)^2000
    assert _types(query, "SELECT random(10), random(CAST(10 AS BIGINT)), random()") == [
        "INTEGER",
        "BIGINT",
        "DOUBLE",
    ]
    assert _row(query, "SELECT (random(1) + 5) / 2") == ["2"]  # integer division: random(n) is an integer
    _refused(query, "SELECT random(0)", "bound must be positive")


# ---------------------------------------------------------------------------- date and time


def test_current_time_localtime_and_localtimestamp_are_now_in_utc(query):
    before = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    sql = "SELECT current_time, localtime, localtimestamp, current_timestamp"
    page = query.query(QueryString=sql)
    after = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    assert [c["Type"]["ScalarType"] for c in page["ColumnInfo"]] == ["TIME", "TIME", "TIMESTAMP", "TIMESTAMP"]
    time_of_day, local_time, local_stamp, stamp = (_cell(d) for d in page["Rows"][0]["Data"])
    assert (
        local_stamp == stamp and time_of_day == local_time and len(time_of_day) == len("17:41:52.827000000")
    )
    moment = dt.datetime.strptime(stamp[:26], "%Y-%m-%d %H:%M:%S.%f")
    assert before - dt.timedelta(seconds=1) <= moment <= after
    clock = dt.datetime.combine(moment.date(), dt.time.fromisoformat(time_of_day[:15]))
    assert abs(clock - moment) < dt.timedelta(milliseconds=1)


def test_to_iso8601(query):
    moment = dt.datetime(2026, 1, 2, 3, 4, 5, 123456)
    got = _row(
        query, "SELECT to_iso8601(TIMESTAMP '2026-01-02 03:04:05.123456789'), to_iso8601(DATE '2026-01-02')"
    )
    assert got == [moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "789", moment.date().isoformat()]
    _refused(query, "SELECT to_iso8601('2026-01-02')", "to_iso8601() takes a date or a timestamp")


@pytest.mark.parametrize(
    ("pattern", "python"),
    [
        ("yyyy-MM-dd'T'HH:mm:ss.SSS", "%Y-%m-%dT%H:%M:%S.{ms}"),
        ("yy/M/d H:m:s", "{yy}/{month}/{day} {hour}:{minute}:{second}"),
        ("EEEE, MMMM d, yyyy hh a", "%A, %B {day}, %Y %I %p"),
        ("EEE MMM dd ''yy Z z", "%a %b %d '{yy} +0000 UTC"),
        ("D DDD ww e", "{doy} %j %V {dow}"),
        ("xxxx-'W'ww", "%G-W%V"),
    ],
)
def test_format_datetime(query, pattern, python):
    moment = dt.datetime(2026, 3, 7, 4, 5, 6, 789000)
    fields = {
        "ms": "789", "yy": "26", "month": "3", "day": "7", "hour": "4", "minute": "5", "second": "6",
        "doy": str(moment.timetuple().tm_yday), "dow": str(moment.isoweekday()),
    }  # fmt: skip
    expected = moment.strftime(python.format(**fields))
    quoted = pattern.replace("'", "''")
    sql = f"SELECT format_datetime(TIMESTAMP '2026-03-07 04:05:06.789', '{quoted}')"
    assert _row(query, sql) == [expected]


@pytest.mark.parametrize(("pattern", "message"), [("G", "pattern letter G"), ("SS", "SS is not supported"),
                                                  ("ddd", "ddd is not supported"), ("'open", "unclosed quote"),
                                                  ("xx", "xx is not supported")])  # fmt: skip
def test_format_datetime_refuses_what_it_cannot_write(query, pattern, message):
    quoted = pattern.replace("'", "''")
    _refused(query, f"SELECT format_datetime(TIMESTAMP '2026-03-07 04:05:06', '{quoted}')", message)


@pytest.mark.parametrize(
    ("text", "mysql", "python"),
    [
        ("2026-01-02 03:04:05", "%Y-%m-%d %H:%i:%s", "%Y-%m-%d %H:%M:%S"),
        ("02/01/2026 11:30 PM", "%d/%m/%Y %h:%i %p", "%d/%m/%Y %I:%M %p"),
        ("March 7 2026", "%M %e %Y", "%B %d %Y"),
        ("2026-001 12:00:00", "%Y-%j %T", "%Y-%j %H:%M:%S"),
    ],
)
def test_date_parse(query, text, mysql, python):
    expected = dt.datetime.strptime(text, python).strftime("%Y-%m-%d %H:%M:%S.000000000")
    assert _row(query, f"SELECT date_parse('{text}', '{mysql}')") == [expected]


def test_date_parse_refusals(query):
    _refused(query, "SELECT date_parse('yesterday', '%Y-%m-%d')", 'Invalid format: "yesterday"')
    _refused(query, "SELECT date_parse('2026', '%Y%U')", "%U is not supported")


def day_to_second(millis: int) -> str:
    days, rest = divmod(millis, 86_400_000)
    clock = dt.timedelta(milliseconds=rest)
    hours, seconds = divmod(clock.seconds, 3600)
    return f"{days} {hours:02d}:{seconds // 60:02d}:{seconds % 60:02d}.{clock.microseconds // 1000:03d}000000"


@pytest.mark.parametrize(
    ("text", "millis"),
    [("3.5h", 3.5 * 3_600_000), (" 42 ms ", 42), ("1d", 86_400_000), ("90m", 90 * 60_000), ("1.0005s", 1000.5),
     ("2500us", 2.5), ("999999ns", 0.999999), ("0s", 0)],
)  # fmt: skip
def test_parse_duration(query, text, millis):
    # rounded to whole milliseconds, halves up (Trino's INTERVAL DAY TO SECOND holds milliseconds)
    sql = f"SELECT parse_duration('{text}')"
    assert _types(query, sql) == ["INTERVAL_DAY_TO_SECOND"]
    assert _row(query, sql) == [day_to_second(math.floor(millis + 0.5))]


def test_parse_duration_is_a_day_to_second_interval(query):
    got = _row(query, (
        "SELECT TIMESTAMP '2026-01-01 00:00:00' + parse_duration('1h'), parse_duration('90m') * 2"
    ))  # fmt: skip
    assert got == ["2026-01-01 01:00:00.000000000", day_to_second(3 * 3_600_000)]
    _refused(query, "SELECT parse_duration('1h') + INTERVAL '1' MONTH", "Cannot apply operator")


def test_parse_duration_refusals(query):
    _refused(query, "SELECT parse_duration('3 years')", "Unknown time unit: years")
    _refused(query, "SELECT parse_duration('-1h')", "duration is not a valid data duration string: -1h")


# ------------------------------------------------------------------------------------- arrays


@pytest.mark.parametrize(
    ("values", "n"),
    [(["foo", "bar", "baz", "foo"], 2), (["a", "b"], 5), (["a", "b", "c"], 1), (["a", "b"], 2)],
)
def test_ngrams(query, values, n):
    size = min(n, len(values))  # array.html ngrams: the whole array when n exceeds its length
    expected = [values[i : i + size] for i in range(len(values) - size + 1)]
    literal = "ARRAY[" + ", ".join(f"'{v}'" for v in values) + "]"
    assert _row(query, f"SELECT ngrams({literal}, {n})") == [expected]


def test_ngrams_n_at_and_past_its_limit(query):
    assert _row(query, "SELECT ngrams(ARRAY[1, 2], 1)") == [[["1"], ["2"]]]
    _refused(query, "SELECT ngrams(ARRAY[1, 2], 0)", "N must be positive")


def test_zip_pads_the_shorter_arrays_with_null(query):
    first, second, third = [1, 2], ["1b", None, "3b"], [True]
    expected = [
        tuple(None if v is None else str(v).lower() for v in row)
        for row in itertools.zip_longest(first, second, third)
    ]
    got = _row(query, "SELECT zip(ARRAY[1, 2], ARRAY['1b', null, '3b'], ARRAY[true])")
    assert got == [expected]
    assert _row(query, "SELECT zip(ARRAY[1], NULL)") == [None]


def test_zip_with(query):
    left, right = [1, 3, 5], [10, 20]
    sums = [None if a is None or b is None else a + b for a, b in itertools.zip_longest(left, right)]
    got = _row(query, (
        "SELECT zip_with(ARRAY[1, 3, 5], ARRAY[10, 20], (x, y) -> x + y), "
        "zip_with(ARRAY['a', 'b'], ARRAY['c', 'd'], (x, y) -> concat(y, x)), "
        "zip_with(ARRAY[1, 2], ARRAY[3, 4], (x, y) -> x * 10)"
    ))  # fmt: skip
    assert got == [[None if s is None else str(s) for s in sums], ["ca", "db"], ["10", "20"]]
    # nested, and reading a column of the row
    assert _row(query, (
        "SELECT zip_with(zip_with(ARRAY[1], ARRAY[2], (x, y) -> x + y), ARRAY[5], (x, y) -> x * y + c) "
        "FROM (VALUES 100) AS t(c)"
    )) == [[str((1 + 2) * 5 + 100)]]  # fmt: skip
    _refused(
        query, "SELECT zip_with(ARRAY[1], ARRAY[2], x -> x)", "zip_with() takes two arrays and a function"
    )


def test_shuffle_is_a_permutation(query):
    values = list(range(1, 21))
    got = _row(query, f"SELECT shuffle(ARRAY[{', '.join(map(str, values))}])")[0]
    assert sorted(int(v) for v in got) == values


@pytest.mark.parametrize(
    ("sql", "name"),
    [("SELECT try(1 / 0)", "try"), ("SELECT map_agg(x, y) FROM (VALUES (1, 2)) AS t(x, y)", "map_agg")],
)
def test_what_stays_refused_says_why(query, sql, name):
    _refused(query, sql, f"function {name}() is not supported by timestream_local: ")


# ----------------------------------------------------------------- optional arguments (string.html)


@pytest.mark.parametrize(
    ("text", "delimiter", "limit"),
    [("a,b,c", ",", 2), ("a,b,c", ",", 1), ("a,b,c", ",", 3), ("a,b,c", ",", 4), ("a::b::c::", "::", 3),
     ("", ",", 2), ("a,b,", ",", 2), ("ab", ",", 1)],
)  # fmt: skip
def test_split_with_a_limit(query, text, delimiter, limit):
    # string.html split(string, delimiter, limit): at most limit parts, the last holding the rest
    # (Java's and Python's split agree on that rest: str.split with limit - 1 splits)
    assert _row(query, f"SELECT split('{text}', '{delimiter}', {limit})") == [
        text.split(delimiter, limit - 1)
    ]


def test_split_refusals(query):
    _refused(query, "SELECT split('a,b', ',', 0)", "Limit must be positive")
    _refused(query, "SELECT split('a,b', '')", "The delimiter may not be the empty string")


def nth_position(text: str, part: str, instance: int) -> int:
    """string.html strpos(string, substring, instance): where the instance-th occurrence starts
    (occurrences may overlap; counted from the end when instance is negative), 0 if there are fewer."""
    if not part:
        return 1
    starts = [i + 1 for i in range(len(text)) if text.startswith(part, i)]
    index = instance - 1 if instance > 0 else len(starts) + instance
    return starts[index] if 0 <= index < len(starts) else 0


@pytest.mark.parametrize(
    ("text", "part", "instance"),
    [("abcb", "b", 1), ("abcb", "b", 2), ("abcb", "b", 3), ("abcb", "b", -1), ("abcb", "b", -2), ("abcb", "b", -3),
     ("aaa", "aa", 2), ("aaa", "aa", -1), ("abc", "", 5), ("héllo wörld", "l", 3)],
)  # fmt: skip
def test_strpos_with_an_instance(query, text, part, instance):
    assert _row(query, f"SELECT strpos('{text}', '{part}', {instance})") == [
        str(nth_position(text, part, instance))
    ]


def test_strpos_instance_zero_is_refused(query):
    _refused(query, "SELECT strpos('abc', 'b', 0)", "'instance' must be a positive or negative number.")


def test_approx_distinct_error_bound_at_and_past_its_limits(query):
    source = "FROM (VALUES 1, 2, 2, 3) AS t(x)"
    assert _row(query, f"SELECT approx_distinct(x, 0.0040625), approx_distinct(x, 0.26) {source}") == [
        "3",
        "3",
    ]
    for error in ("0.004", "0.27"):
        _refused(query, f"SELECT approx_distinct(x, {error}) {source}", "e must be a number between")
    _refused(query, f"SELECT approx_percentile(x, 2, 0.5) {source}", "with weights is not supported")


@pytest.mark.parametrize(
    ("text", "pattern", "java", "python"),
    [
        ("1a 2b 14m", r"(\d+)([ab]) ", "3c$2 ", r"3c\2 "),  # regexp.html's example
        ("abc", "(b)", "[$0$1$12]", r"[\g<0>\1\g<1>2]"),  # $12 with one group: group 1, then a 2
        ("abc", "(b)", r"x\\y\$1", "x\\\\y$1"),  # \\ is a backslash, \$ a dollar sign
        ("a.b.c", r"\.", "", ""),
    ],
)
def test_regexp_replace_reads_javas_replacement_syntax(query, text, pattern, java, python):
    expected = re.sub(pattern, python, text)
    assert _row(query, f"SELECT regexp_replace('{text}', '{pattern}', '{java}')") == [expected]


@pytest.mark.parametrize(
    ("replacement", "message"),
    [("$2", "No group 2"), ("${n}", "named group references"), ("$x", "Illegal group reference"),
     ("x\\", "character to be escaped is missing")],
)  # fmt: skip
def test_regexp_replace_refuses_what_java_would_refuse(query, replacement, message):
    _refused(query, f"SELECT regexp_replace('abc', '(b)', '{replacement}')", message)
