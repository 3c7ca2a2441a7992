"""A batch load file read as rows, and each row turned into WriteRecords records by the data model.

``read_rows`` takes the object's bytes in chunks (never the whole object) and yields one ``Row`` per
CSV row: the line it starts on (the header is line 1) and its fields, or the reason it cannot be
read. It follows the task's CsvConfiguration (ColumnSeparator, QuoteChar, EscapeChar, NullValue,
TrimWhiteSpace); a quoted field may hold separators and newlines. A row longer than AWS's 16 MB is
refused without being held: the reader drops it to its end and goes on with the next one.

``RowMapper`` makes the records of one row (time in the model's unit, the mapped dimensions, the
measures as MultiMeasureMappings or MixedMeasureMappings say) or the reason it makes none.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

MAX_ROW_BYTES = 16 * 1024 * 1024  # AWS: a row in a CSV file cannot exceed 16 MB
TOO_LONG = f"The row is longer than {MAX_ROW_BYTES} bytes (16 MB), AWS's limit for a CSV row."
_BOM = "\ufeff"


@dataclass
class Row:
    line: int
    fields: list[str | None] | None
    error: str | None = None


class RowError(Exception):
    """A row that makes no record, with the reason (and how many lines it took, when it was read)."""

    def __init__(self, reason: str, used: int = 1) -> None:
        super().__init__(reason)
        self.used = used


def _lines(chunks: Iterable[bytes], limit: int) -> Iterator[tuple[str | None, int]]:
    """(line with its newline, bytes) of the text; (None, bytes) for a line longer than ``limit``,
    dropped as it streams past. Invalid UTF-8 is kept as U+FFFD (the row then fails on its values)."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pending: list[str] = []
    size = 0
    dropping = False
    for chunk in chunks:
        text = decoder.decode(chunk)
        start = 0
        while True:
            end = text.find("\n", start)
            piece = text[start:] if end < 0 else text[start : end + 1]
            size += len(piece.encode())
            if not dropping:
                pending.append(piece)
                if size > limit:
                    dropping, pending = True, []
            if end < 0:
                break
            yield (None if dropping else "".join(pending)), size
            pending, size, dropping = [], 0, False
            start = end + 1
    tail = decoder.decode(b"", final=True)
    if tail and not dropping:
        pending.append(tail)
        size += len(tail.encode())
    if (pending and "".join(pending)) or dropping:
        yield (None if dropping else "".join(pending)), size


class CsvFormat:
    """A CsvConfiguration (AWS's defaults: comma, double quote, no escape, empty NullValue)."""

    def __init__(self, config: dict[str, Any] | None) -> None:
        config = config or {}
        self.separator = config.get("ColumnSeparator", ",")
        self.quote = config.get("QuoteChar", '"')
        self.escape = config.get("EscapeChar")
        self.null = config.get("NullValue")
        self.trim = bool(config.get("TrimWhiteSpace", False))

    def _value(self, text: str, quoted: bool) -> str | None:
        if self.trim and not quoted:
            text = text.strip()
        if not quoted and (text == "" or (self.null is not None and text == self.null)):
            return None
        return text

    def split(self, lines: Iterator[tuple[str | None, int]], first: str) -> tuple[list[str | None], int]:
        """The fields of the row that starts with line ``first`` (reading more lines while a quoted
        field is open) and how many lines it took. RowError for a malformed or too long row."""
        if self.quote not in first and (self.escape is None or self.escape not in first):
            return [self._value(part, False) for part in first.rstrip("\r\n").split(self.separator)], 1
        state = _Split(lines, first, self.quote)
        while True:
            char = state.next_char()
            if char is None:
                break
            if self.escape is not None and char == self.escape and state.has_more():
                state.current.append(state.take())
            elif state.in_quotes:
                if char == self.quote and state.peek() == self.quote:
                    state.current.append(state.take())
                elif char == self.quote:
                    state.in_quotes = False
                else:
                    state.current.append(char)
            elif char == self.quote and not "".join(state.current).strip():
                state.in_quotes = state.quoted = True
                state.current = []
            elif char == self.separator:
                state.fields.append(self._value("".join(state.current), state.quoted))
                state.current, state.quoted = [], False
            elif char in "\r\n" and state.at_line_end():
                break  # the row's own line end
            else:
                state.current.append(char)
        state.fields.append(self._value("".join(state.current), state.quoted))
        return state.fields, state.used


class _Split:
    """Where CsvFormat.split is in a row that may span lines."""

    def __init__(self, lines: Iterator[tuple[str | None, int]], first: str, quote: str) -> None:
        self.lines = lines
        self.quote = quote
        self.text, self.position, self.used, self.size = first, 0, 1, len(first.encode())
        self.fields: list[str | None] = []
        self.current: list[str] = []
        self.quoted = self.in_quotes = False

    def next_char(self) -> str | None:
        """The next character, reading the next line while a quoted field is open; None at the end."""
        while self.position >= len(self.text):
            if not self.in_quotes:
                return None
            more, more_size = next(self.lines, (None, -1))
            if more_size < 0:
                raise RowError("A quoted field is not closed before the end of the file.", self.used)
            self.used += 1
            self.size += more_size
            if more is None or self.size > MAX_ROW_BYTES:
                self._skip_rest(more)
                raise RowError(TOO_LONG, self.used)
            self.text, self.position = more, 0
        return self.take()

    def _skip_rest(self, line: str | None) -> None:
        """Pass over the rest of a row too long to hold: lines up to the one that closes its quoted
        field (each quote character opens or closes one; a doubled one does both)."""
        open_quotes = True
        while True:
            if line is not None and line.count(self.quote) % 2:
                open_quotes = not open_quotes
            if not open_quotes:
                return
            line, size = next(self.lines, (None, -1))
            if size < 0:
                return
            self.used += 1

    def take(self) -> str:
        char = self.text[self.position]
        self.position += 1
        return char

    def has_more(self) -> bool:
        return self.position < len(self.text)

    def peek(self) -> str | None:
        return self.text[self.position] if self.position < len(self.text) else None

    def at_line_end(self) -> bool:
        return not self.text[self.position :].strip("\r\n")


def read_rows(chunks: Iterable[bytes], csv_format: CsvFormat) -> Iterator[Row]:
    """Every row of one file, the header first (line 1)."""
    lines = _lines(chunks, MAX_ROW_BYTES)
    line = 1
    for text, _size in lines:
        start = line
        if text is None:
            line += 1
            yield Row(
                start,
                None,
                f"The row is longer than {MAX_ROW_BYTES} bytes (16 MB), AWS's limit for a CSV row.",
            )
            continue
        if start == 1 and text.startswith(_BOM):
            yield Row(1, None, "The file starts with a byte order mark (BOM); save it as UTF-8 without one.")
            return
        if not text.strip("\r\n"):
            line += 1
            continue  # blank lines are not rows
        try:
            fields, used = csv_format.split(lines, text)
        except RowError as error:
            line = start + error.used
            yield Row(start, None, str(error))
            continue
        line = start + used
        yield Row(start, fields)


class RowMapper:
    """One file's rows -> records, by the parsed data model (domain/batch_config.py) and the header."""

    def __init__(self, model: dict[str, Any], header: list[str], version: int | None) -> None:
        self.model = model
        self.index = {name: position for position, name in enumerate(header)}
        self.version = version
        self.width = len(header)

    def records(self, fields: list[str | None]) -> list[dict[str, Any]]:
        if len(fields) != self.width:
            raise RowError(f"The row has {len(fields)} fields; the header has {self.width}.")
        model = self.model
        time = self._get(fields, model["time"])
        if time is None:
            raise RowError(f"The time column '{model['time']}' is empty.")
        if not time.lstrip("-").isdigit():
            raise RowError(
                f"The time column '{model['time']}' holds '{time[:64]}', not an integer of {model['unit']}."
            )
        dimensions = [
            {"Name": d["name"], "Value": value, "DimensionValueType": "VARCHAR"}
            for d in model["dimensions"]
            if (value := self._get(fields, d["source"])) is not None
        ]
        measure_name = None
        if model["name_column"] is not None:
            measure_name = self._get(fields, model["name_column"])
            if measure_name is None:
                raise RowError(f"The measure name column '{model['name_column']}' is empty.")
        common: dict[str, Any] = {"Dimensions": dimensions, "Time": time, "TimeUnit": model["unit"]}
        if self.version is not None:
            common["Version"] = self.version
        made = [{**common, **measure} for measure in self._measures(fields, measure_name)]
        if not made:
            raise RowError("The row has no measure value: every mapped measure column is empty.")
        return made

    def _get(self, fields: list[str | None], column: str) -> str | None:
        return fields[self.index[column]]

    def _attributes(self, fields: list[str | None], attributes: list[dict[str, str]]) -> list[dict[str, str]]:
        return [
            {"Name": a["name"], "Value": value, "Type": a["type"]}
            for a in attributes
            if (value := self._get(fields, a["source"])) is not None
        ]

    def _measures(self, fields: list[str | None], measure_name: str | None) -> list[dict[str, Any]]:
        multi = self.model.get("multi")
        if multi is not None:
            values = self._attributes(fields, multi["attributes"])
            name = measure_name if measure_name is not None else multi["name"]
            return (
                [{"MeasureName": name, "MeasureValueType": "MULTI", "MeasureValues": values}]
                if values
                else []
            )
        made = []
        for mapping in self.model["mixed"]:
            if measure_name is not None and mapping["match"] != measure_name:
                continue
            if mapping["type"] == "MULTI":
                values = self._attributes(fields, mapping["attributes"])
                if values:
                    made.append(
                        {"MeasureName": mapping["name"], "MeasureValueType": "MULTI", "MeasureValues": values}
                    )
            elif (value := self._get(fields, mapping["source"])) is not None:
                made.append(
                    {
                        "MeasureName": mapping["name"],
                        "MeasureValueType": mapping["type"],
                        "MeasureValue": value,
                    }
                )
        return made
