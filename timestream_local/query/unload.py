"""Read an UNLOAD statement: the inner SELECT's text, the S3 destination and the WITH options.

``UNLOAD (SELECT ...) TO 's3://bucket/prefix/' WITH (option = value, ...)`` as Timestream's developer
guide defines it. This module only reads and checks the statement; the inner SELECT is returned as the
client's own text so that it goes through the same lexer, translator and guard as any Query. Every
problem is a ValidationException naming the option (or the part of the statement) at fault.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlglot.dialects.trino import Trino
from sqlglot.errors import TokenError
from sqlglot.tokens import Token, TokenType

from timestream_local.exceptions import ValidationException

FORMATS = ("CSV", "PARQUET")
COMPRESSIONS = ("GZIP", "NONE")
ENCRYPTIONS = ("SSE_S3", "SSE_KMS")
MIN_FILE_SIZE = 16 * 1024**2  # the guide's smallest max_file_size, 16MB
MAX_FILE_SIZE = 78 * 1024**3  # its largest and default, 78GB
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(KB|MB|GB)\s*$", re.IGNORECASE)
_SIZE_UNITS = {"KB": 1024, "MB": 1024**2, "GB": 1024**3}
# S3's bucket naming rules: 3-63 characters, lower-case letters, digits, dots and hyphens
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_CSV_ONLY = ("field_delimiter", "escaped_by", "include_header")
_OPTIONS = (
    "format", "compression", "partitioned_by", "encryption", "kms_key", "field_delimiter", "escaped_by",
    "include_header", "max_file_size",
)  # fmt: skip
_DIALECT = Trino()


@dataclass(frozen=True)
class UnloadOptions:
    format: str = "CSV"
    compression: str = "GZIP"
    partitioned_by: tuple[str, ...] = ()
    encryption: str = "SSE_S3"
    kms_key: str | None = None
    field_delimiter: str = ","
    escaped_by: str = "\\"
    include_header: bool = False
    max_file_size: int = MAX_FILE_SIZE


@dataclass(frozen=True)
class Unload(UnloadOptions):
    """An UNLOAD statement read: where it writes, how, and the client's text of its SELECT."""

    select: str = ""  # the inner SELECT, parentheses removed
    bucket: str = ""
    prefix: str = ""  # the folder under the bucket, without leading slash, ending in "/" unless empty


def is_unload(sql: str) -> bool:
    """Whether a query text is an UNLOAD statement: its first word, after whitespace, opening
    parentheses and comments (``-- ...`` to the end of the line, ``/* ... */``), is UNLOAD. One pass
    over the text's head: each step consumes what it skips."""
    position, end = 0, len(sql)
    while position < end:
        char = sql[position]
        if char.isspace() or char == "(":
            position += 1
        elif sql.startswith("--", position):
            newline = sql.find("\n", position)
            position = end if newline < 0 else newline + 1
        elif sql.startswith("/*", position):
            close = sql.find("*/", position + 2)
            if close < 0:
                return False  # an unclosed comment: the query's reader says so
            position = close + 2
        else:
            break
    return sql[position : position + 6].upper() == "UNLOAD"


def parse_unload(sql: str) -> Unload:
    try:
        tokens = _DIALECT.tokenize(sql)
    except TokenError as error:
        raise ValidationException(f"SQL could not be read: {error}") from None
    if not tokens or tokens[0].text.upper() != "UNLOAD":
        raise ValidationException("an UNLOAD statement starts with UNLOAD")
    position = _expect(tokens, 1, TokenType.L_PAREN, "UNLOAD is followed by the SELECT in parentheses")
    close = _matching(tokens, position)
    if close == position + 1:
        raise ValidationException("UNLOAD's parentheses hold no SELECT statement")
    select = sql[tokens[position + 1].start : tokens[close - 1].end + 1].strip()
    position = close + 1
    if position >= len(tokens) or tokens[position].text.upper() != "TO":
        raise ValidationException("UNLOAD's SELECT is followed by TO 's3://bucket/folder/'")
    target = _expect(tokens, position + 1, TokenType.STRING, "TO is followed by the S3 URI as a string")
    bucket, prefix = parse_s3_uri(tokens[target].text)
    position = target + 1
    options = UnloadOptions()
    if position < len(tokens):
        if tokens[position].token_type != TokenType.WITH:
            raise ValidationException(
                f"unexpected {tokens[position].text!r} after the S3 URI; WITH (...) expected"
            )
        options = _options(tokens, position + 1)
    return Unload(**vars(options), select=select, bucket=bucket, prefix=prefix)


def parse_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise ValidationException(f"the S3 URI {uri!r} is malformed: it starts with s3://")
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not _BUCKET.match(bucket) or ".." in bucket:
        raise ValidationException(f"the S3 URI {uri!r} is malformed: {bucket!r} is not an S3 bucket name")
    if len(key) > 512:
        raise ValidationException(f"the S3 URI's folder is {len(key)} characters long; the limit is 512")
    if key and not key.endswith("/"):
        key += "/"
    return bucket, key


def _options(tokens: list[Token], position: int) -> UnloadOptions:
    position = _expect(tokens, position, TokenType.L_PAREN, "WITH is followed by its options in parentheses")
    close = _matching(tokens, position)
    if close != len(tokens) - 1:
        raise ValidationException(f"unexpected {tokens[close + 1].text!r} after UNLOAD's WITH options")
    values: dict[str, object] = {}
    position += 1
    while position < close:
        name = tokens[position].text.lower()
        if name not in _OPTIONS:
            raise ValidationException(
                f"UNLOAD option {tokens[position].text!r} is unknown; the options are {', '.join(_OPTIONS)}"
            )
        if name in values:
            raise ValidationException(f"UNLOAD option {name} is given twice")
        position = _expect(
            tokens, position + 1, TokenType.EQ, f"UNLOAD option {name} is followed by = and its value"
        )
        if name == "partitioned_by":
            values[name], position = _array(tokens, position + 1)
        else:
            _expect(
                tokens, position + 1, TokenType.STRING, f"UNLOAD option {name}'s value is a quoted string"
            )
            values[name] = tokens[position + 1].text
            position += 2
        if position < close:
            position = (
                _expect(tokens, position, TokenType.COMMA, "UNLOAD's options are separated by commas") + 1
            )
    return _checked(values)


def _checked(values: dict[str, object]) -> UnloadOptions:
    fmt = _choice(values, "format", FORMATS, "CSV")
    if fmt != "CSV":
        for name in _CSV_ONLY:
            if name in values:
                raise ValidationException(f"UNLOAD option {name} applies to format 'CSV' only")
    encryption = _choice(values, "encryption", ENCRYPTIONS, "SSE_S3")
    kms_key = values.get("kms_key")
    if kms_key is not None and encryption != "SSE_KMS":
        raise ValidationException("UNLOAD option kms_key needs encryption = 'SSE_KMS'")
    return UnloadOptions(
        format=fmt,
        compression=_choice(values, "compression", COMPRESSIONS, "GZIP"),
        partitioned_by=tuple(values.get("partitioned_by", ())),  # type: ignore[arg-type]
        encryption=encryption,
        kms_key=str(kms_key) if kms_key is not None else None,
        field_delimiter=_character(values, "field_delimiter", ","),
        escaped_by=_character(values, "escaped_by", "\\"),
        include_header=_boolean(values, "include_header"),
        max_file_size=_size(values),
    )


def _choice(values: dict[str, object], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = str(values.get(name, default))
    if value.upper() not in allowed:
        quoted = " or ".join(f"'{choice}'" for choice in allowed)
        raise ValidationException(f"UNLOAD option {name} is {value!r}; it is {quoted}")
    return value.upper()


def _character(values: dict[str, object], name: str, default: str) -> str:
    value = str(values.get(name, default))
    if len(value) != 1:
        raise ValidationException(f"UNLOAD option {name} is {value!r}; it is a single character")
    if value in "\r\n":
        raise ValidationException(f"UNLOAD option {name} cannot be a line break")
    return value


def _boolean(values: dict[str, object], name: str) -> bool:
    value = str(values.get(name, "false")).lower()
    if value not in ("true", "false"):
        raise ValidationException(f"UNLOAD option {name} is {value!r}; it is 'true' or 'false'")
    return value == "true"


def _size(values: dict[str, object]) -> int:
    if "max_file_size" not in values:
        return MAX_FILE_SIZE
    text = str(values["max_file_size"])
    match = _SIZE.match(text)
    if not match:
        raise ValidationException(
            f"UNLOAD option max_file_size is {text!r}; write a size such as '16MB' or '10GB'"
        )
    size = int(float(match.group(1)) * _SIZE_UNITS[match.group(2).upper()])
    if not MIN_FILE_SIZE <= size <= MAX_FILE_SIZE:
        raise ValidationException(f"UNLOAD option max_file_size is {text!r}; it is between 16MB and 78GB")
    return size


def _array(tokens: list[Token], position: int) -> tuple[list[str], int]:
    message = "UNLOAD option partitioned_by is ARRAY['column', ...]"
    position = _expect(tokens, position, TokenType.ARRAY, message)
    position = _expect(tokens, position + 1, TokenType.L_BRACKET, message) + 1
    columns: list[str] = []
    while True:
        token = tokens[position] if position < len(tokens) else None
        if token is None or token.token_type not in (TokenType.STRING, TokenType.VAR, TokenType.IDENTIFIER):
            raise ValidationException(message)
        columns.append(token.text)
        position += 1
        if position < len(tokens) and tokens[position].token_type == TokenType.R_BRACKET:
            break
        position = _expect(tokens, position, TokenType.COMMA, message) + 1
    if len(set(columns)) != len(columns):
        raise ValidationException("UNLOAD option partitioned_by names a column twice")
    return columns, position + 1


def _expect(tokens: list[Token], position: int, kind: TokenType, message: str) -> int:
    if position >= len(tokens) or tokens[position].token_type != kind:
        raise ValidationException(message)
    return position


def _matching(tokens: list[Token], opening: int) -> int:
    depth = 0
    for index in range(opening, len(tokens)):
        kind = tokens[index].token_type
        if kind == TokenType.L_PAREN:
            depth += 1
        elif kind == TokenType.R_PAREN:
            depth -= 1
            if depth == 0:
                return index
    raise ValidationException("UNLOAD's parentheses are not closed")


def check_partition_columns(columns: list[str], partitioned_by: tuple[str, ...]) -> None:
    """The partition columns are in the select list and are its last columns, in the same order."""
    for name in partitioned_by:
        if name not in columns:
            raise ValidationException(
                f"UNLOAD option partitioned_by names {name!r}, which is not in the select list"
            )
    if partitioned_by and tuple(columns[-len(partitioned_by) :]) != partitioned_by:
        raise ValidationException(
            "UNLOAD option partitioned_by's columns must be the last columns of the select list, in the same order"
        )
    if len(partitioned_by) == len(columns):
        raise ValidationException(
            "UNLOAD option partitioned_by leaves no column to write; keep at least one other"
        )
