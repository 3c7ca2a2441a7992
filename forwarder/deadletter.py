"""The dead-letter file: one JSON line per record that could not be stored, with the reason.

Each line holds the original record text (``record``; non-UTF-8 data also as ``record_base64``),
``reason``, ``stream``, ``shard_id``, ``sequence_number`` and ``dead_lettered_at`` (UTC). The file
is only appended to; ``sync()`` makes the lines durable and is called before a checkpoint moves past
them. Because records after the last checkpoint are read again after a crash, a record already in
the file (same shard and sequence number) is not written a second time.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import os
import threading
from pathlib import Path

log = logging.getLogger(__name__)


class DeadLetterError(Exception):
    """The dead-letter file cannot be used; the message says why."""


class DeadLetterFile:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._seen: set[tuple[str, str]] = set()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.path.exists():
                self._recover()
            self._file = self.path.open("ab")
        except OSError as error:
            raise DeadLetterError(
                f"cannot write the dead-letter file {self.path}: {error.strerror or error}"
            ) from None
        self._dirty = False

    def _recover(self) -> None:
        """Learn which records are in the file; cut off a line torn by a crash in mid-write."""
        data = self.path.read_bytes()
        lines = data.split(b"\n")
        tail = lines.pop()  # b"" when the file ends with a newline
        if tail:
            try:
                json.loads(tail)
            except ValueError:
                log.warning(
                    "dead-letter file %s ended with an incomplete line (a crash mid-write); removed it",
                    self.path,
                )
                with self.path.open("r+b") as file:
                    file.truncate(len(data) - len(tail))
            else:
                lines.append(tail)
                with self.path.open("ab") as file:
                    file.write(b"\n")
        for line in lines:
            try:
                entry = json.loads(line)
                self._seen.add((str(entry["shard_id"]), str(entry["sequence_number"])))
            except (ValueError, KeyError, TypeError):
                continue  # not one of ours; left as it is

    def __contains__(self, key: tuple[str, str]) -> bool:
        with self._lock:
            return key in self._seen

    def write(self, *, data: bytes, reason: str, stream: str, shard_id: str, sequence_number: str) -> bool:
        """Append one record (flushed to the OS, not yet synced). False if it was already in the file."""
        entry: dict[str, str] = {}
        try:
            entry["record"] = data.decode("utf-8")
        except UnicodeDecodeError:
            entry["record"] = data.decode("utf-8", "replace")
            entry["record_base64"] = base64.b64encode(data).decode()
        entry.update(
            reason=reason,
            stream=stream,
            shard_id=shard_id,
            sequence_number=sequence_number,
            dead_lettered_at=dt.datetime.now(dt.UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
        )
        line = json.dumps(entry, ensure_ascii=False).encode() + b"\n"
        with self._lock:
            key = (shard_id, sequence_number)
            if key in self._seen:
                return False
            self._file.write(line)
            self._file.flush()
            self._seen.add(key)
            self._dirty = True
        return True

    def sync(self) -> None:
        with self._lock:
            if self._dirty:
                self._file.flush()
                os.fsync(self._file.fileno())
                self._dirty = False

    def close(self) -> None:
        with self._lock:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
