"""Array functions of Timestream's reference with Trino's meaning: ngrams, zip, zip_with, shuffle.

zip's rows are structs with the fields _0, _1 ... as ROW(...)'s are, so they reach the client the same way.
zip_with applies the client's two-parameter lambda to the pairs of a list_zip: its parameters are
replaced by the pair's fields, and the lambda is the template's argument (never inside template
text). Each DuckDB text is a registered constant template (see functions.TEMPLATES).
"""

from __future__ import annotations

from sqlglot import exp

from timestream_local.query.syntax import Raw, fail

# ngrams(array, n): every run of n consecutive elements; the whole array when n exceeds its length
NGRAMS = (
    "CASE WHEN {1} <= 0 THEN error('N must be positive') ELSE list_transform([{'a': {0}, 'n': least(len({0}), {1})}], "
    "lambda __tsl_g: list_transform(range(1, len(__tsl_g['a']) - __tsl_g['n'] + 2), "
    "lambda __tsl_i: list_slice(__tsl_g['a'], __tsl_i, __tsl_i + __tsl_g['n'] - 1)))[1] END"
)
_PAIR = "__tsl_z"  # the parameter of the lambdas over list_zip's structs
FIELDS = tuple(f"struct_extract_at({_PAIR}, {i})" for i in range(1, 6))


def _zip(count: int) -> str:
    """zip of ``count`` arrays: rows of their elements, as long as the longest (NULL-padded)."""
    arrays = ", ".join("{%d}" % i for i in range(count))  # noqa: UP031 (holes, not formatting)
    nulls = " OR ".join("{%d} IS NULL" % i for i in range(count))  # noqa: UP031
    fields = ", ".join(f"'_{i}': {FIELDS[i]}" for i in range(count))  # named as ROW(...)'s fields are
    return (
        f"CASE WHEN {nulls} THEN NULL ELSE list_transform(list_zip({arrays}), "
        f"lambda {_PAIR}: {{{fields}}}) END"
    )


ZIP = {count: _zip(count) for count in range(2, 6)}
# zip_with(a, b, f): {2} is the client's lambda, rewritten to take one list_zip struct
ZIP_WITH = "CASE WHEN {0} IS NULL OR {1} IS NULL THEN NULL ELSE list_transform(list_zip({0}, {1}), {2}) END"

# shuffle(array): a random permutation (the elements ordered by a random key each)
SHUFFLE = (
    "list_transform([{0}], lambda __tsl_s: list_select(__tsl_s, list_grade_up(list_transform(__tsl_s, "
    "lambda __tsl_x: random()))))[1]"
)

DIRECT = {"ngrams": NGRAMS}
ARITIES = {"ngrams": (2,), "zip": (2, 3, 4, 5), "zip_with": (3,)}
TEMPLATES = frozenset({NGRAMS, ZIP_WITH, SHUFFLE, *ZIP.values(), *FIELDS})


def zip_arrays(args: list[exp.Expr]) -> exp.Expr:
    return Raw(template=ZIP[len(args)], expressions=list(args))


def zip_with(node: exp.Anonymous, args: list[exp.Expr]) -> tuple[exp.Expr, exp.Lambda]:
    """zip_with's DuckDB expression and the lambda made from the client's (to be marked as the
    client's own by the caller)."""
    first, second, function = args
    if not isinstance(function, exp.Lambda) or len(function.expressions) != 2:
        raise fail(node, "zip_with() takes two arrays and a function (x, y) -> ...")
    names = [param.name.lower() for param in function.expressions]
    body = function.this
    for inner in body.find_all(exp.Lambda):
        if {param.name.lower() for param in inner.expressions} & set(names):
            raise fail(inner, "zip_with(): a lambda inside it reuses the name of one of its parameters")
    # a parameter is an identifier of its own in the body (or an unqualified column)
    for ref in list(body.find_all(exp.Identifier, exp.Column)):
        if isinstance(ref, exp.Identifier) and isinstance(ref.parent, exp.Column | exp.Dot):
            continue
        name = ref.name.lower()
        if name.startswith("__tsl"):
            raise fail(ref, f"the name {ref.name[:40]} is reserved")
        if name in names and not (isinstance(ref, exp.Column) and ref.table):
            field = Raw(template=FIELDS[names.index(name)])
            if ref is body:
                body = field
            else:
                ref.replace(field)
    pair = exp.Lambda(this=body, expressions=[exp.to_identifier(_PAIR)])
    return Raw(template=ZIP_WITH, expressions=[first, second, pair]), pair


def shuffle(node: exp.Shuffle) -> exp.Expr:
    return Raw(template=SHUFFLE, expressions=[node.this])
