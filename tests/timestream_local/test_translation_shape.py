"""The shape of the DuckDB text the translator writes: where the meaning of Trino's functions depends
on types, its templates must neither let a client's name be captured by their lambdas nor grow
exponentially when nested, and the text has a size limit. (What the translations answer is checked
over HTTP in test_trino_semantics.py.)"""

from __future__ import annotations

import re

import pytest
from sqlglot import parse_one
from sqlglot.errors import UnsupportedError

from timestream_local.exceptions import ValidationException
from timestream_local.query import functions as fn
from timestream_local.query import translate as translation
from timestream_local.query.kinds import DATE, FLOATING, INTEGER, TIMESTAMP, UNKNOWN, VARCHAR, Kinds
from timestream_local.query.lexer import parse

_HOLE = re.compile(r"\{\d+\}")


def _skip_string(text: str, i: int) -> int:
    """The index after the SQL string literal starting at text[i] ('' is a quote inside)."""
    i += 1
    while i < len(text):
        if text[i] == "'":
            if text[i + 1 : i + 2] == "'":
                i += 2
                continue
            return i + 1
        i += 1
    raise AssertionError(f"unterminated string in {text[:80]}")


def lambda_bodies(sql: str) -> list[str]:
    """The body of every `lambda p: body` in a DuckDB text: from the colon to the ',' or ')' that
    ends the lambda's argument."""
    bodies = []
    for match in re.finditer(r"\blambda\b[^:]*:", sql):
        depth, i = 0, match.end()
        while i < len(sql):
            char = sql[i]
            if char == "'":
                i = _skip_string(sql, i)
                continue
            if char in "([{":
                depth += 1
            elif char in ")]}":
                if depth == 0:
                    break
                depth -= 1
            elif char == "," and depth == 0:
                break
            i += 1
        bodies.append(sql[match.end() : i])
    return bodies


def test_the_body_finder_finds_bodies():
    assert lambda_bodies("list_transform(a, lambda x: f(x, 'a,)'), b)") == [" f(x, 'a,)')"]
    assert lambda_bodies("g([{'k': 1}], lambda y: y['k'] + h(lambda z: z, {0}))") == [
        " y['k'] + h(lambda z: z, {0})",
        " z",
    ]


@pytest.mark.parametrize("template", sorted(fn.TEMPLATES), ids=lambda t: t[:40])
def test_no_template_puts_an_argument_in_a_lambda_body(template):
    """A hole inside a lambda's body would let the lambda's parameter capture a name in the
    argument (array_join(a, ',', x) once read x as the element); templates bind their arguments
    outside their lambdas. And a parameter's fields are read as p['f']: DuckDB reads p.f as a
    column p of the query if there is one."""
    for body in lambda_bodies(template):
        assert not _HOLE.search(body), body
    assert not re.search(r"__tsl_\w+\.\w", template), template


def test_bound_templates_keep_names_out_of_their_lambda():
    """bind() puts every argument that names something into the struct it binds, outside the
    lambda; only constants stay in the body."""
    sql = fn.bind(fn.DIVIDE_ANY, {"0": "(" + "x + " * 40 + "x)", "1": '"__tsl_b"'})
    assert sql.startswith("list_transform([{")
    (body,) = lambda_bodies(sql)
    assert '"__tsl_b"' not in body and "x" not in body.replace("__tsl_b", "")
    assert fn.bind(fn.DIVIDE_ANY, {"0": "x", "1": "2"}) == fn.fill(fn.DIVIDE_ANY, **{"0": "x", "1": "2"})


def _nested_division(depth: int) -> str:
    return "SELECT " + "(" * depth + "x" + " / 2)" * depth + " FROM UNNEST(ARRAY[7]) AS t(x)"


def test_nested_type_dependent_operations_grow_linearly():
    """x / 2 / 2 ... over a column whose type only DuckDB knows: each division is a typeof dispatch
    that repeats its arguments; bound once, the text grows with the depth, not exponentially (4^16
    copies of x before)."""
    sizes = {depth: len(translation.translate(parse(_nested_division(depth))).sql) for depth in (4, 16)}
    assert sizes[16] < 5 * sizes[4], sizes


def test_the_translation_size_limit_at_and_past_the_limit():
    tree_sql = "SELECT CAST(x AS BIGINT), split_part(x, ',', 2) FROM UNNEST(ARRAY['1']) AS t(x)"
    size = len(translation.translate(parse(tree_sql)).sql)
    assert len(translation.translate(parse(tree_sql), max_chars=size).sql) == size
    with pytest.raises(ValidationException, match="too complex: its DuckDB form would be longer than"):
        translation.translate(parse(tree_sql), max_chars=size - 1)


def test_lambdas_sqlglot_writes_on_its_own_are_refused():
    """sqlglot writes some functions with lambdas of its own (x -> ...), whose parameter would capture
    a column x in their arguments; only the client's own lambdas (marked while translating) are
    written."""
    generator = translation._Generator(dialect="duckdb", identify=True)
    with pytest.raises(UnsupportedError, match="lambda of its own"):
        generator.generate(parse_one("SELECT list_transform(a, x -> x + 1)", dialect="duckdb"))
    tree = parse("SELECT transform(ARRAY[1], x -> x + 1)")
    assert "LAMBDA" in translation.translate(tree).sql


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("7", INTEGER), ("2.5E0", FLOATING), ("'a'", VARCHAR), ("CAST(x AS DOUBLE)", FLOATING),
        ("measure_value::bigint", INTEGER), ("measure_value::double / 2", FLOATING), ("time", TIMESTAMP),
        ("avg(measure_value::bigint)", FLOATING), ("sum(measure_value::bigint)", INTEGER),
        ("DATE '2020-01-01' + INTERVAL '1' DAY", DATE), ("bin(time, 1m)", TIMESTAMP), ("location", UNKNOWN),
        ("c", INTEGER), ("d", UNKNOWN), ("coalesce(1, 2.5E0)", FLOATING), ("length(location)", INTEGER),
    ],
)  # fmt: skip
def test_scalar_types_the_text_settles(expression, expected):
    """Only what the query text settles without the tables' schema: a dimension (location) or a
    column of an UNNEST (d) stays unknown; a CTE's column (c) has its expression's type."""
    sql = (
        'WITH w AS (SELECT 3 AS c, time, location, "measure_value::bigint", "measure_value::double" '
        'FROM "db"."t") '
        f"SELECT {expression} FROM w CROSS JOIN UNNEST(ARRAY[1]) AS u(d)"
    )
    tree = parse(sql)
    assert Kinds(tree).scalar_type(tree.expressions[0]) == expected
