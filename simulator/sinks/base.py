"""What every sink shares: the interface, delivery counters and the retry/backoff policy."""

from __future__ import annotations

import logging
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
)

from simulator.errors import ConfigError, DeliveryError
from simulator.records import Reading

log = logging.getLogger("simulator")


@dataclass
class SinkStats:
    """Delivery counters; ``sent`` counts records the destination accepted."""

    sent: int = 0
    retried: int = 0
    throttled: int = 0
    rejected: int = 0
    rejected_reasons: Counter[str] = field(default_factory=Counter)  # by kind (numbers masked)
    rejected_examples: dict[str, str] = field(default_factory=dict)  # kind -> first full reason

    def add_rejected(self, reason: str) -> None:
        kind = reason_kind(reason)
        self.rejected += 1
        self.rejected_reasons[kind] += 1
        self.rejected_examples.setdefault(kind, reason)

    def describe(self) -> str:
        parts = [f"{self.sent:,} sent"]
        if self.retried:
            parts.append(f"{self.retried:,} resent after partial failures")
        if self.throttled:
            parts.append(f"{self.throttled:,} throttled calls")
        if self.rejected:
            parts.append(f"{self.rejected:,} rejected")
        return ", ".join(parts)


_NUMBERS = re.compile(r"\d+(?:[-:. T]\d+)*")


def reason_kind(reason: str) -> str:
    """A rejection reason with its times and numbers masked, so reasons can be counted by kind."""
    return _NUMBERS.sub("#", reason)


class Sink(Protocol):
    """A destination for readings. ``send`` may buffer; ``flush`` delivers everything buffered."""

    name: str
    stats: SinkStats

    def check(self) -> None:
        """Verify the destination exists and is reachable; raise ConfigError with one clear sentence."""

    def send(self, readings: Sequence[Reading]) -> None: ...

    def flush(self) -> None: ...

    @property
    def pending(self) -> int:
        """Records buffered but not yet accepted."""
        ...

    def close(self) -> None: ...


@dataclass
class RetryPolicy:
    """Exponential backoff with jitter, bounded by a total time per batch (never an endless loop)."""

    base_delay: float = 0.05
    max_delay: float = 5.0
    give_up_after: float = 600.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int) -> float:
        """Delay before retry number ``attempt`` (0-based): half fixed, half random, doubling to the cap."""
        ceiling = min(self.max_delay, self.base_delay * (2**attempt))
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)

    def wait(self, attempt: int, started: float, what: str) -> None:
        """Sleep before the next attempt, or raise DeliveryError when the time budget is spent."""
        if self.clock() - started >= self.give_up_after:
            raise DeliveryError(f"gave up after {self.give_up_after:.0f} s of retries: {what}")
        self.sleep(self.delay(attempt))


def describe_endpoint(client) -> str:
    return client.meta.endpoint_url


def config_error_from(exc: Exception, service: str, client, missing: str) -> ConfigError:
    """Turn a failed startup check into one sentence that says what to fix (``missing``: resource not found)."""
    where = describe_endpoint(client)
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError):
        return ConfigError(
            f"cannot reach {service} at {where}; check --endpoint-url and that the service is running"
        )
    if isinstance(exc, NoCredentialsError):
        return ConfigError(
            "no AWS credentials found; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or AWS_PROFILE "
            "(any values work for local services)"
        )
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        message = exc.response.get("Error", {}).get("Message", "") or str(exc)
        if code in ("ResourceNotFoundException", "ResourceNotFound"):
            return ConfigError(missing)
        return ConfigError(f"{service} at {where} refused the startup check: {code}: {message}")
    if isinstance(exc, BotoCoreError):
        return ConfigError(f"cannot talk to {service} at {where}: {exc}")
    return ConfigError(f"cannot talk to {service} at {where}: {exc}")
