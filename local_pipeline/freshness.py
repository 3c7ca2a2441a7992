"""How old is the newest reading in the store, and what to say when it is too old.

`make status`, `make panels` and the report `make demo` prints all use this: a pipeline whose newest
reading is older than the threshold has stalled, whatever the panels show, and they say so.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from local_pipeline.services import ServiceStatus

# Looked at first; only a table with nothing this recent is asked for its newest reading of all time.
RECENT = "1d"


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def parse_timestamp(text: str) -> float:
    """A Timestream TIMESTAMP ('2026-12-04 10:53:55.000000000', UTC) as epoch seconds."""
    day_time, _, fraction = text.strip().partition(".")
    moment = datetime.strptime(day_time, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    return moment.timestamp() + (float(f"0.{fraction}") if fraction else 0.0)


def newest_reading(client: Any, database: str, table: str) -> float | None:
    """Epoch seconds of the newest reading in the table, or None when it holds none."""
    source = f"{_quote(database)}.{_quote(table)}"
    for where in (f" WHERE time > ago({RECENT})", ""):
        answer = client.query(QueryString=f"SELECT max(time) AS newest FROM {source}{where}")
        rows = answer.get("Rows") or []
        datum = rows[0]["Data"][0] if rows else {}
        if datum.get("ScalarValue"):
            return parse_timestamp(datum["ScalarValue"])
    return None


def human(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        minutes, rest = divmod(int(seconds), 60)
        return f"{minutes} min" if rest == 0 or minutes >= 10 else f"{minutes} min {rest} s"
    if seconds < 172_800:
        hours, rest = divmod(int(seconds), 3600)
        return f"{hours} h {rest // 60} min"
    return f"{seconds / 86_400:.1f} days"


def _names(items: Sequence[str]) -> str:
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]


def stale_message(
    age: float | None, threshold: float, statuses: Sequence[ServiceStatus] | None = None
) -> str | None:
    """None when the newest reading is at most ``threshold`` seconds old; else one sentence saying
    how long nothing arrived and, where the services are known, which of them is down."""
    if age is not None and age <= threshold:
        return None
    what = f"no readings for {human(age)}" if age is not None else "no readings in the store at all"
    if statuses is None:
        return f"{what} (more than {human(threshold)}): the pipeline has stalled; check the simulator and the forwarder"
    down = [status for status in statuses if not status.ok and not status.one_shot]
    if not down:
        return (
            f"{what} (more than {human(threshold)}) although every service runs: the forwarder or the "
            "simulator may be stuck; see make status and the logs"
        )
    parts = [f"the {status.name} is down ({status.summary})" for status in down]
    return f"{what}: {_names(parts)}, see make status"
