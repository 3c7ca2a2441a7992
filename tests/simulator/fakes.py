"""Small stand-ins for unit tests of pure logic (never used in integration tests)."""

from __future__ import annotations

from botocore.exceptions import ClientError

from simulator.sinks.base import SinkStats


class FakeClock:
    """Wall clock and monotonic clock in one; time moves only when someone waits."""

    def __init__(self, start: float) -> None:
        self.now = start
        self.waits: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += max(seconds, 0.0)


class FakeStop:
    """StopSignal stand-in: waiting advances the fake clock; can ask to stop after N waits."""

    def __init__(self, clock: FakeClock, stop_after_waits: int | None = None) -> None:
        self.clock = clock
        self.requested = False
        self.stop_after_waits = stop_after_waits

    def wait(self, seconds: float) -> bool:
        self.clock.sleep(seconds)
        if self.stop_after_waits is not None and len(self.clock.waits) >= self.stop_after_waits:
            self.requested = True
        return self.requested


class ListSink:
    """Collects readings; records the calls the runner makes."""

    name = "list"

    def __init__(self) -> None:
        self.readings = []
        self.buffer = []
        self.calls: list[str] = []
        self.stats = SinkStats()

    def check(self) -> None:
        return None

    @property
    def pending(self) -> int:
        return len(self.buffer)

    def send(self, readings) -> None:
        self.calls.append("send")
        self.buffer.extend(readings)

    def flush(self) -> None:
        self.calls.append("flush")
        self.readings.extend(self.buffer)
        self.stats.sent += len(self.buffer)
        self.buffer.clear()

    def close(self) -> None:
        self.flush()
        self.calls.append("close")


def client_error(code: str, message: str = "", operation: str = "PutRecords", **extra) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}, **extra}, operation)
