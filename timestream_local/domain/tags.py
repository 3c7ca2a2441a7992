"""Tags on Timestream resources, by ARN: TagResource, UntagResource and ListTagsForResource (both APIs
have the three actions), and the Tags that CreateDatabase and CreateTable bring.

The store knows nothing of the resources themselves: each kind of resource registers a resolver (a
function telling whether an ARN names one of its resources that exists) and, when it creates or
deletes one, attaches or detaches its tags inside its own transaction. The catalogue resolves
databases and tables; scheduled queries register theirs the same way. An ARN no resolver knows is
ResourceNotFoundException.

AWS's rules (Timestream API reference: Tag, TagResource, UntagResource; developer guide: tagging
restrictions): a key is 1-128 characters and does not start with "aws:", a value 0-256 characters;
a request names at most 200 tags or keys; a resource holds at most 50 tags; setting a key it already
has replaces the value; removing a key it does not have is no error.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from timestream_local.exceptions import ResourceNotFoundException, ValidationException
from timestream_local.storage.database import Database
from timestream_local.storage.tags import TagTable

MAX_TAGS_PER_REQUEST = 200  # TagList and TagKeyList in the API reference
MAX_TAGS_PER_RESOURCE = 50  # the developer guide's tagging restrictions
KEY_LENGTH = (1, 128)
VALUE_LENGTH = (0, 256)
RESERVED_PREFIX = "aws:"
_ARN = re.compile(r"arn:[^:]+:[^:]*:[^:]*:[^:]*:.+", re.DOTALL)

# Whether an ARN names a resource that exists (called with the store lock held).
Resolver = Callable[[str], bool]


def _invalid(value: Any, where: str, constraint: str) -> ValidationException:
    shown = "null" if value is None else f"'{value}'"
    return ValidationException(
        f"1 validation error detected: Value {shown} at '{where}' failed to satisfy constraint: {constraint}"
    )


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        raise _invalid(None, where, "Member must not be null")
    if not isinstance(value, list):
        raise ValidationException(f"{where} must be a list.")
    if len(value) > MAX_TAGS_PER_REQUEST:
        raise _invalid(
            f"[{len(value)} items]",
            where,
            f"Member must have length less than or equal to {MAX_TAGS_PER_REQUEST}",
        )
    return value


def _key(key: Any, where: str) -> str:
    if key is None:
        raise _invalid(None, where, "Member must not be null")
    if not isinstance(key, str):
        raise ValidationException(f"{where} must be a string.")
    low, high = KEY_LENGTH
    if not low <= len(key) <= high:
        raise _invalid(key, where, f"Member must have length between {low} and {high} (got {len(key)})")
    if key.lower().startswith(RESERVED_PREFIX):
        raise ValidationException(
            f"The tag key '{key}' at '{where}' starts with '{RESERVED_PREFIX}', which is reserved for "
            "tags AWS assigns; choose another key."
        )
    return key


def parse_tags(value: Any, where: str = "tags") -> dict[str, str]:
    """A Tags parameter as key -> value (a later tag with the same key wins); ValidationException
    naming the first bad field otherwise."""
    tags: dict[str, str] = {}
    for number, tag in enumerate(_list(value, where), start=1):
        member = f"{where}.{number}.member"
        if not isinstance(tag, dict):
            raise ValidationException(f"{member} must be an object with Key and Value.")
        key = _key(tag.get("Key"), f"{member}.key")
        text = tag.get("Value")
        if text is None:
            raise _invalid(None, f"{member}.value", "Member must not be null")
        if not isinstance(text, str):
            raise ValidationException(f"{member}.value must be a string.")
        low, high = VALUE_LENGTH
        if not low <= len(text) <= high:
            raise _invalid(
                text, f"{member}.value", f"Member must have length between {low} and {high} (got {len(text)})"
            )
        tags[key] = text
    return tags


def parse_tag_keys(value: Any, where: str = "tagKeys") -> list[str]:
    """A TagKeys parameter; ValidationException naming the first bad key otherwise."""
    return [_key(key, f"{where}.{number}.member") for number, key in enumerate(_list(value, where), start=1)]


def check_count(tags: dict[str, str], arn: str) -> None:
    """ValidationException when a resource would hold more tags than AWS allows."""
    if len(tags) > MAX_TAGS_PER_RESOURCE:
        raise ValidationException(
            f"1 validation error detected: the resource {arn} would have {len(tags)} tags; a resource has at "
            f"most {MAX_TAGS_PER_RESOURCE} (the 'tags' given and those it already has, counting each key once). "
            "Nothing was changed."
        )


def to_api(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


class TagStore:
    """Tags by resource ARN, for every kind of resource that registers a resolver."""

    def __init__(self, database: Database, table: TagTable) -> None:
        self._db = database
        self._table = table
        self._resolvers: list[Resolver] = []

    def register(self, resolver: Resolver) -> None:
        """Let the resources ``resolver`` recognises be tagged."""
        self._resolvers.append(resolver)

    def _resolve(self, arn: str) -> None:
        if not _ARN.fullmatch(arn):
            raise _invalid(
                arn, "resourceARN", "Member must be an ARN (arn:partition:service:region:account:resource)"
            )
        if not any(resolver(arn) for resolver in self._resolvers):
            raise ResourceNotFoundException(f"The resource {arn} does not exist.")

    # ------------------------------------------------------------------------------ the actions
    def tag_resource(self, arn: str, tags: dict[str, str]) -> None:
        with self._db.exclusive():
            self._resolve(arn)
            merged = self._table.read(arn)
            merged.update(tags)
            check_count(merged, arn)
            self._commit(lambda: self._table.write(arn, merged))

    def untag_resource(self, arn: str, keys: list[str]) -> None:
        with self._db.exclusive():
            self._resolve(arn)
            current = self._table.read(arn)
            kept = {key: value for key, value in current.items() if key not in set(keys)}
            if len(kept) != len(current):
                self._commit(lambda: self._table.write(arn, kept))

    def list_tags(self, arn: str) -> dict[str, str]:
        with self._db.exclusive():
            self._resolve(arn)
            return self._table.read(arn)

    # ------------------------------------------ for the owners of resources (their transaction)
    def attach(self, arn: str, tags: dict[str, str]) -> None:
        """The tags a new resource was created with (inside its creator's transaction)."""
        check_count(tags, arn)
        self._table.write(arn, tags)

    def detach(self, arn: str) -> None:
        """Remove a deleted resource's tags (inside its deleter's transaction)."""
        self._table.erase(arn)

    def _commit(self, change: Callable[[], None]) -> None:
        self._db.sql("BEGIN")
        try:
            change()
            self._db.sql("COMMIT")
        except Exception:
            self._db.rollback()
            raise
