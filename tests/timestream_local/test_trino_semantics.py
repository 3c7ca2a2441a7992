"""Timestream's query language follows Trino's semantics; these cases hold timestream_local to them.

Each case is one query sent over HTTP with boto3 to a real timestream_local server, and states the
result column type Timestream reports and the value (or the error) Trino gives. Every expectation
names its source: Trino's documentation (trino.io/docs/current/...), Trino's own implementation
(trinodb/trino, where the documentation is silent), AWS's Timestream query-language reference, or a
plain-Python computation of the documented rule done here. None comes from the store's output.

Most cases need no table (``SELECT <expression>``, or ``FROM UNNEST(ARRAY[...])`` for a few rows);
the aggregate and window cases that matter for dashboards read a small table written through the
Write API. Cases that fail document where the translation to DuckDB still differs from Trino
(issue 14, item 5): an answer where Trino raises an error, or a different answer or type.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import re
import statistics
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.timestream_local.store_helpers import create_table, now_ms, record, unique
from tests.timestream_local.test_query_semantics import plain

# ------------------------------------------------------------------------------------ sources

TRINO = "https://trino.io/docs/current/functions"
MATH = f"{TRINO}/math.html"
STRING = f"{TRINO}/string.html"
CONVERSION = f"{TRINO}/conversion.html"
COMPARISON = f"{TRINO}/comparison.html"
CONDITIONAL = f"{TRINO}/conditional.html"
REGEXP = f"{TRINO}/regexp.html"
DATETIME = f"{TRINO}/datetime.html"
ARRAY = f"{TRINO}/array.html"
AGGREGATE = f"{TRINO}/aggregate.html"
WINDOW = f"{TRINO}/window.html"
SRC = "https://github.com/trinodb/trino/blob/master/core/trino-main/src/main/java/io/trino"
DOUBLE_OPS = f"{SRC}/type/DoubleOperators.java"
INTEGER_OPS = f"{SRC}/type/IntegerOperators.java"
VARCHAR_OPS = f"{SRC}/type/VarcharOperators.java"
STRING_FNS = f"{SRC}/operator/scalar/StringFunctions.java"
MATH_FNS = f"{SRC}/operator/scalar/MathFunctions.java"
SEQUENCE_FN = f"{SRC}/operator/scalar/SequenceFunction.java"
AWS = "https://docs.aws.amazon.com/timestream/latest/developerguide"
JAVA_DOUBLE = "Java Double.toString (shortest digits; plain for 1e-3 <= |x| < 1e7, else d.dddE±n)"


# ------------------------------------------------------------ independent computations (plain Python)


def java_double(x: float) -> str:
    """A double as Java's Double.toString prints it (Trino casts doubles to varchar with String.valueOf).

    Exact for every value used here; not for subnormals, where Java keeps two digits (4.9E-324)."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "-0.0" if math.copysign(1.0, x) < 0 else "0.0"
    sign = "-" if x < 0 else ""
    shortest = Decimal(repr(abs(x)))
    if Decimal("0.001") <= shortest < Decimal("10000000"):
        text = format(shortest, "f")
        return sign + (text if "." in text else text + ".0")
    _, digits, exponent = shortest.normalize().as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits))
    return f"{sign}{text[0]}.{text[1:] or '0'}E{len(text) + exponent - 1}"


def ts(text: str) -> str:
    """A timestamp as Timestream prints it: nine fraction digits."""
    moment = dt.datetime.fromisoformat(text)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond * 1000:09d}"


def add_months(day: dt.date, months: int) -> dt.date:
    """Trino's date + INTERVAL 'n' MONTH: same day of month, clamped to the month's last day."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


SUNDAY = dt.date(2024, 6, 2)
assert SUNDAY.weekday() == 6


# ------------------------------------------------------------------------------------------ cases


@dataclass(frozen=True)
class Error:
    """Trino raises an error; the message must match this pattern (case-insensitive)."""

    pattern: str


@dataclass(frozen=True)
class Rows:
    """The first column of every row, in order (the query orders its rows)."""

    values: list[Any]


@dataclass(frozen=True)
class Case:
    id: str
    sql: str  # "{table}" stands for the small table written through the Write API
    type: str | None  # Timestream's column type: ScalarType, or ARRAY(<type>); None for errors
    expect: Any  # the value as Timestream prints it (None for NULL, a list for arrays), Error or Rows
    source: str


NULL = None
C = Case
CASES: list[Case] = [
    # ---- arithmetic operators: "/ Division (integer division performs truncation)", "% Modulus (remainder)"
    C("int_div_truncates", "SELECT 7 / 2", "INTEGER", "3", f"{MATH} operators; {AWS}/mathematical-operators.html"),
    C("int_div_negative_truncates_toward_zero", "SELECT -7 / 2", "INTEGER", "-3", f"{MATH}; Java int division: int(-7 / 2) = -3"),
    C("int_div_negative_divisor", "SELECT 7 / -2", "INTEGER", "-3", f"{MATH}; Java int division"),
    C("bigint_div_keeps_bigint", "SELECT CAST(7 AS BIGINT) / 2", "BIGINT", "3", f"{MATH}; BigintOperators.divide -> bigint"),
    C("mod_negative_dividend", "SELECT -7 % 3", "INTEGER", "-1", f"{INTEGER_OPS} modulus = Java %: math.fmod(-7, 3) = -1"),
    C("mod_negative_divisor", "SELECT 7 % -3", "INTEGER", "1", f"{INTEGER_OPS} modulus = Java %: math.fmod(7, -3) = 1"),
    C("mod_function_negative", "SELECT mod(-7, 3)", "INTEGER", "-1", f"{MATH_FNS} modInteger = num1 % num2"),
    C("mod_double_negative", "SELECT mod(-7.5E0, 2)", "DOUBLE", java_double(math.fmod(-7.5, 2)), f"{MATH_FNS} mod(double) = Java %"),
    C("mod_double_by_zero_is_nan", "SELECT mod(5.5E0, 0)", "DOUBLE", "NaN", f"{MATH_FNS} mod(double) = Java % (IEEE 754: x % 0 = NaN)"),
    C("int_div_by_zero_fails", "SELECT 5 / 0", None, Error("division by zero"), f"{CONDITIONAL} (TRY: 'Query failed: Division by zero')"),
    C("int_mod_by_zero_fails", "SELECT 5 % 0", None, Error("division by zero"), f"{INTEGER_OPS} modulus: DIVISION_BY_ZERO"),
    C("double_div_by_zero_is_infinity", "SELECT 5.0E0 / 0", "DOUBLE", "Infinity", f"{DOUBLE_OPS} divide = left / right (IEEE 754)"),
    C("double_zero_div_zero_is_nan", "SELECT 0.0E0 / 0", "DOUBLE", "NaN", f"{DOUBLE_OPS} divide = left / right (IEEE 754)"),
    C("negative_double_div_by_zero", "SELECT -5.0E0 / 0", "DOUBLE", "-Infinity", f"{DOUBLE_OPS} divide (IEEE 754)"),
    C("integer_add_overflow_fails", "SELECT 2147483647 + 1", None, Error("overflow"), f"{INTEGER_OPS} add: 'integer addition overflow'"),
    C("bigint_add_overflow_fails", "SELECT 9223372036854775807 + 1", None, Error("overflow"), f"{SRC}/type/BigintOperators.java add"),
    C("double_addition_is_binary", "SELECT 0.1E0 + 0.2E0", "DOUBLE", java_double(0.1 + 0.2), "IEEE 754 in Python: 0.1 + 0.2"),
    # ---- casts
    C("cast_double_to_bigint_rounds_half_up", "SELECT CAST(2.5E0 AS BIGINT)", "BIGINT", "3", f"{DOUBLE_OPS} castToLong: DoubleMath.roundToLong(value, HALF_UP)"),
    C("cast_negative_half_to_bigint", "SELECT CAST(-2.5E0 AS BIGINT)", "BIGINT", "-3", f"{DOUBLE_OPS} castToLong: HALF_UP rounds away from zero"),
    C("cast_4_5_to_bigint", "SELECT CAST(4.5E0 AS BIGINT)", "BIGINT", "5", f"{DOUBLE_OPS} castToLong: HALF_UP (not half-even)"),
    C("cast_minus_half_to_bigint", "SELECT CAST(-0.5E0 AS BIGINT)", "BIGINT", "-1", f"{DOUBLE_OPS} castToLong: HALF_UP"),
    C("cast_double_to_integer_rounds_half_up", "SELECT CAST(2.5E0 AS INTEGER)", "INTEGER", "3", f"{DOUBLE_OPS} castToInteger: MathFunctions.round (half away from zero)"),
    C("cast_double_to_integer_rounds", "SELECT CAST(1.9E0 AS INTEGER)", "INTEGER", "2", f"{DOUBLE_OPS} castToInteger"),
    C("cast_fraction_text_to_bigint_fails", "SELECT CAST('1.5' AS BIGINT)", None, Error(r"cannot cast '1\.5' to bigint"), f"{VARCHAR_OPS} castToBigint: Long.parseLong"),
    C("cast_exponent_text_to_bigint_fails", "SELECT CAST('1e3' AS BIGINT)", None, Error(r"cannot cast '1e3' to bigint"), f"{VARCHAR_OPS} castToBigint: Long.parseLong"),
    C("cast_fraction_text_to_integer_fails", "SELECT CAST('1.5' AS INTEGER)", None, Error(r"cannot cast '1\.5' to int"), f"{VARCHAR_OPS} castToInteger: Integer.parseInt"),
    C("cast_padded_text_to_bigint_trims", "SELECT CAST(' 12 ' AS BIGINT)", "BIGINT", "12", f"{VARCHAR_OPS} castToBigint: parseLong(trim())"),
    C("cast_signed_text_to_bigint", "SELECT CAST('+12' AS BIGINT)", "BIGINT", "12", f"{VARCHAR_OPS} castToBigint: Long.parseLong accepts a sign"),
    C("cast_bad_text_to_double_fails", "SELECT CAST('abc' AS DOUBLE)", None, Error("'abc'.* to double"), f"{VARCHAR_OPS} castToDouble: 'Cannot cast 'abc' to DOUBLE'"),
    C("cast_inf_text_to_double_fails", "SELECT CAST('inf' AS DOUBLE)", None, Error("'inf'.* to double"), f"{VARCHAR_OPS} castToDouble: Double.parseDouble knows only 'Infinity'"),
    C("cast_padded_text_to_double", "SELECT CAST(' 1.5 ' AS DOUBLE)", "DOUBLE", "1.5", f"{VARCHAR_OPS} castToDouble: parseDouble(trim())"),
    C("cast_yes_to_boolean_fails", "SELECT CAST('yes' AS BOOLEAN)", None, Error("cannot cast 'yes' to boolean"), f"{VARCHAR_OPS} castToBoolean: only t/true/f/false/1/0"),
    C("cast_t_to_boolean", "SELECT CAST('t' AS BOOLEAN)", "BOOLEAN", "true", f"{VARCHAR_OPS} castToBoolean"),
    C("cast_zero_text_to_boolean", "SELECT CAST('0' AS BOOLEAN)", "BOOLEAN", "false", f"{VARCHAR_OPS} castToBoolean"),
    C("cast_large_double_to_varchar", "SELECT CAST(1E7 AS VARCHAR)", "VARCHAR", java_double(1e7), f"{DOUBLE_OPS} castToVarchar = String.valueOf; {JAVA_DOUBLE}"),
    C("cast_small_double_to_varchar", "SELECT CAST(1.0E-4 AS VARCHAR)", "VARCHAR", java_double(1e-4), f"{DOUBLE_OPS} castToVarchar; {JAVA_DOUBLE}"),
    C("cast_big_double_to_varchar", "SELECT CAST(123456789.0E0 AS VARCHAR)", "VARCHAR", java_double(123456789.0), f"{DOUBLE_OPS} castToVarchar; {JAVA_DOUBLE}"),
    C("cast_plain_double_to_varchar", "SELECT CAST(1.5E0 AS VARCHAR)", "VARCHAR", java_double(1.5), f"{DOUBLE_OPS} castToVarchar; {JAVA_DOUBLE}"),
    C("cast_bigint_to_integer_out_of_range", "SELECT CAST(10000000000 AS INTEGER)", None, Error("out of range"), f"{SRC}/type/BigintOperators.java castToInteger: 'Out of range for integer'"),
    C("try_cast_fraction_text_is_null", "SELECT TRY_CAST('1.5' AS BIGINT)", "BIGINT", NULL, f"{CONVERSION} try_cast: 'returns null if the cast fails'; {VARCHAR_OPS}"),
    C("try_cast_double_rounds_half_up", "SELECT TRY_CAST(2.5E0 AS BIGINT)", "BIGINT", "3", f"{CONVERSION} try_cast = cast; {DOUBLE_OPS} castToLong HALF_UP"),
    C("cast_boolean_to_varchar", "SELECT CAST(true AS VARCHAR)", "VARCHAR", "true", f"{SRC}/type/BooleanOperators.java castToVarchar"),
    # ---- strings
    C("split_part_beyond_last_is_null", "SELECT split_part('a,b,c', ',', 5)", "VARCHAR", NULL, f"{STRING} split_part: 'If the index is larger than the number of fields, then null is returned'"),
    C("split_part_field", "SELECT split_part('a,b,c', ',', 2)", "VARCHAR", "b", f"{STRING} split_part"),
    C("split_part_zero_fails", "SELECT split_part('a,b,c', ',', 0)", None, Error("index must be greater than zero"), f"{STRING_FNS} splitPart: checkCondition(index > 0)"),
    C("split_part_empty_delimiter", "SELECT split_part('abc', '', 2)", "VARCHAR", "b", f"{STRING_FNS} splitPart: an empty delimiter splits every character"),
    C("split_part_empty_delimiter_beyond_is_null", "SELECT split_part('abc', '', 5)", "VARCHAR", NULL, f"{STRING_FNS} splitPart: 'index too big' -> null"),
    C("lpad_truncates", "SELECT lpad('abc', 2, 'x')", "VARCHAR", "ab", f"{STRING} lpad: 'If size is less than the length of string, the result is truncated'"),
    C("rpad_truncates", "SELECT rpad('abc', 2, 'x')", "VARCHAR", "ab", f"{STRING} rpad"),
    C("lpad_repeats_pad", "SELECT lpad('abc', 6, 'xy')", "VARCHAR", "xyxabc", f"{STRING_FNS} pad"),
    C("rpad_repeats_pad", "SELECT rpad('abc', 6, 'xy')", "VARCHAR", "abcxyx", f"{STRING_FNS} pad"),
    C("lpad_negative_size_fails", "SELECT lpad('abc', -1, 'x')", None, Error(r"target length must be in the range"), f"{STRING} lpad: 'size must not be negative'; {STRING_FNS} pad"),
    C("lpad_empty_pad_fails", "SELECT lpad('abc', 5, '')", None, Error("padding"), f"{STRING} lpad: 'padstring must be non-empty'"),
    C("lpad_empty_pad_fails_when_truncating", "SELECT lpad('abc', 2, '')", None, Error("padding string must not be empty"), f"{STRING_FNS} pad: the check comes before truncation"),
    C("strpos_found", "SELECT strpos('hello', 'l')", "BIGINT", "3", f"{STRING} strpos -> bigint"),
    C("strpos_missing", "SELECT strpos('hello', 'z')", "BIGINT", "0", f"{STRING} strpos: 'If not found, 0 is returned'"),
    C("strpos_empty", "SELECT strpos('hello', '')", "BIGINT", "1", f"{STRING_FNS} stringPositionFromStart: empty substring -> 1"),
    C("position_in", "SELECT position('l' IN 'hello')", "BIGINT", "3", f"{STRING} position"),
    C("reverse_code_points", "SELECT reverse('héllo')", "VARCHAR", "olléh", f"{STRING} reverse"),
    C("chr_ascii", "SELECT chr(65)", "VARCHAR", "A", f"{STRING} chr"),
    C("chr_astral", "SELECT chr(128512)", "VARCHAR", chr(128512), f"{STRING} chr"),
    C("chr_negative_fails", "SELECT chr(-1)", None, Error("code ?point"), f"{STRING_FNS} chr: 'Not a valid Unicode code point'"),
    C("levenshtein", "SELECT levenshtein_distance('kitten', 'sitting')", "BIGINT", "3", f"{STRING} levenshtein_distance -> bigint"),
    C("length_code_points", "SELECT length('héllo')", "BIGINT", "5", f"{STRING} length -> bigint"),
    C("length_astral", "SELECT length(chr(128512))", "BIGINT", "1", f"{STRING}: functions operate on code points"),
    C("substr_from_zero_is_empty", "SELECT substr('hello', 0)", "VARCHAR", "", f"{STRING_FNS} substring: start == 0 -> empty"),
    C("substr_zero_length_form_is_empty", "SELECT substr('hello', 0, 2)", "VARCHAR", "", f"{STRING_FNS} substring(start, length): start == 0 -> empty"),
    C("substr_negative_start", "SELECT substr('hello', -3)", "VARCHAR", "llo", f"{STRING} substring: 'negative starting position is relative to the end'"),
    C("substr_before_beginning_is_empty", "SELECT substr('hello', -10)", "VARCHAR", "", f"{STRING_FNS} substring: before beginning of string -> empty"),
    C("substr_before_beginning_with_length", "SELECT substr('hello', -10, 8)", "VARCHAR", "", f"{STRING_FNS} substring: before beginning of string -> empty"),
    C("substr_negative_length_is_empty", "SELECT substr('hello', 2, -1)", "VARCHAR", "", f"{STRING_FNS} substring: length <= 0 -> empty"),
    C("substr_start_length", "SELECT substr('hello', 2, 3)", "VARCHAR", "ell", f"{STRING} substring"),
    C("trim_spaces", "SELECT trim('  a  ')", "VARCHAR", "a", f"{STRING} trim"),
    C("ltrim_spaces", "SELECT ltrim('  a  ')", "VARCHAR", "a  ", f"{STRING} ltrim"),
    C("rtrim_spaces", "SELECT rtrim('  a  ')", "VARCHAR", "  a", f"{STRING} rtrim"),
    C("trim_tab_and_newline", "SELECT trim(chr(9) || 'a' || chr(10))", "VARCHAR", "a", f"{STRING} trim 'Removes leading and trailing whitespace'; airlift SliceUtf8: Character.isWhitespace"),
    C("trim_both_chars", "SELECT trim(BOTH '$' FROM '$var$')", "VARCHAR", "var", f"{STRING} trim example"),
    C("trim_trailing_chars", "SELECT trim(TRAILING 'ER' FROM upper('worker'))", "VARCHAR", "WORK", f"{STRING} trim example"),
    C("trim_chars", "SELECT trim('!' FROM '!foo!')", "VARCHAR", "foo", f"{STRING} trim example"),
    C("trim_leading", "SELECT trim(LEADING FROM '  abcd')", "VARCHAR", "abcd", f"{STRING} trim example"),
    C("replace_two_arguments_removes", "SELECT replace('abcabc', 'b')", "VARCHAR", "acac", f"{STRING} replace(string, search)"),
    C("concat_with_null_is_null", "SELECT concat('a', CAST(NULL AS VARCHAR))", "VARCHAR", NULL, f"{SRC}/operator/scalar/ConcatFunction.java: arguments never null, null in -> null out"),
    C("pipe_with_null_literal_is_varchar_null", "SELECT 'a' || NULL", "VARCHAR", NULL, f"{STRING} ||; NULL (unknown) coerces to varchar"),
    C("pipe_with_number_fails", "SELECT 'a' || 1", None, Error(r"concat|\|\||operator"), f"{CONVERSION}: 'Trino will not convert between character and numeric types'"),
    C("upper_sharp_s_stays", "SELECT upper('ß')", "VARCHAR", "ß", "airlift SliceUtf8.toUpperCase: Character.toUpperCase(int); U+00DF has no simple uppercase mapping"),
    C("compare_is_by_code_point", "SELECT 'a' < 'B'", "BOOLEAN", "false", f"{COMPARISON}; code points: ord('a') = 97 > ord('B') = 66"),
    C("starts_with", "SELECT starts_with('abc', 'ab')", "BOOLEAN", "true", f"{STRING} starts_with"),
    C("split_keeps_empty_fields", "SELECT split('a,b,,c', ',')", "ARRAY(VARCHAR)", ["a", "b", "", "c"], f"{STRING} split"),
    C("regexp_like_contains", r"SELECT regexp_like('1a 2b 14m', '\d+b')", "BOOLEAN", "true", f"{REGEXP} regexp_like example"),
    C("regexp_like_lookahead_is_refused", "SELECT regexp_like('abc', 'a(?=b)')", None, Error("uses look-ahead, which timestream_local does not support"), f"{REGEXP}: 'use the Java pattern syntax': Trino answers true; DuckDB's RE2 has no look-around, so timestream_local refuses it by name"),
    C("like_escape", r"SELECT 'South_America' LIKE 'South\_America' ESCAPE '\'", "BOOLEAN", "true", f"{COMPARISON} LIKE example"),
    C("like_escape_no_match", r"SELECT 'SouthXAmerica' LIKE 'South\_America' ESCAPE '\'", "BOOLEAN", "false", f"{COMPARISON} LIKE: escaped _ is literal"),
    C("like_is_case_sensitive", "SELECT 'abc' LIKE 'A%'", "BOOLEAN", "false", f"{COMPARISON} LIKE: 'Matching characters is case sensitive'"),
    C("like_null", "SELECT CAST(NULL AS VARCHAR) LIKE 'a'", "BOOLEAN", NULL, f"{COMPARISON}: comparisons with null are null"),
    # ---- conditionals and comparisons
    C("if_null_condition", "SELECT IF(NULL, 1, 2)", "INTEGER", "2", f"{CONDITIONAL} IF: true_value only if condition is true"),
    C("if_without_false_value", "SELECT IF(false, 1)", "INTEGER", NULL, f"{CONDITIONAL} IF: 'otherwise null is returned'"),
    C("nullif_equal", "SELECT NULLIF(1, 1)", "INTEGER", NULL, f"{CONDITIONAL} NULLIF"),
    C("nullif_different", "SELECT NULLIF(1, 2)", "INTEGER", "1", f"{CONDITIONAL} NULLIF"),
    C("coalesce", "SELECT COALESCE(NULL, 2)", "INTEGER", "2", f"{CONDITIONAL} COALESCE"),
    C("case_when_null_never_matches", "SELECT CASE 1 WHEN NULL THEN 'a' ELSE 'b' END", "VARCHAR", "b", f"{CONDITIONAL} CASE: value must equal"),
    C("null_in_list", "SELECT NULL IN (1, 2)", "BOOLEAN", NULL, f"{COMPARISON} IN: combined as logical OR of comparisons"),
    C("in_list_with_null_no_match", "SELECT 3 IN (1, NULL)", "BOOLEAN", NULL, f"{COMPARISON} IN = OR of equalities"),
    C("in_list_with_null_match", "SELECT 1 IN (1, NULL)", "BOOLEAN", "true", f"{COMPARISON} IN = OR of equalities"),
    C("not_in_list_with_null", "SELECT 3 NOT IN (1, NULL)", "BOOLEAN", NULL, f"{COMPARISON} NOT IN"),
    C("between_null_value", "SELECT NULL BETWEEN 2 AND 4", "BOOLEAN", NULL, f"{COMPARISON} BETWEEN example"),
    C("between_null_low", "SELECT 2 BETWEEN NULL AND 6", "BOOLEAN", NULL, f"{COMPARISON} BETWEEN example"),
    C("between_null_high_false", "SELECT 2 BETWEEN 3 AND NULL", "BOOLEAN", "false", f"{COMPARISON} BETWEEN example"),
    C("between_null_low_false", "SELECT 8 BETWEEN NULL AND 6", "BOOLEAN", "false", f"{COMPARISON} BETWEEN example"),
    C("greatest_with_null", "SELECT greatest(1, NULL, 3)", "INTEGER", NULL, f"{COMPARISON} GREATEST: 'return null if any argument is null'"),
    C("least_with_null", "SELECT least(1, NULL)", "INTEGER", NULL, f"{COMPARISON} LEAST"),
    C("greatest_mixed_numbers", "SELECT greatest(1, 2.5E0)", "DOUBLE", "2.5", f"{COMPARISON} GREATEST"),
    C("null_not_distinct_from_null", "SELECT NULL IS DISTINCT FROM NULL", "BOOLEAN", "false", f"{COMPARISON} IS DISTINCT FROM example"),
    # ---- mathematical functions
    C("round_half_up", "SELECT round(2.5E0)", "DOUBLE", "3.0", f"{MATH_FNS} round(double): Math.round, sign-symmetric"),
    C("round_negative_half", "SELECT round(-2.5E0)", "DOUBLE", "-3.0", f"{MATH_FNS} round(double): -(Math.round(-x))"),
    C("round_digits", "SELECT round(1.15E0, 1)", "DOUBLE", java_double(math.floor(1.15 * 10 + 0.5) / 10), f"{MATH_FNS} round(x, d) = Math.round(x * 10^d) / 10^d"),
    C("round_negative_digits", "SELECT round(-1.15E0, 1)", "DOUBLE", java_double(-(math.floor(1.15 * 10 + 0.5) / 10)), f"{MATH_FNS} round(x, d) for x < 0"),
    C("round_integer_keeps_type", "SELECT round(2)", "INTEGER", "2", f"{MATH} round(x) -> [same as input]"),
    C("round_integer_tens", "SELECT round(15, -1)", "INTEGER", "20", f"{MATH_FNS} roundLong: HALF_UP"),
    C("round_negative_integer_tens", "SELECT round(-15, -1)", "INTEGER", "-20", f"{MATH_FNS} roundLong: HALF_UP (away from zero)"),
    C("truncate_negative", "SELECT truncate(-2.7E0)", "DOUBLE", "-2.0", f"{MATH} truncate"),
    C("floor_negative", "SELECT floor(-2.5E0)", "DOUBLE", "-3.0", f"{MATH} floor"),
    C("ceil_negative", "SELECT ceil(-2.5E0)", "DOUBLE", "-2.0", f"{MATH} ceiling"),
    C("ceil_integer_keeps_type", "SELECT ceil(2)", "INTEGER", "2", f"{MATH} ceiling(x) -> [same as input]"),
    C("floor_integer_keeps_type", "SELECT floor(2)", "INTEGER", "2", f"{MATH} floor(x) -> [same as input]"),
    C("sign_integer", "SELECT sign(-3)", "INTEGER", "-1", f"{MATH} sign -> [same as input]"),
    C("sign_double_is_double", "SELECT sign(-2.5E0)", "DOUBLE", "-1.0", f"{MATH} sign -> [same as input]"),
    C("abs_integer", "SELECT abs(-5)", "INTEGER", "5", f"{MATH} abs -> [same as input]"),
    C("abs_integer_min_fails", "SELECT abs(-2147483647 - 1)", None, Error("out of range|overflow"), f"{MATH_FNS} absInteger: 'out of range for abs(integer)'"),
    C("sqrt_negative_is_nan", "SELECT sqrt(-1)", "DOUBLE", "NaN", f"{MATH_FNS} sqrt = Math.sqrt"),
    C("ln_zero", "SELECT ln(0)", "DOUBLE", "-Infinity", f"{MATH_FNS} ln = Math.log"),
    C("ln_negative_is_nan", "SELECT ln(-1)", "DOUBLE", "NaN", f"{MATH_FNS} ln = Math.log"),
    C("log_base_first", "SELECT log(2, 8)", "DOUBLE", java_double(math.log(8) / math.log(2)), f"{MATH} log(b, x); {MATH_FNS} Math.log(x) / Math.log(b)"),
    C("power_negative_exponent", "SELECT power(2, -1)", "DOUBLE", "0.5", f"{MATH} power -> double"),
    C("pow_alias", "SELECT pow(2, 10)", "DOUBLE", "1024.0", f"{MATH} pow"),
    C("cbrt_is_double", "SELECT cbrt(8)", "DOUBLE", "2.0", f"{MATH} cbrt -> double; 2.0 ** 3 == 8 exactly"),
    C("exp_zero", "SELECT exp(0)", "DOUBLE", "1.0", f"{MATH} exp"),
    C("degrees_pi", "SELECT degrees(pi())", "DOUBLE", java_double(math.degrees(math.pi)), f"{MATH} degrees"),
    C("radians_180", "SELECT radians(180)", "DOUBLE", java_double(math.radians(180)), f"{MATH} radians"),
    # ---- date and time
    C("extract_dow_sunday_is_7", "SELECT extract(dow FROM DATE '2024-06-02')", "BIGINT", str(SUNDAY.isoweekday()), f"{DATETIME} extract DOW = day_of_week: 1 (Monday) to 7 (Sunday)"),
    C("extract_day_of_week_field", "SELECT extract(DAY_OF_WEEK FROM DATE '2024-06-02')", "BIGINT", str(SUNDAY.isoweekday()), f"{DATETIME} extract fields: DAY_OF_WEEK"),
    C("extract_year_of_week_field", "SELECT extract(YEAR_OF_WEEK FROM DATE '2021-01-03')", "BIGINT", str(dt.date(2021, 1, 3).isocalendar()[0]), f"{DATETIME} extract fields: YEAR_OF_WEEK (ISO week year)"),
    C("extract_dow_saturday", "SELECT extract(dow FROM TIMESTAMP '2024-06-08 10:00:00')", "BIGINT", str(dt.date(2024, 6, 8).isoweekday()), f"{DATETIME} day_of_week"),
    C("day_of_week_sunday", "SELECT day_of_week(DATE '2024-06-02')", "BIGINT", str(SUNDAY.isoweekday()), f"{DATETIME} day_of_week"),
    C("week_is_iso", "SELECT week(DATE '2021-01-03')", "BIGINT", str(dt.date(2021, 1, 3).isocalendar()[1]), f"{DATETIME} week: ISO week"),
    C("week_of_year_alias", "SELECT week_of_year(DATE '2024-12-30')", "BIGINT", str(dt.date(2024, 12, 30).isocalendar()[1]), f"{DATETIME} week_of_year"),
    C("day_of_year_leap", "SELECT day_of_year(DATE '2024-12-31')", "BIGINT", str(dt.date(2024, 12, 31).timetuple().tm_yday), f"{DATETIME} day_of_year"),
    C("quarter", "SELECT quarter(DATE '2024-06-02')", "BIGINT", "2", f"{DATETIME} quarter"),
    C("second_of_minute", "SELECT second(TIMESTAMP '2024-06-02 01:02:03.9')", "BIGINT", "3", f"{DATETIME} second -> bigint"),
    C("date_trunc_week_is_monday", "SELECT date_trunc('week', TIMESTAMP '2001-08-22 03:04:05.321')", "TIMESTAMP", ts("2001-08-20 00:00:00"), f"{DATETIME} date_trunc table"),
    C("date_trunc_quarter", "SELECT date_trunc('quarter', TIMESTAMP '2001-08-22 03:04:05.321')", "TIMESTAMP", ts("2001-07-01 00:00:00"), f"{DATETIME} date_trunc table"),
    C("date_trunc_millisecond", "SELECT date_trunc('millisecond', TIMESTAMP '2001-08-22 03:04:05.321')", "TIMESTAMP", ts("2001-08-22 03:04:05.321"), f"{DATETIME} date_trunc table"),
    C("date_trunc_date_stays_date", "SELECT date_trunc('month', DATE '2001-08-22')", "DATE", "2001-08-01", f"{DATETIME} date_trunc(unit, x) -> [same as input]"),
    C("date_add_month_clamps", "SELECT date_add('month', 1, TIMESTAMP '2012-10-31 01:00:00')", "TIMESTAMP", ts(str(add_months(dt.date(2012, 10, 31), 1)) + " 01:00:00"), f"{DATETIME} operators: timestamp '2012-10-31 01:00' + interval '1' month"),
    C("date_add_seconds", "SELECT date_add('second', 86, TIMESTAMP '2020-03-01 00:00:00')", "TIMESTAMP", ts("2020-03-01 00:01:26"), f"{DATETIME} date_add example"),
    C("date_add_negative_day", "SELECT date_add('day', -1, TIMESTAMP '2020-03-01 00:00:00')", "TIMESTAMP", ts("2020-02-29 00:00:00"), f"{DATETIME} date_add example"),
    C("date_add_date_stays_date", "SELECT date_add('day', 1, DATE '2020-02-28')", "DATE", "2020-02-29", f"{DATETIME} date_add -> [same as input]"),
    C("date_plus_interval_is_date", "SELECT DATE '2012-08-08' + INTERVAL '2' DAY", "DATE", "2012-08-10", f"{DATETIME} operators table"),
    C("timestamp_plus_month", "SELECT TIMESTAMP '2012-10-31 01:00:00' + INTERVAL '1' MONTH", "TIMESTAMP", ts("2012-11-30 01:00:00"), f"{DATETIME} operators table"),
    C("timestamp_minus_month", "SELECT TIMESTAMP '2012-10-31 01:00:00' - INTERVAL '1' MONTH", "TIMESTAMP", ts("2012-09-30 01:00:00"), f"{DATETIME} operators table"),
    C("timestamp_minus_seconds", "SELECT TIMESTAMP '2012-10-31 01:00:00' - INTERVAL '30' SECOND", "TIMESTAMP", ts("2012-10-31 00:59:30"), f"{DATETIME} operators; Python datetime arithmetic"),
    C("timestamp_plus_hours", "SELECT TIMESTAMP '2012-08-08 01:00:00' + INTERVAL '29' HOUR", "TIMESTAMP", ts("2012-08-09 06:00:00"), f"{DATETIME} operators table"),
    C("date_diff_seconds", "SELECT date_diff('second', TIMESTAMP '2020-03-01 00:00:00', TIMESTAMP '2020-03-02 00:00:00')", "BIGINT", "86400", f"{DATETIME} date_diff example"),
    C("date_diff_dates", "SELECT date_diff('day', DATE '2020-03-01', DATE '2020-03-02')", "BIGINT", "1", f"{DATETIME} date_diff example"),
    C("date_diff_milliseconds_of_nanos", "SELECT date_diff('millisecond', TIMESTAMP '2020-06-01 12:30:45.000000000', TIMESTAMP '2020-06-02 12:30:45.123456789')", "BIGINT", "86400123", f"{DATETIME} date_diff example"),
    C("date_diff_whole_units", "SELECT date_diff('second', TIMESTAMP '2020-06-01 12:30:45.000000000', TIMESTAMP '2020-06-02 12:30:45.123456789')", "BIGINT", "86400", f"{DATETIME} date_diff example"),
    C("from_unixtime_zero", "SELECT from_unixtime(0)", "TIMESTAMP", ts("1970-01-01 00:00:00"), f"{DATETIME} from_unixtime"),
    C("from_unixtime_fraction", "SELECT from_unixtime(1.5E0)", "TIMESTAMP", ts("1970-01-01 00:00:01.5"), f"{DATETIME} from_unixtime"),
    C("from_unixtime_integer_seconds", "SELECT from_unixtime(1700000000)", "TIMESTAMP", ts(str(dt.datetime.fromtimestamp(1700000000, dt.UTC).replace(tzinfo=None))), f"{DATETIME} from_unixtime: seconds since 1970-01-01 UTC"),
    C("to_unixtime", "SELECT to_unixtime(TIMESTAMP '2020-03-01 00:00:00')", "DOUBLE", java_double(float(calendar.timegm((2020, 3, 1, 0, 0, 0)))), f"{DATETIME} to_unixtime -> double"),
    C("to_milliseconds_interval_is_bigint", "SELECT to_milliseconds(INTERVAL '1' SECOND)", "BIGINT", "1000", f"{DATETIME} to_milliseconds(interval) -> bigint"),
    C("date_format_example", "SELECT date_format(TIMESTAMP '2022-10-20 05:10:00', '%m-%d-%Y %H')", "VARCHAR", "10-20-2022 05", f"{DATETIME} date_format example"),
    C("date_format_minutes_seconds", "SELECT date_format(TIMESTAMP '2022-10-20 05:10:07', '%H:%i:%s')", "VARCHAR", "05:10:07", f"{DATETIME} MySQL specifiers %i %s"),
    C("date_format_names", "SELECT date_format(TIMESTAMP '2022-10-20 05:10:07', '%W %M %a %b')", "VARCHAR", "Thursday October Thu Oct", f"{DATETIME} specifiers %W %M %a %b"),
    C("date_format_iso_week", "SELECT date_format(TIMESTAMP '2021-01-03 00:00:00', '%v %x')", "VARCHAR", "{1:02d} {0}".format(*dt.date(2021, 1, 3).isocalendar()), f"{DATETIME} specifiers %v (Monday-first week) with %x"),
    C("date_format_fraction_is_milliseconds", "SELECT date_format(TIMESTAMP '2022-10-20 05:10:07.123456789', '%f')", "VARCHAR", "123000", f"{DATETIME} %f: 6 digits for printing, 'timestamp is truncated to milliseconds'"),
    C("from_iso8601_with_offset", "SELECT from_iso8601_timestamp('2020-05-11T11:15:05.055+01:00')", "TIMESTAMP", ts("2020-05-11 10:15:05.055"), f"{DATETIME} from_iso8601_timestamp example, in UTC"),
    # ---- arrays
    C("subscript_past_end_fails", "SELECT ARRAY[1, 2, 3][4]", None, Error("array subscript must be less than or equal to array length"), f"{ARRAY} subscript: element_at returns NULL 'whereas the subscript operator would fail'"),
    C("subscript_zero_fails", "SELECT ARRAY[1, 2, 3][0]", None, Error("sql array indices start at 1"), f"{SRC}/operator/scalar/ArraySubscriptOperator.java checkArrayIndex"),
    C("subscript_negative_fails", "SELECT ARRAY[1, 2, 3][-1]", None, Error("array subscript is negative"), f"{SRC}/operator/scalar/ArraySubscriptOperator.java checkArrayIndex"),
    C("subscript", "SELECT ARRAY[1, 2, 3][2]", "INTEGER", "2", f"{ARRAY} subscript operator (from one)"),
    C("element_at_past_end_is_null", "SELECT element_at(ARRAY[1, 2, 3], 4)", "INTEGER", NULL, f"{ARRAY} element_at"),
    C("element_at_negative_from_end", "SELECT element_at(ARRAY[1, 2, 3], -1)", "INTEGER", "3", f"{ARRAY} element_at: 'If index < 0, element_at accesses elements from the last'"),
    C("element_at_zero_fails", "SELECT element_at(ARRAY[1, 2, 3], 0)", None, Error("sql array indices start at 1"), f"{SRC}/operator/scalar/ArrayElementAtFunction.java"),
    C("cardinality_counts_nulls", "SELECT cardinality(ARRAY[1, NULL])", "BIGINT", "2", f"{ARRAY} cardinality -> bigint"),
    C("sequence_descends_by_default", "SELECT sequence(5, 1)", "ARRAY(BIGINT)", ["5", "4", "3", "2", "1"], f"{ARRAY} sequence(start, stop): 'otherwise -1'"),
    C("cardinality_of_descending_sequence", "SELECT cardinality(sequence(5, 1))", "BIGINT", "5", f"{ARRAY} sequence, cardinality"),
    C("sequence_step", "SELECT sequence(1, 10, 3)", "ARRAY(BIGINT)", ["1", "4", "7", "10"], f"{ARRAY} sequence(start, stop, step)"),
    C("sequence_negative_step", "SELECT sequence(10, 1, -3)", "ARRAY(BIGINT)", ["10", "7", "4", "1"], f"{ARRAY} sequence(start, stop, step)"),
    C("sequence_through_zero", "SELECT sequence(-2, 2)", "ARRAY(BIGINT)", ["-2", "-1", "0", "1", "2"], f"{ARRAY} sequence"),
    C("sequence_wrong_direction_fails", "SELECT sequence(1, 5, -1)", None, Error("stop value should be greater than or equal to start value"), f"{SEQUENCE_FN} checkValidStep"),
    C("sequence_zero_step_fails", "SELECT sequence(1, 5, 0)", None, Error("step .*must not be zero"), f"{SEQUENCE_FN} checkValidStep"),
    C("sequence_of_dates", "SELECT sequence(DATE '2024-01-01', DATE '2024-01-03')", "ARRAY(DATE)", ["2024-01-01", "2024-01-02", "2024-01-03"], f"{ARRAY} sequence(start, stop) -> array(date)"),
    C("sequence_of_dates_by_month", "SELECT sequence(DATE '2024-01-31', DATE '2024-05-01', INTERVAL '1' MONTH)", "ARRAY(DATE)", [str(add_months(dt.date(2024, 1, 31), k)) for k in range(4)], f"{SEQUENCE_FN} sequenceDateYearToMonth: start + i * step, each from start"),
    C("sequence_of_timestamps", "SELECT sequence(TIMESTAMP '2024-01-01 00:00:00', TIMESTAMP '2024-01-01 00:02:00', INTERVAL '1' MINUTE)", "ARRAY(TIMESTAMP)", [ts(f"2024-01-01 00:0{m}:00") for m in range(3)], f"{ARRAY} sequence -> array(timestamp)"),
    C("contains_no_match_with_null_is_null", "SELECT contains(ARRAY[1, 2, NULL], 3)", "BOOLEAN", NULL, f"{SRC}/operator/scalar/ArrayContains.java: no match and a null element -> null"),
    C("contains_match_with_null", "SELECT contains(ARRAY[1, 2, NULL], 1)", "BOOLEAN", "true", f"{ARRAY} contains"),
    C("contains_null_value", "SELECT contains(ARRAY[1, 2], NULL)", "BOOLEAN", NULL, f"{ARRAY} contains; null argument -> null"),
    C("array_join_skips_nulls", "SELECT array_join(ARRAY['a', NULL, 'c'], ',')", "VARCHAR", "a,c", f"{ARRAY} array_join: 'Null elements are omitted'"),
    C("array_join_null_replacement", "SELECT array_join(ARRAY['a', NULL, 'c'], ',', 'x')", "VARCHAR", "a,x,c", f"{ARRAY} array_join with null_replacement"),
    C("array_join_replacement_from_column", "SELECT array_join(ARRAY['a', NULL], ',', x) FROM UNNEST(ARRAY['R']) AS t(x)", "VARCHAR", "a,R", f"{ARRAY} array_join with null_replacement"),
    C("array_join_numbers", "SELECT array_join(ARRAY[1, 2, 3], ';')", "VARCHAR", "1;2;3", f"{AWS}/array-functions.html array_join example"),
    C("array_join_doubles_as_varchar", "SELECT array_join(ARRAY[1.0E7, 2.5E0], ',')", "VARCHAR", f"{java_double(1e7)},{java_double(2.5)}", f"{SRC}/operator/scalar/ArrayJoin.java: elements cast to varchar; {JAVA_DOUBLE}"),
    C("array_sort_nulls_last", "SELECT array_sort(ARRAY[3, NULL, 1])", "ARRAY(INTEGER)", ["1", "3", None], f"{ARRAY} array_sort: 'Null elements will be placed at the end'"),
    C("array_max_with_null_is_null", "SELECT array_max(ARRAY[1, NULL, 3])", "INTEGER", NULL, f"{SRC}/operator/scalar/ArrayMaxFunction.java: a null element -> null"),
    C("array_min_with_null_is_null", "SELECT array_min(ARRAY[1, NULL, 3])", "INTEGER", NULL, f"{SRC}/operator/scalar/ArrayMinFunction.java: a null element -> null"),
    C("array_max", "SELECT array_max(ARRAY[1, 5, 3])", "INTEGER", "5", f"{ARRAY} array_max"),
    C("array_distinct_keeps_one_null", "SELECT array_distinct(ARRAY[1, 2, 2, NULL, NULL])", "ARRAY(INTEGER)", ["1", "2", None], f"{SRC}/operator/scalar/ArrayDistinctFunction.java: first occurrences in order, one null"),
    C("array_distinct_keeps_order", "SELECT array_distinct(ARRAY[3, 1, 3, 2])", "ARRAY(INTEGER)", ["3", "1", "2"], f"{SRC}/operator/scalar/ArrayDistinctFunction.java: first occurrences in order"),
    C("filter_example", "SELECT filter(ARRAY[5, -6, NULL, 7], x -> x > 0)", "ARRAY(INTEGER)", ["5", "7"], f"{ARRAY} filter example"),
    C("transform_example", "SELECT transform(ARRAY[5, NULL, 6], x -> coalesce(x, 0) + 1)", "ARRAY(INTEGER)", ["6", "1", "7"], f"{ARRAY} transform example"),
    C("flatten", "SELECT flatten(ARRAY[ARRAY[1, 2], ARRAY[3]])", "ARRAY(INTEGER)", ["1", "2", "3"], f"{ARRAY} flatten"),
    C("concat_arrays", "SELECT ARRAY[1] || ARRAY[2]", "ARRAY(INTEGER)", ["1", "2"], f"{ARRAY} || example"),
    C("concat_array_and_element", "SELECT ARRAY[1] || 2", "ARRAY(INTEGER)", ["1", "2"], f"{ARRAY} || example"),
    C("concat_element_and_array", "SELECT 2 || ARRAY[1]", "ARRAY(INTEGER)", ["2", "1"], f"{ARRAY} || example"),
    C("reverse_array", "SELECT reverse(ARRAY[1, 2, 3])", "ARRAY(INTEGER)", ["3", "2", "1"], f"{ARRAY} reverse(x) -> array"),
    # ---- aggregates over a small table (measure 'v': locations a..f hold 1..6)
    C("avg_bigint_is_double", "SELECT avg(measure_value::bigint) FROM {table} WHERE measure_name = 'v'", "DOUBLE", java_double(statistics.mean(range(1, 7))), f"{AGGREGATE} avg(x) -> double"),
    C("sum_bigint", "SELECT sum(measure_value::bigint) FROM {table} WHERE measure_name = 'v'", "BIGINT", "21", f"{AGGREGATE} sum -> [same as input]"),
    C("sum_bigint_overflow_fails", "SELECT sum(measure_value::bigint) FROM {table} WHERE measure_name = 'big'", None, Error("overflow"), f"{SRC}/operator/aggregation/LongSumAggregation.java: BigintOperators.add"),
    C("sum_of_nothing_is_null", "SELECT sum(measure_value::bigint) FROM {table} WHERE measure_name = 'none'", "BIGINT", NULL, f"{AGGREGATE}: 'sum returns null rather than zero'"),
    C("count_of_nothing_is_zero", "SELECT count(*) FROM {table} WHERE measure_name = 'none'", "BIGINT", "0", f"{AGGREGATE} count"),
    C("stddev_one_row_is_null", "SELECT stddev(measure_value::double) FROM {table} WHERE measure_name = 'one'", "DOUBLE", NULL, f"{AGGREGATE} stddev = stddev_samp (n - 1 = 0)"),
    C("variance_one_row_is_null", "SELECT variance(measure_value::double) FROM {table} WHERE measure_name = 'one'", "DOUBLE", NULL, f"{AGGREGATE} variance = var_samp"),
    C("stddev_pop_one_row", "SELECT stddev_pop(measure_value::double) FROM {table} WHERE measure_name = 'one'", "DOUBLE", "0.0", f"{AGGREGATE} stddev_pop"),
    C("variance_bigint", "SELECT variance(measure_value::bigint) FROM {table} WHERE measure_name = 'v'", "DOUBLE", java_double(statistics.variance(range(1, 7))), f"{AGGREGATE} variance; Python statistics.variance"),
    C("stddev_bigint", "SELECT stddev(measure_value::bigint) FROM {table} WHERE measure_name = 'v'", "DOUBLE", java_double(math.sqrt(statistics.variance(range(1, 7)))), f"{AGGREGATE} stddev; Python"),
    C("count_if", "SELECT count_if(measure_value::bigint > 4) FROM {table} WHERE measure_name = 'v'", "BIGINT", "2", f"{AGGREGATE} count_if -> bigint"),
    C("min_by", "SELECT min_by(location, measure_value::bigint) FROM {table} WHERE measure_name = 'v'", "VARCHAR", "a", f"{AGGREGATE} min_by"),
    C("max_by", "SELECT max_by(location, measure_value::bigint) FROM {table} WHERE measure_name = 'v'", "VARCHAR", "f", f"{AGGREGATE} max_by"),
    C("approx_percentile_bigint", "SELECT approx_percentile(measure_value::bigint, 0.5) FROM {table} WHERE measure_name = 'v' AND measure_value::bigint <= 5", "BIGINT", "3", f"{AGGREGATE} approx_percentile -> [same as x]; median of 1..5"),
    C("approx_distinct", "SELECT approx_distinct(location) FROM {table} WHERE measure_name = 'v'", "BIGINT", "6", f"{AGGREGATE} approx_distinct -> bigint"),
    C("sign_bigint_is_bigint", "SELECT sign(measure_value::bigint) FROM {table} WHERE measure_name = 'v' AND location = 'f'", "BIGINT", "1", f"{MATH} sign -> [same as input]"),
    C("ceil_bigint_is_bigint", "SELECT ceil(measure_value::bigint) FROM {table} WHERE measure_name = 'v' AND location = 'f'", "BIGINT", "6", f"{MATH} ceiling -> [same as input]"),
    C("bigint_column_division", "SELECT measure_value::bigint / 4 FROM {table} WHERE measure_name = 'v' AND location = 'f'", "BIGINT", "1", f"{MATH}: integer division truncates"),
    # ---- the same rules where only DuckDB knows the argument's type (UNNEST columns): the translation
    # cannot see the type in the query text and lets DuckDB pick the branch (typeof) when it binds
    C("double_column_div_by_zero_is_infinity", "SELECT x / 0 FROM UNNEST(ARRAY[5.0E0]) AS t(x)", "DOUBLE", "Infinity", f"{DOUBLE_OPS} divide = left / right (IEEE 754)"),
    C("integer_column_div_truncates", "SELECT x / 2 FROM UNNEST(ARRAY[-7]) AS t(x)", "INTEGER", "-3", f"{MATH}: integer division truncates; Java int division"),
    C("integer_column_div_by_zero_fails", "SELECT x / 0 FROM UNNEST(ARRAY[5]) AS t(x)", None, Error("division by zero"), f"{INTEGER_OPS} divide: DIVISION_BY_ZERO"),
    C("chained_divisions_of_a_column", "SELECT x / 10 / 10 / 10 / 10 / 10 / 10 / 10 / 10 FROM UNNEST(ARRAY[CAST(123456789012 AS BIGINT)]) AS t(x)", "BIGINT", str(123456789012 // 10**8), f"{MATH}: bigint division truncates, eight times; Python integer division"),
    C("ceil_integer_column_keeps_type", "SELECT ceil(x) FROM UNNEST(ARRAY[2]) AS t(x)", "INTEGER", "2", f"{MATH} ceiling(x) -> [same as input]"),
    C("floor_double_column", "SELECT floor(x) FROM UNNEST(ARRAY[-2.5E0]) AS t(x)", "DOUBLE", "-3.0", f"{MATH} floor"),
    C("sign_double_column", "SELECT sign(x) FROM UNNEST(ARRAY[-2.5E0]) AS t(x)", "DOUBLE", "-1.0", f"{MATH} sign -> [same as input]"),
    C("sign_of_negative_zero", "SELECT sign(x) FROM UNNEST(ARRAY[-0.0E0]) AS t(x)", "DOUBLE", java_double(math.copysign(0.0, -1.0)), f"{MATH_FNS} sign(double) = Math.signum, which returns its argument for a zero"),
    C("cast_double_column_to_bigint_rounds_half_up", "SELECT CAST(x AS BIGINT) FROM UNNEST(ARRAY[2.5E0]) AS t(x)", "BIGINT", "3", f"{DOUBLE_OPS} castToLong: HALF_UP"),
    C("cast_text_column_to_bigint_fails", "SELECT CAST(x AS BIGINT) FROM UNNEST(ARRAY['1.5']) AS t(x)", None, Error(r"cannot cast '1\.5' to bigint"), f"{VARCHAR_OPS} castToBigint: Long.parseLong"),
    C("try_cast_text_column_to_integer", "SELECT TRY_CAST(x AS INTEGER) FROM UNNEST(ARRAY['1.5']) AS t(x)", "INTEGER", NULL, f"{CONVERSION} try_cast; {VARCHAR_OPS} castToInteger"),
    C("cast_text_column_to_boolean_fails", "SELECT CAST(x AS BOOLEAN) FROM UNNEST(ARRAY['yes']) AS t(x)", None, Error("cannot cast 'yes' to boolean"), f"{VARCHAR_OPS} castToBoolean"),
    C("cast_text_column_to_double_fails", "SELECT CAST(x AS DOUBLE) FROM UNNEST(ARRAY['inf']) AS t(x)", None, Error("'inf'.* to double"), f"{VARCHAR_OPS} castToDouble: Double.parseDouble"),
    C("cast_double_column_to_varchar", "SELECT CAST(x AS VARCHAR) FROM UNNEST(ARRAY[1.0E7, 1.5E-5, 2.5E0]) AS t(x)", "VARCHAR", Rows([java_double(1e7), java_double(1.5e-5), java_double(2.5)]), f"{DOUBLE_OPS} castToVarchar = String.valueOf; {JAVA_DOUBLE}"),
    C("sum_of_bigint_column_overflows", "SELECT sum(x) FROM UNNEST(ARRAY[CAST(9223372036854775807 AS BIGINT), CAST(1 AS BIGINT)]) AS t(x)", None, Error("overflow"), f"{SRC}/operator/aggregation/LongSumAggregation.java: BigintOperators.add"),
    C("sum_of_integer_column_is_bigint", "SELECT sum(x) FROM UNNEST(ARRAY[2147483647, 1]) AS t(x)", "BIGINT", str(2**31), f"{AGGREGATE} sum(integer) -> bigint"),
    C("sum_of_double_column", "SELECT sum(x) FROM UNNEST(ARRAY[0.5E0, 0.25E0]) AS t(x)", "DOUBLE", "0.75", f"{AGGREGATE} sum(double) -> double"),
    C("date_column_plus_days_is_date", "SELECT d + INTERVAL '2' DAY FROM UNNEST(ARRAY[DATE '2012-08-08']) AS t(d)", "DATE", "2012-08-10", f"{DATETIME} operators table"),
    C("date_column_plus_hours_fails", "SELECT d + INTERVAL '2' HOUR FROM UNNEST(ARRAY[DATE '2012-08-08']) AS t(d)", None, Error("cannot add hour, minutes or seconds to a date"), f"{SRC}/type/DateTimeOperators.java datePlusIntervalDayToSecond"),
    C("date_column_date_add_day", "SELECT date_add('day', 1, d) FROM UNNEST(ARRAY[DATE '2020-02-28']) AS t(d)", "DATE", "2020-02-29", f"{DATETIME} date_add -> [same as input]"),
    C("date_column_date_trunc", "SELECT date_trunc('month', d) FROM UNNEST(ARRAY[DATE '2001-08-22']) AS t(d)", "DATE", "2001-08-01", f"{DATETIME} date_trunc -> [same as input]"),
    C("date_column_date_trunc_hour_fails", "SELECT date_trunc('hour', d) FROM UNNEST(ARRAY[DATE '2001-08-22']) AS t(d)", None, Error("'hour' is not a valid date field"), f"{SRC}/operator/scalar/DateTimeFunctions.java getDateField"),
    C("from_unixtime_integer_column", "SELECT from_unixtime(x) FROM UNNEST(ARRAY[1700000000]) AS t(x)", "TIMESTAMP", ts(str(dt.datetime.fromtimestamp(1700000000, dt.UTC).replace(tzinfo=None))), f"{DATETIME} from_unixtime"),
    C("pipe_with_number_column_fails", "SELECT 'a' || x FROM UNNEST(ARRAY[1]) AS t(x)", None, Error(r"\|\|.*strings"), f"{CONVERSION}: 'Trino will not convert between character and numeric types'"),
    C("pipe_chain_of_text_columns", "SELECT x || '-' || x || '-' || x FROM UNNEST(ARRAY['a']) AS t(x)", "VARCHAR", "a-a-a", f"{STRING} ||"),
    # ---- more of Trino's refusals and corner cases
    C("date_plus_hours_fails", "SELECT DATE '2001-01-22' + INTERVAL '3' HOUR", None, Error("cannot add hour, minutes or seconds to a date"), f"{SRC}/type/DateTimeOperators.java datePlusIntervalDayToSecond (and its test)"),
    C("hours_plus_date_fails", "SELECT INTERVAL '3' HOUR + DATE '2001-01-22'", None, Error("cannot add hour, minutes or seconds to a date"), f"{SRC}/type/DateTimeOperators.java intervalDayToSecondPlusDate"),
    C("days_plus_date_is_date", "SELECT INTERVAL '3' DAY + DATE '2001-01-22'", "DATE", "2001-01-25", f"{DATETIME} operators table"),
    C("date_minus_hours_fails", "SELECT DATE '2001-01-22' - INTERVAL '3' HOUR", None, Error("cannot subtract hour, minutes or seconds from a date"), f"{SRC}/type/DateTimeOperators.java dateMinusIntervalDayToSecond"),
    C("date_add_hour_to_date_fails", "SELECT date_add('hour', 1, DATE '2020-02-28')", None, Error("'hour' is not a valid date field"), f"{SRC}/operator/scalar/DateTimeFunctions.java getDateField"),
    C("date_trunc_hour_of_date_fails", "SELECT date_trunc('hour', DATE '2001-08-22')", None, Error("'hour' is not a valid date field"), f"{SRC}/operator/scalar/DateTimeFunctions.java getDateField"),
    C("concat_with_number_fails", "SELECT concat('a', 1)", None, Error(r"concat\(\).*strings"), f"{SRC}/operator/scalar/ConcatFunction.java: varchar arguments only"),
    C("sequence_of_dates_by_day_interval", "SELECT sequence(DATE '2024-01-01', DATE '2024-01-03', INTERVAL '1' DAY)", "ARRAY(DATE)", ["2024-01-01", "2024-01-02", "2024-01-03"], f"{SEQUENCE_FN} sequenceDateDayToSecond -> array(date)"),
    C("sequence_of_dates_by_hours_fails", "SELECT sequence(DATE '2018-01-01', DATE '2018-01-04', INTERVAL '18' HOUR)", None, Error("sequence step must be a day interval if start and end values are dates"), f"{SEQUENCE_FN} sequenceDateDayToSecond"),
    C("sequence_of_timestamps_by_month", "SELECT sequence(TIMESTAMP '2024-01-31 00:00:00', TIMESTAMP '2024-05-01 00:00:00', INTERVAL '1' MONTH)", "ARRAY(TIMESTAMP)", [ts(f"{add_months(dt.date(2024, 1, 31), k)} 00:00:00") for k in range(4)], f"{SEQUENCE_FN} sequenceTimestampYearToMonth: start + i * step, each from start"),
    C("date_format_unsupported_specifier_fails", "SELECT date_format(TIMESTAMP '2021-01-03 00:00:00', '%U')", None, Error("%U not supported in date format string"), f"{SRC}/operator/scalar/DateTimeFunctions.java createDateTimeFormatter"),
    C("date_format_literals", "SELECT date_format(TIMESTAMP '2021-01-03 04:05:06', '%% %Q %e/%c %k:%i %p')", "VARCHAR", "% Q 3/1 4:05 AM", f"{DATETIME} date_format: '%x: x, for any x not listed above'; %e %c %k unpadded"),
    C("extract_unknown_field_fails", "SELECT extract(millisecond FROM TIMESTAMP '2021-01-03 00:00:00')", None, Error("millisecond"), f"{DATETIME} extract: the fields are YEAR ... SECOND, TIMEZONE_HOUR/MINUTE (no MILLISECOND)"),
    C("cast_to_short_varchar_cuts", "SELECT CAST('abcdef' AS VARCHAR(3))", "VARCHAR", "abc", f"{SRC}/type/VarcharOperators.java: a varchar cast to varchar(n) keeps n characters"),
    C("cast_number_to_short_varchar_fails", "SELECT CAST(12345 AS VARCHAR(3))", None, Error(r"value 12345 cannot be represented as varchar\(3\)"), f"{INTEGER_OPS} castToVarchar(length)"),
    C("regexp_class_intersection_is_refused", "SELECT regexp_like('a', '[a-c&&b]')", None, Error("character class intersections"), f"{REGEXP}: Java's [a-c&&b] is b only (Trino: false); RE2 reads '&&' as characters (true), so timestream_local refuses it"),
    C("upper_keeps_capital_sharp_s", "SELECT upper('ẞß')", "VARCHAR", "ẞß", "Java Character.toUpperCase: U+1E9E is upper case already, U+00DF has no one-letter upper case"),
    C("trim_keeps_no_break_space", "SELECT trim(chr(160) || 'a ')", "VARCHAR", "\u00a0a", f"{STRING} trim: Character.isWhitespace is false for U+00A0"),
    C("concat_array_and_elements_chain", "SELECT ARRAY[1] || 2 || 3", "ARRAY(INTEGER)", ["1", "2", "3"], f"{ARRAY} || example (array || element, twice)"),
    C("date_format_with_a_column_format_is_refused", "SELECT date_format(TIMESTAMP '2021-01-03 04:05:06', x) FROM UNNEST(ARRAY['%Y']) AS t(x)", None, Error("takes its format as a string literal"), f"{DATETIME} date_format: Trino reads the format per row; timestream_local converts Trino's specifiers to DuckDB's while translating, so it refuses a format that is not a literal"),
    # ---- names the translation's own lambdas use, as the client's column and lambda names
    C("array_join_replacement_named_like_its_lambda", "SELECT array_join(ARRAY['a', NULL], ',', \"__tsl_e\") FROM UNNEST(ARRAY['R']) AS t(\"__tsl_e\")", "VARCHAR", "a,R", f"{ARRAY} array_join with null_replacement"),
    C("array_join_replacement_named_like_its_binding", "SELECT array_join(ARRAY['a', NULL], ',', \"__tsl_j\") FROM UNNEST(ARRAY['R']) AS t(\"__tsl_j\")", "VARCHAR", "a,R", f"{ARRAY} array_join with null_replacement"),
    C("cast_to_varchar_of_a_column_named_like_its_lambda", "SELECT CAST(\"__tsl_s\" AS VARCHAR) FROM UNNEST(ARRAY[1.0E7]) AS t(\"__tsl_s\")", "VARCHAR", java_double(1e7), f"{DOUBLE_OPS} castToVarchar; {JAVA_DOUBLE}"),
    C("array_distinct_of_a_column_named_like_its_lambda", "SELECT array_distinct(\"__tsl_l\") FROM (SELECT ARRAY[3, 1, 3] AS \"__tsl_l\") AS s", "ARRAY(INTEGER)", ["3", "1"], f"{SRC}/operator/scalar/ArrayDistinctFunction.java"),
    C("bound_division_of_a_column_named_like_its_binding", "SELECT \"__tsl_b\" / 2 / 2 / 2 / 2 FROM UNNEST(ARRAY[160]) AS t(\"__tsl_b\")", "INTEGER", str(160 // 16), f"{MATH}: integer division"),
    C("bound_division_inside_a_lambda_of_that_name", "SELECT transform(ARRAY[160], \"__tsl_b\" -> \"__tsl_b\" / 2 / 2 / 2 / 2)", "ARRAY(INTEGER)", [str(160 // 16)], f"{ARRAY} transform"),
    # ---- window functions
    C("lag_default_offset", "SELECT lag(measure_value::bigint) OVER (ORDER BY location) FROM {table} WHERE measure_name = 'v' ORDER BY location", "BIGINT", Rows([None, "1", "2", "3", "4", "5"]), f"{WINDOW} lag: default offset 1, default value null"),
    C("lag_offset_and_default", "SELECT lag(x, 2, 0) OVER (ORDER BY x) FROM UNNEST(ARRAY[1, 2, 3]) AS t(x) ORDER BY x", "INTEGER", Rows(["0", "0", "1"]), f"{WINDOW} lag(x, offset, default_value)"),
    C("lead_default_offset", "SELECT lead(x) OVER (ORDER BY x) FROM UNNEST(ARRAY[1, 2, 3]) AS t(x) ORDER BY x", "INTEGER", Rows(["2", "3", None]), f"{WINDOW} lead"),
    C("lag_negative_offset_fails", "SELECT lag(x, -1) OVER (ORDER BY x) FROM UNNEST(ARRAY[1, 2, 3]) AS t(x)", None, Error("offset must be at least 0"), f"{WINDOW} lag: 'Offsets start at 0'; {SRC}/operator/window/LagFunction.java"),
    C("nth_value_default_frame", "SELECT nth_value(x, 2) OVER (ORDER BY x) FROM UNNEST(ARRAY[1, 2, 3]) AS t(x) ORDER BY x", "INTEGER", Rows([None, "2", "2"]), f"{WINDOW} nth_value: offset beyond the frame -> null"),
    C("nth_value_whole_partition", "SELECT nth_value(x, 2) OVER (ORDER BY x ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) FROM UNNEST(ARRAY[1, 2, 3]) AS t(x) ORDER BY x", "INTEGER", Rows(["2", "2", "2"]), f"{WINDOW} nth_value"),
    C("nth_value_zero_fails", "SELECT nth_value(x, 0) OVER (ORDER BY x) FROM UNNEST(ARRAY[1, 2, 3]) AS t(x)", None, Error("offset must be at least 1"), f"{WINDOW} nth_value: 'It is an error for the offset to be zero or negative'"),
    C("ntile_distributes_remainder_first", "SELECT ntile(4) OVER (ORDER BY location) FROM {table} WHERE measure_name = 'v' ORDER BY location", "BIGINT", Rows(["1", "1", "2", "2", "3", "4"]), f"{WINDOW} ntile example: 6 rows, 4 buckets -> 1 1 2 2 3 4"),
    C("cume_dist", "SELECT cume_dist() OVER (ORDER BY x) FROM UNNEST(ARRAY[1, 2, 3, 4]) AS t(x) ORDER BY x", "DOUBLE", Rows(["0.25", "0.5", "0.75", "1.0"]), f"{WINDOW} cume_dist"),
    C("percent_rank", "SELECT percent_rank() OVER (ORDER BY x) FROM UNNEST(ARRAY[1, 2, 2, 4]) AS t(x) ORDER BY x", "DOUBLE", Rows([java_double(v) for v in (0.0, 1 / 3, 1 / 3, 1.0)]), f"{WINDOW} percent_rank = (r - 1) / (n - 1)"),
    C("rank_with_ties", "SELECT rank() OVER (ORDER BY x) FROM UNNEST(ARRAY[1, 2, 2, 4]) AS t(x) ORDER BY x", "BIGINT", Rows(["1", "2", "2", "4"]), f"{WINDOW} rank"),
    C("dense_rank_with_ties", "SELECT dense_rank() OVER (ORDER BY x) FROM UNNEST(ARRAY[1, 2, 2, 4]) AS t(x) ORDER BY x", "BIGINT", Rows(["1", "2", "2", "3"]), f"{WINDOW} dense_rank"),
    C("last_value_default_frame_is_current_row", "SELECT last_value(x) OVER (ORDER BY x) FROM UNNEST(ARRAY[1, 2, 3]) AS t(x) ORDER BY x", "INTEGER", Rows(["1", "2", "3"]), f"{WINDOW} last_value over the default frame (up to the current row's peers)"),
]  # fmt: skip


# --------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def query_client(timestream_local):
    return boto3.client("timestream-query", endpoint_url=timestream_local.url, region_name="us-east-1")


@pytest.fixture(scope="module")
def semantics_table(timestream_local) -> str:
    """A table written through the Write API: measure 'v' (BIGINT 1..6 at locations a..f),
    'big' (BIGINT 2^63 - 1 and 1: their sum overflows) and 'one' (a single DOUBLE)."""
    write = boto3.client("timestream-write", endpoint_url=timestream_local.url, region_name="us-east-1")
    database, table = create_table(write, unique("trino"), unique("semantics"))
    start = now_ms() - 60_000
    records = [record(location, value, start - i * 1000, measure="v") for i, (location, value) in
               enumerate(zip("abcdef", range(1, 7), strict=True))]  # fmt: skip
    records += [
        record("a", 2**63 - 1, start, measure="big"),
        record("b", 1, start, measure="big"),
        record("a", 1.0, start, measure="one", kind="DOUBLE"),
    ]
    write.write_records(DatabaseName=database, TableName=table, Records=records)
    return f'"{database}"."{table}"'


# ------------------------------------------------------------------------------------------ tests


def type_name(column_type: dict[str, Any]) -> str:
    if "ScalarType" in column_type:
        return column_type["ScalarType"]
    if "ArrayColumnInfo" in column_type:
        return f"ARRAY({type_name(column_type['ArrayColumnInfo']['Type'])})"
    if "TimeSeriesMeasureValueColumnInfo" in column_type:
        return f"TIMESERIES({type_name(column_type['TimeSeriesMeasureValueColumnInfo']['Type'])})"
    fields = ", ".join(f"{c['Name']} {type_name(c['Type'])}" for c in column_type["RowColumnInfo"])
    return f"ROW({fields})"


def test_the_cases_are_well_formed():
    """Ids are unique, every case names its source, and error cases state no type."""
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))
    for case in CASES:
        assert case.source.strip(), case.id
        assert (case.type is None) == isinstance(case.expect, Error), case.id


def test_java_double_follows_the_jdk_rule():
    """The helper the expectations rely on, checked against values the JDK documents or prints."""
    assert [java_double(x) for x in (1e7, 9999999.0, 0.001, 0.0001, 1.5, 100.0, -2.5e-5, 123456789.0)] == [
        "1.0E7", "9999999.0", "0.001", "1.0E-4", "1.5", "100.0", "-2.5E-5", "1.23456789E8",
    ]  # fmt: skip
    assert [java_double(x) for x in (math.nan, -math.inf, -0.0, 1.7976931348623157e308)] == [
        "NaN", "-Infinity", "-0.0", "1.7976931348623157E308",
    ]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_matches_trino(case: Case, query_client, request):
    sql = case.sql
    if "{table}" in sql:
        sql = sql.replace("{table}", request.getfixturevalue("semantics_table"))
    if isinstance(case.expect, Error):
        with pytest.raises(ClientError) as caught:
            query_client.query(QueryString=sql)
        error = caught.value.response["Error"]
        assert error["Code"] == "ValidationException", f"{error} (source: {case.source})"
        assert re.search(case.expect.pattern, error["Message"], re.IGNORECASE), (
            f"{error['Message']!r} does not say /{case.expect.pattern}/ (source: {case.source})"
        )
        return
    page = query_client.query(QueryString=sql)
    assert "NextToken" not in page
    got_type = type_name(page["ColumnInfo"][0]["Type"])
    got = [plain(row["Data"][0]) for row in page["Rows"]]
    want = case.expect.values if isinstance(case.expect, Rows) else [case.expect]
    assert (got_type, got) == (case.type, want), f"source: {case.source}"
