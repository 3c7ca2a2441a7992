"""Date and time functions of Timestream's reference that write or read text: to_iso8601,
format_datetime (Joda-Time patterns), date_parse (MySQL-style specifiers) and parse_duration.

Timestream works in UTC and its timestamps have nanoseconds (Trino's timestamp(9)), so to_iso8601
writes nine fractional digits and no zone. A format must be a string literal: it is read here, in
Python, into DuckDB's strftime/strptime notation and reaches DuckDB as a literal node (a value,
never template text); a pattern letter or specifier that has no DuckDB equivalent is refused by name.
Each DuckDB text is a registered constant template (see functions.TEMPLATES).
"""

from __future__ import annotations

from sqlglot import exp

from timestream_local.query.syntax import Raw, fail

# to_iso8601(x): a DATE as 2022-07-07, a TIMESTAMP as 2022-07-07T17:44:43.771000000
TO_ISO8601 = (
    "CASE WHEN typeof({0}) = 'VARCHAR' THEN error('to_iso8601() takes a date or a timestamp') "
    "WHEN typeof({0}) = 'DATE' THEN strftime(CAST({0} AS TIMESTAMP_NS), '%Y-%m-%d') "
    "ELSE strftime(CAST({0} AS TIMESTAMP_NS), '%Y-%m-%dT%H:%M:%S.%n') END"
)
FORMAT_DATETIME = "strftime(CAST({0} AS TIMESTAMP_NS), {1})"  # {1}: a strftime format (a literal)
# date_parse(s, format): {1} is a strptime format (a literal); text that does not match is an error
DATE_PARSE = (
    "CASE WHEN {0} IS NULL THEN NULL WHEN try_strptime({0}, {1}) IS NULL "
    "THEN error('Invalid format: \"' || {0} || '\"') ELSE CAST(strptime({0}, {1}) AS TIMESTAMP_NS) END"
)
# parse_duration(s): '<number><unit>' (spaces allowed around both) with unit ns, us, ms, s, m, h or d,
# rounded to milliseconds as Trino's INTERVAL DAY TO SECOND keeps them
_MILLIS_PER_UNIT = (
    "CASE __tsl_p['u'] WHEN 'ns' THEN 0.000001 WHEN 'us' THEN 0.001 WHEN 'ms' THEN 1 WHEN 's' THEN 1000 "
    "WHEN 'm' THEN 60000 WHEN 'h' THEN 3600000 WHEN 'd' THEN 86400000 END"
)
PARSE_DURATION = (
    "list_transform([{'s': {0}}], lambda __tsl_d: list_transform([regexp_extract(__tsl_d['s'], "
    "'^\\s*([0-9]+(?:\\.[0-9]+)?)\\s*([a-zA-Z]+)\\s*$', ['v', 'u'])], lambda __tsl_p: CASE "
    "WHEN __tsl_d['s'] IS NULL THEN NULL "
    "WHEN __tsl_p['v'] = '' THEN error('duration is not a valid data duration string: ' || __tsl_d['s']) "
    "WHEN " + _MILLIS_PER_UNIT + " IS NULL THEN error('Unknown time unit: ' || __tsl_p['u']) "
    "ELSE to_microseconds(CAST(round(CAST(__tsl_p['v'] AS DOUBLE) * "
    + _MILLIS_PER_UNIT
    + ") AS BIGINT) * 1000) "
    "END)[1])[1]"
)

DIRECT = {"to_iso8601": TO_ISO8601, "parse_duration": PARSE_DURATION}
ARITIES = {"to_iso8601": (1,), "parse_duration": (1,), "format_datetime": (2,)}
TEMPLATES = frozenset({TO_ISO8601, FORMAT_DATETIME, DATE_PARSE, PARSE_DURATION})

# -- Joda-Time patterns (format_datetime): letter -> {count: strftime}; the largest count listed
# applies to longer runs. Every instant is UTC, so zones are written as constants.
_JODA: dict[str, dict[int, str]] = {
    "y": {1: "%Y", 2: "%y", 3: "%Y"}, "Y": {1: "%Y", 2: "%y", 3: "%Y"}, "x": {1: "%G", 4: "%G"},
    "M": {1: "%-m", 2: "%m", 3: "%b", 4: "%B"}, "d": {1: "%-d", 2: "%d"}, "D": {1: "%-j", 3: "%j"},
    "H": {1: "%-H", 2: "%H"}, "h": {1: "%-I", 2: "%I"}, "m": {1: "%-M", 2: "%M"}, "s": {1: "%-S", 2: "%S"},
    "S": {3: "%g"}, "a": {1: "%p"}, "E": {1: "%a", 4: "%A"}, "e": {1: "%u"}, "w": {2: "%V"},
    "Z": {1: "+0000", 2: "+00:00", 3: "UTC"}, "z": {1: "UTC"},
}  # fmt: skip


def _joda_run(node: exp.Expr, letter: str, count: int) -> str:
    counts = _JODA.get(letter)
    if counts is None:
        raise fail(node, f"format_datetime(): the pattern letter {letter} is not supported")
    fitting = [c for c in counts if c <= count]
    exact = letter in "SDx" or (letter in "dHhmswe" and count > max(counts))  # Joda would pad to the count
    if (exact and count not in counts) or not fitting:
        raise fail(node, f"format_datetime(): {letter * count} is not supported")
    return counts[max(fitting)]


def joda_format(node: exp.Expr, text: str) -> str:
    """DuckDB's strftime format for a Joda-Time pattern: letter runs become specifiers, 'quoted'
    text and other characters stay as they are ('' is a quote)."""
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "'":
            end = text.find("'", i + 1)
            if end < 0:
                raise fail(node, "format_datetime(): the pattern has an unclosed quote")
            out.append("'" if end == i + 1 else text[i + 1 : end].replace("%", "%%"))
            i = end + 1
        elif char.isascii() and char.isalpha():
            run = len(text) - i - len(text[i:].lstrip(char))
            out.append(_joda_run(node, char, run))
            i += run
        else:
            out.append("%%" if char == "%" else char)
            i += 1
    return "".join(out)


# -- MySQL-style specifiers (date_parse), as Trino reads them, in DuckDB's strptime notation
_PARSE = {
    "Y": "%Y", "y": "%y", "m": "%m", "c": "%m", "d": "%d", "e": "%d", "H": "%H", "k": "%H", "h": "%I",
    "I": "%I", "l": "%I", "i": "%M", "s": "%S", "S": "%S", "f": "%f", "p": "%p", "b": "%b", "M": "%B",
    "a": "%a", "W": "%A", "j": "%j", "T": "%H:%M:%S", "r": "%I:%M:%S %p", "%": "%%",
}  # fmt: skip


def strptime_format(node: exp.Expr, text: str) -> str:
    """DuckDB's strptime format for a date_parse format; a specifier it cannot read is refused."""
    out: list[str] = []
    escaped = False
    for char in text:
        if escaped:
            if char not in _PARSE:
                raise fail(node, f"date_parse(): %{char} is not supported in its format")
            out.append(_PARSE[char])
            escaped = False
        elif char == "%":
            escaped = True
        else:
            out.append(char)
    if escaped:
        raise fail(node, "date_parse(): the format ends with a lone %")
    return "".join(out)


def _literal_format(node: exp.Expr, argument: exp.Expr | None, name: str) -> str:
    if not (isinstance(argument, exp.Literal) and argument.is_string):
        raise fail(node, f"{name}() takes its format as a string literal")
    return argument.name


def format_datetime(node: exp.Anonymous) -> exp.Expr:
    """format_datetime(timestamp, pattern) with a literal Joda-Time pattern."""
    moment, pattern = node.expressions
    text = joda_format(node, _literal_format(node, pattern, "format_datetime"))
    return Raw(template=FORMAT_DATETIME, expressions=[moment, exp.Literal.string(text)])


def date_parse(node: exp.StrToTime) -> exp.Expr:
    """date_parse(string, format) with a literal format."""
    text = strptime_format(node, _literal_format(node, node.args.get("format"), "date_parse"))
    return Raw(template=DATE_PARSE, expressions=[node.this, exp.Literal.string(text)])
