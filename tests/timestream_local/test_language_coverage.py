"""docs/sql-coverage.md matches the code, and the functions of the time-series chapter answer as AWS's
developer guide defines them (expected values computed here in plain Python, never read from the
store).

Every row of the coverage table is run against a real server over HTTP: a row marked supported must
answer, a row marked refused must be refused with a ValidationException that names the construct.
"""

from __future__ import annotations

import itertools
import math
import re
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.services import ROOT
from tests.timestream_local.store_helpers import query_rows

COVERAGE = ROOT / "docs" / "sql-coverage.md"
_CELL = re.compile(r"(?<!\\)\|")


def _rows(path: Path) -> list[tuple[str, str, str]]:
    """(name, example SQL, status) of every row of the coverage tables."""
    rows = []
    for line in path.read_text().splitlines():
        cells = [cell.strip().replace("\\|", "|") for cell in _CELL.split(line)[1:-1]]
        if len(cells) == 4 and cells[1].startswith("`"):
            rows.append((cells[0], cells[1].strip("`"), cells[2]))
    return rows


ROWS = _rows(COVERAGE)


def test_the_coverage_table_lists_every_chapter():
    assert len(ROWS) > 150
    text = COVERAGE.read_text()
    summary = re.search(r"Summary: (\d+) supported, (\d+) refused\.", text)
    assert summary is not None
    statuses = [status for _name, _sql, status in ROWS]
    assert (statuses.count("supported"), statuses.count("refused")) == tuple(map(int, summary.groups()))
    assert set(statuses) == {"supported", "refused"}


@pytest.mark.parametrize(("name", "sql", "status"), ROWS, ids=[row[0] for row in ROWS])
def test_each_row_of_the_coverage_table_is_true(query, name, sql, status):
    try:
        query.query(QueryString=sql)
    except ClientError as error:
        assert status == "refused", f"{name} is marked supported but: {error}"
        assert error.response["Error"]["Code"] == "ValidationException"
        first = re.split(r"[ /,(]", name.strip())[0].lower()
        assert first in error.response["Error"]["Message"].lower(), error.response["Error"]["Message"]
        return
    assert status == "supported", f"{name} is marked refused but the server answers it"


# ---------------------------------------------------------------------- the time-series chapter

SERIES = [(0, 1.0), (10, 3.0), (20, 2.0), (50, 8.0)]  # (seconds after the start, value)
START = "TIMESTAMP '2026-01-01 00:00:00'"
SOURCE = (
    "FROM (VALUES " + ", ".join(f"({START} + INTERVAL '{s}' SECOND, {v})" for s, v in SERIES) + ") AS s(t, v)"
)


def _series(page: dict) -> list[tuple[str, float]]:
    return [
        (point["Time"], float(point["Value"]["ScalarValue"]))
        for point in page["Rows"][0]["Data"][0]["TimeSeriesValue"]
    ]


def test_derivatives_per_interval(query):
    """derivative_linear(ts, 1m): (v_i - v_i-1) / (t_i - t_i-1) * 60 s, from the second point on."""
    expected = [(b[0], (b[1] - a[1]) / (b[0] - a[0]) * 60) for a, b in itertools.pairwise(SERIES)]
    page = query.query(QueryString=f"SELECT derivative_linear(create_time_series(t, v), 1m) {SOURCE}")
    got = _series(page)
    assert [round(value, 9) for _t, value in got] == [round(v, 9) for _s, v in expected]
    assert [t[17:19] for t, _v in got] == ["10", "20", "50"]
    kept = _series(query.query(
        QueryString=f"SELECT non_negative_derivative_linear(create_time_series(t, v), 1m) {SOURCE}"
    ))  # fmt: skip
    assert [round(value, 9) for _t, value in kept] == [round(v, 9) for _s, v in expected if v >= 0]


@pytest.mark.parametrize(("interval", "seconds"), [("", 1), (", 10s", 10), (", 1m", 60)])
def test_the_trapezoidal_integral_per_interval(query, interval, seconds):
    area = sum((a[1] + b[1]) / 2 * (b[0] - a[0]) for a, b in itertools.pairwise(SERIES))
    rows = query_rows(query, f"SELECT integral_trapezoidal(create_time_series(t, v){interval}) AS i {SOURCE}")
    assert math.isclose(float(rows[0]["i"]), area / seconds, rel_tol=1e-12)


def test_pearsons_correlation_of_two_series_with_the_same_times(query):
    other = [(s, 2 * v + (1 if s == 20 else 0)) for s, v in SERIES]
    xs, ys = [v for _s, v in SERIES], [v for _s, v in other]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    cov = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    expected = cov / math.sqrt(sum((x - mx) ** 2 for x in xs) * sum((y - my) ** 2 for y in ys))
    both = (
        "FROM (VALUES "
        + ", ".join(
            f"({START} + INTERVAL '{s}' SECOND, {v}, {w})"
            for (s, v), (_s, w) in zip(SERIES, other, strict=True)
        )
        + ") AS s(t, v, w)"
    )
    rows = query_rows(
        query, f"SELECT correlate_pearson(create_time_series(t, v), create_time_series(t, w)) AS r {both}"
    )
    assert math.isclose(float(rows[0]["r"]), expected, rel_tol=1e-12)
    with pytest.raises(query.exceptions.ValidationException, match="same timestamps"):
        query.query(QueryString=(
            "SELECT correlate_pearson(a.ts, b.ts) FROM "
            f"(SELECT create_time_series(t, v) AS ts {SOURCE}) a, "
            f"(SELECT create_time_series(t + 1s, v) AS ts {SOURCE}) b"
        ))  # fmt: skip


def natural_cubic_spline(points: list[tuple[float, float]]):
    """The natural cubic spline through points (x strictly increasing), from its definition: second
    derivatives M with M(0) = M(n) = 0 and h(i-1) M(i-1) + 2 (h(i-1) + h(i)) M(i) + h(i) M(i+1) =
    6 (slope(i) - slope(i-1)), solved here by plain Gaussian elimination of the full system."""
    xs, ys = [float(x) for x, _ in points], [float(y) for _, y in points]
    n = len(xs)
    rows = [[0.0] * n + [0.0] for _ in range(n)]
    rows[0][0] = rows[-1][-2] = 1.0
    for i in range(1, n - 1):
        h0, h1 = xs[i] - xs[i - 1], xs[i + 1] - xs[i]
        rows[i][i - 1], rows[i][i], rows[i][i + 1] = h0, 2 * (h0 + h1), h1
        rows[i][n] = 6 * ((ys[i + 1] - ys[i]) / h1 - (ys[i] - ys[i - 1]) / h0)
    for column in range(n):
        pivot = max(range(column, n), key=lambda r: abs(rows[r][column]))
        rows[column], rows[pivot] = rows[pivot], rows[column]
        for r in range(n):
            if r != column and rows[r][column]:
                factor = rows[r][column] / rows[column][column]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[column], strict=True)]
    m = [rows[i][n] / rows[i][i] for i in range(n)]

    def at(x: float) -> float:
        i = max(k for k in range(n - 1) if xs[k] <= x)
        h, before, after = xs[i + 1] - xs[i], xs[i + 1] - x, x - xs[i]
        return (
            (m[i] * before**3 + m[i + 1] * after**3) / (6 * h)
            + (ys[i] - m[i] * h * h / 6) * before / h
            + (ys[i + 1] - m[i + 1] * h * h / 6) * after / h
        )

    return at


def test_cubic_spline_interpolation(query):
    """interpolate_spline_cubic fits the natural cubic spline; sequence points outside the series
    are left out, a point of the series keeps its value."""
    spline = natural_cubic_spline(SERIES)
    sql = (
        f"SELECT interpolate_spline_cubic(create_time_series(t, v), sequence({START} - INTERVAL '5' SECOND, "
        f"{START} + INTERVAL '55' SECOND, 5s)) {SOURCE}"
    )
    got = _series(query.query(QueryString=sql))
    assert [t[17:19] for t, _v in got] == [f"{s:02d}" for s in range(0, 51, 5)]
    for (_t, value), second in zip(got, range(0, 51, 5), strict=True):
        assert math.isclose(value, spline(second), rel_tol=1e-12, abs_tol=1e-12), second
    one = query_rows(
        query, f"SELECT interpolate_spline_cubic(create_time_series(t, v), {START} + 35s) AS v {SOURCE}"
    )
    assert math.isclose(float(one[0]["v"]), spline(35), rel_tol=1e-12)
    # two points: the natural spline through them is the straight line (1.0 at 0 s, 3.0 at 10 s)
    two = query_rows(query, (
        f"SELECT interpolate_spline_cubic(create_time_series(t, v), {START} + 4s) AS v FROM "
        f"(VALUES ({START}, 1.0), ({START} + 10s, 3.0)) AS s(t, v)"
    ))  # fmt: skip
    assert math.isclose(float(two[0]["v"]), 1.0 + 2.0 * 4 / 10, rel_tol=1e-12)
    with pytest.raises(query.exceptions.ValidationException, match="distinct times"):
        query.query(QueryString=(
            f"SELECT interpolate_spline_cubic(create_time_series(t, v), sequence(min(t), max(t), 1s)) FROM "
            f"(VALUES ({START}, 1.0), ({START}, 2.0), ({START} + 2s, 3.0)) AS s(t, v)"
        ))  # fmt: skip


def average_ranks(values: list[float]) -> list[float]:
    """Ranks from 1, tied values sharing the mean of the positions they take."""
    order = sorted(values)
    return [(order.index(v) + 1 + len(order) - order[::-1].index(v)) / 2 for v in values]


def pearson(xs: list[float], ys: list[float]) -> float:
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    cov = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    return cov / math.sqrt(sum((x - mx) ** 2 for x in xs) * sum((y - my) ** 2 for y in ys))


def test_spearmans_correlation_ranks_ties_by_their_mean_rank(query):
    other = [5.0, 2.0, 2.0, 9.0]  # a tie in the second series
    expected = pearson(average_ranks([v for _s, v in SERIES]), average_ranks(other))
    both = (
        "FROM (VALUES "
        + ", ".join(
            f"({START} + INTERVAL '{s}' SECOND, {v}, {w})" for (s, v), w in zip(SERIES, other, strict=True)
        )
        + ") AS s(t, v, w)"
    )
    rows = query_rows(
        query, f"SELECT correlate_spearman(create_time_series(t, v), create_time_series(t, w)) AS r {both}"
    )
    assert math.isclose(float(rows[0]["r"]), expected, rel_tol=1e-12)
    with pytest.raises(
        query.exceptions.ValidationException,
        match=r"correlate_spearman\(\) needs two time series with the same timestamps",
    ):
        query.query(QueryString=(
            "SELECT correlate_spearman(a.ts, b.ts) FROM "
            f"(SELECT create_time_series(t, v) AS ts {SOURCE}) a, "
            f"(SELECT create_time_series(t + 1s, v) AS ts {SOURCE}) b"
        ))  # fmt: skip


def test_reduce_values_and_other_additions(query):
    rows = query_rows(query, (
        "SELECT reduce(ARRAY[5, 20, 50], 0, (s, x) -> s + x, s -> s * 2) AS r, "
        "reduce(ARRAY[], 7, (s, x) -> s + x, s -> s) AS empty, current_timezone() AS tz, "
        "last_day_of_month(TIMESTAMP '2024-02-10 00:00:00') AS leap"
    ))  # fmt: skip
    assert rows == [{"r": str((5 + 20 + 50) * 2), "empty": "7", "tz": "UTC", "leap": "2024-02-29"}]
    values = [4.0, 9.0, 12.5]
    rows = query_rows(query, (
        "SELECT avg(x) AS a, geometric_mean(x) AS g, count(*) AS n FROM (VALUES "
        + ", ".join(str(v) for v in values) + ") AS t(x)"
    ))  # fmt: skip
    assert math.isclose(float(rows[0]["a"]), sum(values) / 3)
    assert math.isclose(float(rows[0]["g"]), math.prod(values) ** (1 / 3), rel_tol=1e-12)
    assert rows[0]["n"] == "3"
    ignored = query_rows(query, (
        "SELECT y, last_value(x) IGNORE NULLS OVER (ORDER BY y ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) "
        "AS last FROM (VALUES (1, 1), (NULL, 2), (3, 3), (NULL, 4)) AS t(x, y) ORDER BY y"
    ))  # fmt: skip
    assert [row["last"] for row in ignored] == ["1", "1", "3", "3"]
    assert query_rows(query, "SELECT time '13:45:30.25' AS t") == [{"t": "13:45:30.250000000"}]


def test_mathematical_bitwise_and_string_additions(query):
    rows = query_rows(query, (
        "SELECT e() AS e, atan2(1.0, 1.0) AS quarter, cosh(0.0) AS one, is_finite(1.0) AS finite, "
        "is_infinite(infinity()) AS inf, is_nan(nan()) AS nan, bitwise_and(12, 10) AS band, "
        "bitwise_or(12, 10) AS bor, bitwise_xor(12, 10) AS bxor, bitwise_not(0) AS bnot, codepoint('A') AS cp, "
        "hamming_distance('abc', 'abd') AS h"
    ))[0]  # fmt: skip
    assert math.isclose(float(rows["e"]), math.e) and math.isclose(float(rows["quarter"]), math.pi / 4)
    assert (rows["one"], rows["finite"], rows["inf"], rows["nan"]) == ("1.0", "true", "true", "true")
    assert (rows["band"], rows["bor"], rows["bxor"], rows["bnot"]) == (
        str(12 & 10),
        str(12 | 10),
        str(12 ^ 10),
        "-1",
    )
    assert (rows["cp"], rows["h"]) == ("65", "1")
    with pytest.raises(query.exceptions.ValidationException, match="one character"):
        query.query(QueryString="SELECT codepoint('AB')")


def test_date_and_aggregate_additions(query):
    ts = "TIMESTAMP '2021-01-01 05:06:07.123'"
    rows = query_rows(query, (
        f"SELECT millisecond({ts}) AS ms, day_of_month({ts}) AS dom, year_of_week({ts}) AS yw, yow({ts}) AS yow, "
        "from_iso8601_date('2026-01-02') AS d"
    ))  # fmt: skip
    # 2021-01-01 is a Friday of ISO week 53 of 2020
    assert rows == [{"ms": "123", "dom": "1", "yw": "2020", "yow": "2020", "d": "2026-01-02"}]
    points = [(1.0, 2.0), (2.0, 4.5), (4.0, 8.0)]
    n = len(points)
    mx, my = sum(x for x, _ in points) / n, sum(y for _, y in points) / n
    slope = sum((x - mx) * (y - my) for x, y in points) / sum((x - mx) ** 2 for x, _ in points)
    values = ", ".join(
        f"({x}, {y}, {b}, {k})"
        for (x, y), b, k in zip(points, ["true", "false", "true"], [12, 10, 6], strict=True)
    )
    rows = query_rows(query, (
        "SELECT regr_slope(y, x) AS s, regr_intercept(y, x) AS i, every(b) AS every, bitwise_and_agg(k) AS band, "
        f"bitwise_or_agg(k) AS bor FROM (VALUES {values}) AS t(x, y, b, k)"
    ))[0]  # fmt: skip
    assert math.isclose(float(rows["s"]), slope) and math.isclose(float(rows["i"]), my - slope * mx)
    assert (rows["every"], rows["band"], rows["bor"]) == ("false", str(12 & 10 & 6), str(12 | 10 | 6))
    rolled = query_rows(
        query, "SELECT x, count(*) AS n FROM (VALUES 1, 2, 2) t(x) GROUP BY ROLLUP (x) ORDER BY x"
    )
    assert rolled == [{"x": "1", "n": "1"}, {"x": "2", "n": "2"}, {"x": None, "n": "3"}]


def _array(page: dict, column: int = 0) -> list:
    datum = page["Rows"][0]["Data"][column]
    if datum.get("NullValue"):
        return None
    return [None if d.get("NullValue") else d["ScalarValue"] for d in datum["ArrayValue"]]


def test_regular_expression_and_array_additions(query):
    def one(sql: str):
        return query.query(QueryString=sql)

    assert query_rows(query, (
        "SELECT regexp_extract('a1b2', '[0-9]') AS first, regexp_extract('abc', '[0-9]') AS none, "
        "regexp_extract('a1b2', '([a-z])([0-9])', 2) AS grp, regexp_replace('a1b2', '[0-9]', 'x') AS rep, "
        "regexp_replace('a1b2', '[0-9]') AS gone"
    )) == [{"first": "1", "none": None, "grp": "1", "rep": "axbx", "gone": "ab"}]  # fmt: skip
    assert _array(one("SELECT regexp_extract_all('a1b22', '[0-9]+')")) == ["1", "22"]
    assert _array(one("SELECT regexp_split('a1b2c', '[0-9]')")) == ["a", "b", "c"]
    with pytest.raises(query.exceptions.ValidationException, match="named group references"):
        one("SELECT regexp_replace('a1', '([0-9])', '<${n}>')")
    assert _array(one("SELECT array_intersect(ARRAY[1, 2, 2, 3], ARRAY[3, 2, 5])")) == ["2", "3"]
    assert _array(one("SELECT array_except(ARRAY[1, 2, 2, 3, NULL], ARRAY[2])")) == ["1", "3", None]
    assert _array(one("SELECT array_union(ARRAY[1, 2], ARRAY[2, 3])")) == ["1", "2", "3"]
    assert _array(one("SELECT array_remove(ARRAY[3, 4, 5, 4], 4)")) == ["3", "5"]
    assert _array(one("SELECT repeat('x', 3)")) == ["x", "x", "x"]
    assert query_rows(query, (
        "SELECT array_position(ARRAY[3, 4, 5], 5) AS p, array_position(ARRAY[3, 4], 9) AS missing, "
        "arrays_overlap(ARRAY[1, 2], ARRAY[2, 3]) AS yes, arrays_overlap(ARRAY[1], ARRAY[2]) AS no, "
        "arrays_overlap(ARRAY[1, NULL], ARRAY[2]) AS unknown"
    )) == [{"p": "3", "missing": "0", "yes": "true", "no": "false", "unknown": None}]  # fmt: skip
    for count in (10_001, -1):
        with pytest.raises(query.exceptions.ValidationException, match="count argument of repeat"):
            one(f"SELECT repeat(1, {count})")
    assert len(_array(one("SELECT repeat(1, 10000)"))) == 10_000


def test_slice_and_bin_of_a_timestamp_string(query):
    def array(sql):
        return _array(query.query(QueryString=sql))

    values = [1, 2, 3, 4]
    literal = "ARRAY[1, 2, 3, 4]"
    for start, length in [(2, 2), (1, 10), (-2, 2), (-3, 1), (4, 0), (-9, 2)]:
        begin = start - 1 if start > 0 else len(values) + start
        expected = [] if begin < 0 else values[begin : begin + length]
        assert array(f"SELECT slice({literal}, {start}, {length})") == [str(v) for v in expected], (
            start,
            length,
        )
    with pytest.raises(query.exceptions.ValidationException, match="indices start at 1"):
        array(f"SELECT slice({literal}, 0, 1)")
    rows = query_rows(query, "SELECT bin('2023-09-20 17:12:22.958000000', 1m) AS b")
    assert rows == [{"b": "2023-09-20 17:12:00.000000000"}]


# Names sqlglot reads from other dialects for functions Timestream has under another name: AWS
# refuses them ("Function last_day not registered"), so code that runs here must not rely on them.
OTHER_DIALECTS = [
    "SELECT last_day(DATE '2026-02-10')",
    "SELECT len('abc')",
    "SELECT char_length('abc')",
    "SELECT ucase('abc')",
    "SELECT instr('abc', 'b')",
    "SELECT char(65)",
    "SELECT levenshtein('a', 'b')",
    "SELECT ifnull(NULL, 1)",
    "SELECT array_length(ARRAY[1, 2])",
    "SELECT generate_series(1, 3)",
    "SELECT arg_max(x, y) FROM (VALUES (1, 2)) AS t(x, y)",
    "SELECT any_value(x) FROM (VALUES 1) AS t(x)",
    # not in the function table, but read into nodes Trino writes otherwise (IF, CAST, LIKE, ARRAY[...])
    "SELECT iif(true, 1, 2)",
    "SELECT date_to_date_str(DATE '2026-01-01')",
    "SELECT like('a', 'a')",
    "SELECT array(1)",
    "SELECT struct(1)",
]


@pytest.mark.parametrize("sql", OTHER_DIALECTS)
def test_names_of_other_dialects_are_refused_by_name(query, sql):
    name = re.search(r"SELECT (\w+)\(", sql).group(1)
    with pytest.raises(query.exceptions.ValidationException, match=rf"function {name}\(\) is not supported"):
        query.query(QueryString=sql)
