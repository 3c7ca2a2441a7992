"""The named parameters of a scheduled query's text: ``@scheduled_runtime``, AWS's only one, bound to
the run's invocation time as a TIMESTAMP literal (so the engine prunes tiers on it as on any other
literal time). Strings, quoted names and comments are left as they are; any other ``@name`` is a
ValidationException naming it.
"""

from __future__ import annotations

import datetime as dt

from timestream_local.exceptions import ValidationException

PARAMETER = "scheduled_runtime"


def timestamp_literal(nanoseconds: int) -> str:
    """A TIMESTAMP literal with nanoseconds, e.g. TIMESTAMP '2021-12-01 00:00:00.000000000'."""
    seconds, fraction = divmod(nanoseconds, 1_000_000_000)
    moment = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=seconds)
    return f"TIMESTAMP '{moment:%Y-%m-%d %H:%M:%S}.{fraction:09d}'"


def _skip(query: str, position: int) -> int:
    """Where the string, quoted name or comment starting at ``position`` ends (position if none does)."""
    char, pair = query[position], query[position : position + 2]
    if char in "'\"":
        end = position + 1
        while end < len(query):
            if query[end] == char:
                if query[end + 1 : end + 2] == char:  # a doubled quote stays inside
                    end += 2
                    continue
                return end + 1
            end += 1
        return len(query)
    if pair == "--":
        end = query.find("\n", position)
        return len(query) if end < 0 else end
    if pair == "/*":
        end = query.find("*/", position + 2)
        return len(query) if end < 0 else end + 2
    return position


def bind(query: str, invocation_ns: int) -> str:
    """The query text with @scheduled_runtime replaced by the invocation time."""
    parts: list[str] = []
    start = position = 0
    while position < len(query):
        end = _skip(query, position)
        if end != position:
            position = end
            continue
        if query[position] != "@":
            position += 1
            continue
        name_end = position + 1
        while name_end < len(query) and (query[name_end].isalnum() or query[name_end] == "_"):
            name_end += 1
        name = query[position + 1 : name_end]
        if name.lower() != PARAMETER:
            raise ValidationException(
                f"QueryString names the parameter '@{name}'; the only parameter of a scheduled query is "
                f"@{PARAMETER}."
            )
        parts.extend((query[start:position], timestamp_literal(invocation_ns)))
        start = position = name_end
    parts.append(query[start:])
    return "".join(parts)
