"""stdout sink: one JSON record per line (for pipes, files and eyeballing)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import BinaryIO

from simulator.errors import DeliveryError
from simulator.records import Reading, RecordEncoder
from simulator.sinks.base import SinkStats


class OutputClosed(DeliveryError):
    """The reader went away (e.g. ``| head``); not an error worth a message."""


class StdoutSink:
    name = "stdout"

    def __init__(self, stream: BinaryIO, buffer_lines: int = 2000) -> None:
        self._stream = stream
        self._buffer: list[str] = []
        self._buffer_lines = buffer_lines
        self._encoder = RecordEncoder()
        self.stats = SinkStats()

    def check(self) -> None:
        return None

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def send(self, readings: Sequence[Reading]) -> None:
        encode = self._encoder.encode
        self._buffer.extend(encode(reading) for reading in readings)
        if len(self._buffer) >= self._buffer_lines:
            self.flush()

    def flush(self) -> None:
        if not self._buffer:
            return
        data = ("\n".join(self._buffer) + "\n").encode("utf-8")
        try:
            self._stream.write(data)
            self._stream.flush()
        except BrokenPipeError:
            raise OutputClosed("the output was closed by its reader") from None
        self.stats.sent += len(self._buffer)
        self._buffer.clear()

    def close(self) -> None:
        self.flush()
