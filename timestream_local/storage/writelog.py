"""The write log: acknowledged appends wait here until the flusher commits them to DuckDB.

A WriteRecords call whose accepted records are plain appends writes one entry and only then answers.
The flusher regularly takes everything pending, rotates to a new segment file once the current one
is big, inserts the rows into DuckDB in one transaction that also records the highest sequence number
applied, and deletes the closed segments. On start, entries with a higher sequence number than the
recorded one are parsed again and applied, so a kill -9 at any moment loses nothing that was
acknowledged and applies nothing twice.

Segment format (all integers little-endian). A segment starts with the 8 bytes ``TSLWAL2\\n``; each
entry then is

    header   seq (u64), table id (u64), indexes length (u32), body length (u32)     24 bytes
    u32      CRC-32 of the header
    indexes  the accepted record indexes as JSON (empty: all records)
    body     the request body exactly as received
    u32      CRC-32 of header + indexes + body

The header has its own checksum so that a damaged length is recognised as damage before it is used:
only an entry that runs past the end of the *last* segment (a write cut short: never acknowledged)
may be dropped at start. Any other mismatch stops the start with the file, the byte offset and what
to do, so nothing is ever dropped silently. CRC-32 (zlib, in the standard library, ~1 GB/s: about
10 us for a 100-record call) detects every burst error up to 32 bits and almost all others; the log
guards against torn writes and disk errors, not against someone forging entries.

A failed append (a full disk) cuts the segment back to its last whole entry before the call fails,
and no later entry is written until that cut succeeded, so a partial entry is never followed by an
acknowledged one; appends work again by themselves once the disk has room.

Entries reach the operating system before the reply (a killed process loses nothing); with
`sync=True` each entry is also fdatasynced, so an acknowledged write survives a power failure too.
Segments written by earlier versions (text headers, no checksums) are still read.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shlex
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)
SEGMENT_BYTES = 32 * 1024 * 1024
MAGIC = b"TSLWAL2\n"
_HEADER = struct.Struct("<QQII")  # seq, table id, indexes length, body length
_CRC = struct.Struct("<I")
_PREFIX = _HEADER.size + _CRC.size
# Where an entry's bytes are: (segment file, byte offset of the entry). Read back to set an entry aside.
Position = tuple[Path, int]


class WriteLogError(Exception):
    """An entry could not be appended; nothing of it stays in the log. The message names the cause."""


class WriteLogDamaged(Exception):
    """A segment holds damaged bytes before its end: the start stops, naming the file, offset and remedy."""


@dataclass(slots=True)
class LogEntry:
    seq: int
    table_id: int
    indexes: list[int] | None  # None: every record of the request was accepted
    body: bytes
    position: Position


def describe_os_error(error: OSError, what: str) -> str:
    """One phrase naming the cause, e.g. 'the disk holding the write log is full (ENOSPC: ...)'."""
    code = errno.errorcode.get(error.errno or 0, str(error.errno))
    detail = f"{code}: {error.strerror or error}"
    if error.errno == errno.ENOSPC:
        return f"the disk holding {what} is full ({detail})"
    if error.errno == errno.EDQUOT:
        return f"the disk quota for {what} is used up ({detail})"
    return f"{what} cannot be written ({detail})"


def _encode(seq: int, table_id: int, indexes: list[int] | None, body: bytes) -> bytes:
    index_bytes = b"" if indexes is None else json.dumps(indexes, separators=(",", ":")).encode()
    header = _HEADER.pack(seq, table_id, len(index_bytes), len(body))
    crc = zlib.crc32(header)
    entry_crc = zlib.crc32(body, zlib.crc32(index_bytes, crc))
    return b"".join((header, _CRC.pack(crc), index_bytes, body, _CRC.pack(entry_crc)))


class _Segment:
    """The entries of one segment file read whole: `entries`, and where a torn tail starts (if any)."""

    def __init__(self, path: Path, last: bool) -> None:
        self.path = path
        self.last = last
        self.data = path.read_bytes()
        self.entries: list[LogEntry] = []
        self.end = 0  # bytes of whole entries (and the magic)
        self.torn: str | None = None  # why the bytes after `end` are a write cut short
        if self.data.startswith(MAGIC):
            self._read_entries()
        elif MAGIC.startswith(self.data):  # empty, or a segment whose first bytes never made it
            self.torn = "a segment header cut short" if self.data else None
        else:
            self._read_old_entries()

    def _damaged(self, offset: int, problem: str) -> WriteLogDamaged:
        first = f", sequence numbers {self.entries[0].seq}-{self.entries[-1].seq}" if self.entries else ""
        return WriteLogDamaged(
            f"the write log file {self.path} is damaged at byte {offset}: {problem}. The start stops so "
            f"that nothing is dropped silently; {len(self.entries)} whole entries precede the damage{first}. "
            f"Copy the file somewhere safe, then either cut it to its whole entries with "
            f"`truncate -s {offset} {shlex.quote(str(self.path))}` (the entries from byte {offset} on are then not replayed) "
            f"or move it out of {self.path.parent} (none of its entries are replayed), and start again."
        )

    def _cut_short(self, offset: int, problem: str) -> None:
        """The bytes from `offset` on do not make a whole entry: a torn tail in the last segment only."""
        if not self.last:
            raise self._damaged(offset, f"{problem}, and later segments follow this one")
        self.torn = problem

    def _read_entries(self) -> None:
        data, size = self.data, len(self.data)
        view = memoryview(data)
        offset = len(MAGIC)
        while offset < size:
            self.end = offset
            if size - offset < _PREFIX:
                return self._cut_short(offset, "an entry header cut short")
            seq, table_id, index_length, body_length, crc = struct.unpack_from("<QQIII", data, offset)
            if zlib.crc32(view[offset : offset + _HEADER.size]) != crc:
                if self.last and data.count(0, offset) == size - offset:  # blocks never written
                    return self._cut_short(offset, f"{size - offset} zero bytes")
                raise self._damaged(offset, "the entry header's checksum does not match")
            body_start = offset + _PREFIX + index_length
            end = body_start + body_length + _CRC.size
            if end > size:
                return self._cut_short(offset, "an entry cut short")
            (entry_crc,) = _CRC.unpack_from(data, end - _CRC.size)
            if zlib.crc32(view[offset + _PREFIX : end - _CRC.size], crc) != entry_crc:
                raise self._damaged(offset, "the entry's checksum does not match its content")
            try:
                indexes = json.loads(data[offset + _PREFIX : body_start]) if index_length else None
            except ValueError as error:
                raise self._damaged(
                    offset, f"the entry's record indexes are not valid JSON ({error})"
                ) from None
            self.entries.append(
                LogEntry(seq, table_id, indexes, data[body_start : end - _CRC.size], (self.path, offset))
            )
            offset = end
        self.end = offset

    def _read_old_entries(self) -> None:
        """Segments of earlier versions: `<seq> <table id> <body length> <indexes JSON>\\n<body>\\n`,
        without checksums (a damaged length that runs past the end cannot be told from a torn tail)."""
        data, size = self.data, len(self.data)
        offset = 0
        while offset < size:
            self.end = offset
            newline = data.find(b"\n", offset)
            if newline < 0:
                return self._cut_short(offset, "an entry header cut short")
            try:
                seq_text, table_text, length_text, indexes_text = data[offset:newline].split(b" ", 3)
                seq, table_id, length = int(seq_text), int(table_text), int(length_text)
                indexes = json.loads(indexes_text)
            except ValueError:
                raise self._damaged(offset, "the entry header cannot be read") from None
            end = newline + 1 + length + 1
            if end > size:
                return self._cut_short(offset, "an entry cut short")
            if data[end - 1 : end] != b"\n":
                raise self._damaged(offset, "the entry's length does not match its content")
            self.entries.append(
                LogEntry(seq, table_id, indexes, data[newline + 1 : end - 1], (self.path, offset))
            )
            offset = end
        self.end = offset


class WriteLog:
    def __init__(self, folder: Path, sync: bool = False) -> None:
        self.folder = folder
        self.sync = sync
        self.last_seq = 0
        folder.mkdir(parents=True, exist_ok=True)
        self._fd: int | None = None
        self._path: Path | None = None
        self._end = 0  # bytes of whole entries in the current segment
        self._damage: str | None = None  # a failed append whose remains are not cut off yet

    def segments(self) -> list[Path]:
        return sorted(self.folder.glob("*.log"))

    # ------------------------------------------------------------------------------- reading (start)
    def read_after(self, applied_seq: int) -> list[LogEntry]:
        """The entries not yet applied, in log order.

        Every segment is checked before anything is returned: damage raises WriteLogDamaged and
        changes nothing; a torn tail of the last segment is logged and cut off, so that the entries
        appended from now on (to a new segment) never follow it.
        """
        self.last_seq = max(self.last_seq, applied_seq)
        paths = self.segments()
        segments = [_Segment(path, last=index == len(paths) - 1) for index, path in enumerate(paths)]
        entries = []
        for segment in segments:
            for entry in segment.entries:
                self.last_seq = max(self.last_seq, entry.seq)
                if entry.seq > applied_seq:
                    entries.append(entry)
        tail = segments[-1] if segments else None
        if tail is not None and tail.torn is not None:
            dropped = len(tail.data) - tail.end
            log.warning(
                "dropping %d bytes at the end of %s from byte %d (%s): a write cut short by a crash, never "
                "acknowledged",
                dropped,
                tail.path,
                tail.end,
                tail.torn,
            )
            if tail.entries:
                with tail.path.open("r+b") as file:
                    file.truncate(tail.end)
                    os.fsync(file.fileno())
            else:
                tail.path.unlink()
        for segment in segments[:-1]:
            if not segment.entries and MAGIC.startswith(segment.data):
                segment.path.unlink()  # a segment whose creation failed: it holds nothing
        return entries

    @staticmethod
    def read_entry(position: Position) -> LogEntry:
        """The entry at a position that append or read_after gave (its checksums checked again)."""
        path, offset = position
        with path.open("rb") as file:
            if file.read(len(MAGIC)) != MAGIC:  # a segment of an earlier version: read it whole
                for entry in _Segment(path, last=True).entries:
                    if entry.position[1] == offset:
                        return entry
                raise WriteLogDamaged(f"the write log file {path} holds no whole entry at byte {offset}")
            file.seek(offset)
            prefix = file.read(_PREFIX)
            if len(prefix) == _PREFIX:
                seq, table_id, index_length, body_length, crc = struct.unpack("<QQIII", prefix)
                payload = file.read(index_length + body_length + _CRC.size)
                if (
                    zlib.crc32(prefix[: _HEADER.size]) == crc
                    and len(payload) == index_length + body_length + _CRC.size
                    and zlib.crc32(payload[: -_CRC.size], crc) == _CRC.unpack(payload[-_CRC.size :])[0]
                ):
                    indexes = json.loads(payload[:index_length]) if index_length else None
                    return LogEntry(seq, table_id, indexes, payload[index_length : -_CRC.size], position)
        raise WriteLogDamaged(f"the write log file {path} holds no whole entry at byte {offset}")

    # ------------------------------------------------------------------------------- appending
    def append(self, table_id: int, indexes: list[int] | None, body: bytes) -> tuple[int, Position]:
        """Log one entry; returns its sequence number and position. Raises WriteLogError (with the
        cause) when it cannot, after cutting the segment back to its last whole entry."""
        if self._damage is not None:
            self._cut_back()
        fd = self._open_segment() if self._fd is None else self._fd
        seq = self.last_seq + 1
        data = _encode(seq, table_id, indexes, body)
        try:
            written = os.write(fd, data)
            if written != len(data):  # a short write: the disk filled up meanwhile; write() names why
                view = memoryview(data)
                while written < len(data):
                    written += os.write(fd, view[written:])
            if self.sync:
                os.fdatasync(fd)
        except OSError as error:
            self._damage = describe_os_error(error, "the write log")
            try:
                self._cut_back()
            except WriteLogError as cut_error:
                raise cut_error from error
            raise WriteLogError(
                f"{describe_os_error(error, 'the write log')} while writing {self._path}"
            ) from error
        position = (self._path, self._end)
        self._end += len(data)
        self.last_seq = seq
        return seq, position

    def _cut_back(self) -> None:
        """Cut the current segment back to its last whole entry (shrinking needs no free space)."""
        if self._fd is None:  # damage is only recorded on an open segment
            self._damage = None
            return
        try:
            os.ftruncate(self._fd, self._end)
            if self.sync:
                os.fsync(self._fd)
        except OSError as error:
            raise WriteLogError(
                f"the remains of a failed append ({self._damage}) could not be cut off the end of {self._path} "
                f"({describe_os_error(error, 'the write log')}); nothing more is logged until they are"
            ) from error
        self._damage = None

    def _open_segment(self) -> int:
        """A new segment named after its first sequence number. No existing file can hold entries
        with that number (read_after removed every segment holding no whole entry), so a leftover
        of a failed attempt is simply overwritten."""
        path = self.folder / f"{self.last_seq + 1:020d}.log"
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(path, flags, 0o666)
        except OSError as error:
            raise WriteLogError(
                f"{describe_os_error(error, 'the write log')} while creating {path}"
            ) from error
        try:
            if os.write(fd, MAGIC) != len(MAGIC):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            if self.sync:
                os.fsync(fd)
                directory = os.open(self.folder, os.O_RDONLY)
                try:
                    os.fsync(directory)
                finally:
                    os.close(directory)
        except OSError as error:
            os.close(fd)
            path.unlink(missing_ok=True)
            raise WriteLogError(
                f"{describe_os_error(error, 'the write log')} while creating {path}"
            ) from error
        self._fd, self._path, self._end = fd, path, len(MAGIC)
        return fd

    def rotate(self) -> list[Path]:
        """Called when everything logged so far is about to be committed: close the current segment once
        it is big (creating files is slow on some file systems, so small ones are kept) and return the
        closed segments, which the caller deletes after the commit."""
        if self._fd is not None and self._damage is None and self._end >= SEGMENT_BYTES:
            os.close(self._fd)
            self._fd = self._path = None
        if self._fd is None:
            return self.segments()
        return [segment for segment in self.segments() if segment != self._path]

    def close(self) -> None:
        if self._fd is not None:
            if self._damage is not None:
                try:
                    self._cut_back()
                except WriteLogError as error:
                    log.warning("%s", error)
            os.close(self._fd)
            self._fd = self._path = None
