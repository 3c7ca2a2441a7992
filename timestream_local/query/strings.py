"""String functions whose optional arguments sqlglot's DuckDB output would drop or refuse: split
with a limit (and split's refusal of an empty delimiter) and strpos with an instance, with Trino's
meaning (StringFunctions.split and stringPosition); and regexp_replace's replacement, read from Java's
syntax into RE2's. Each DuckDB text is a registered constant
template (see functions.TEMPLATES), with no hole inside a lambda's body.
"""

from __future__ import annotations

import re

from sqlglot import exp

from timestream_local.query.syntax import Raw, fail

_EMPTY_DELIMITER = "WHEN {1} = '' THEN error('The delimiter may not be the empty string') "
SPLIT = "CASE " + _EMPTY_DELIMITER + "ELSE str_split({0}, {1}) END"
# split(s, d, limit): at most `limit` parts, the last one the rest of the string (which starts after
# the first limit - 1 parts and their delimiters)
SPLIT_LIMIT = (
    "CASE WHEN {2} <= 0 THEN error('Limit must be positive') WHEN {2} > 2147483647 THEN error('Limit is too large') "
    + _EMPTY_DELIMITER
    + "ELSE list_transform([{'s': {0}, 'p': str_split({0}, {1}), 'd': length({1}), 'n': {2}}], lambda __tsl_s: "
    "CASE WHEN len(__tsl_s['p']) <= __tsl_s['n'] THEN __tsl_s['p'] ELSE list_append(list_slice(__tsl_s['p'], 1, "
    "__tsl_s['n'] - 1), substring(__tsl_s['s'], CAST(coalesce(list_sum(list_transform(list_slice(__tsl_s['p'], 1, "
    "__tsl_s['n'] - 1), lambda __tsl_x: length(__tsl_x))), 0) + (__tsl_s['n'] - 1) * __tsl_s['d'] + 1 AS BIGINT))) END)[1] END"
)
# strpos(s, t, instance): where the instance-th occurrence of t starts (counting overlapping ones;
# from the end when instance is negative), 0 when there are fewer; 1 for an empty t
STRPOS_INSTANCE = (
    "list_transform([{'s': {0}, 't': {1}, 'n': {2}}], lambda __tsl_q: CASE "
    "WHEN __tsl_q['s'] IS NULL OR __tsl_q['t'] IS NULL OR __tsl_q['n'] IS NULL THEN NULL "
    "WHEN __tsl_q['n'] = 0 THEN error('''instance'' must be a positive or negative number.') "
    "WHEN __tsl_q['t'] = '' THEN CAST(1 AS BIGINT) "
    "ELSE CAST(coalesce(list_filter(range(1, length(__tsl_q['s']) + 1), lambda __tsl_i: "
    "substring(__tsl_q['s'], __tsl_i, length(__tsl_q['t'])) = __tsl_q['t'])[__tsl_q['n']], 0) AS BIGINT) END)[1]"
)
TEMPLATES = frozenset({SPLIT, SPLIT_LIMIT, STRPOS_INSTANCE})


def rewrite(node: exp.Split | exp.StrPosition) -> exp.Expr:
    """split() always (for its empty-delimiter check); strpos() only with an instance."""
    if isinstance(node, exp.Split):
        limit = node.args.get("limit")
        if limit is None:
            return Raw(template=SPLIT, expressions=[node.this, node.expression])
        return Raw(template=SPLIT_LIMIT, expressions=[node.this, node.expression, limit])
    occurrence = node.args.get("occurrence")
    if occurrence is None or node.args.get("position") is not None:
        return node
    return Raw(template=STRPOS_INSTANCE, expressions=[node.this, node.args["substr"], occurrence])


def _group_count(pattern: str) -> int | None:
    """How many capturing groups a (Java-syntax) pattern has, where Python's engine reads it the same
    way; None when it cannot tell."""
    try:
        return re.compile(pattern).groups
    except (re.error, RecursionError, OverflowError):
        return None


def java_replacement(node: exp.Expr, text: str, pattern: str | None) -> str:
    """A regexp_replace replacement in Java's syntax ($g for group g, \\x for a literal x) in RE2's
    (\\g for group g, \\\\ for a backslash). RE2 knows groups 0 to 9 only; named groups (${name}) and
    groups the pattern does not have are refused, as Java refuses the latter."""
    groups = _group_count(pattern) if pattern is not None else None
    if groups is not None and groups > 9 and "$" in text:
        raise fail(
            node, "regexp_replace(): group references in a pattern of more than 9 groups are not supported"
        )
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\":
            if i + 1 == len(text):
                raise fail(
                    node, "regexp_replace(): character to be escaped is missing at the end of the replacement"
                )
            escaped = text[i + 1]
            out.append("\\\\" if escaped == "\\" else escaped)
            i += 2
        elif char == "$":
            following = text[i + 1 : i + 2]
            if following == "{":
                raise fail(node, "regexp_replace(): named group references (${name}) are not supported")
            if not following.isdigit() or not following.isascii():
                raise fail(
                    node, "regexp_replace(): Illegal group reference: $ must be followed by a group number"
                )
            if groups is not None and int(following) > groups:
                raise fail(node, f"regexp_replace(): No group {following}")
            out.append("\\" + following)
            i += 2
        else:
            out.append(char)
            i += 1
    return "".join(out)
