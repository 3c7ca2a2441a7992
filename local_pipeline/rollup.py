"""Run the hourly rollup (a Timestream scheduled query) for the past hours of freshly loaded history.

`make demo` loads past readings straight into the store; the scheduled query would only roll up
the hours after it was created. ExecuteScheduledQuery with an InvocationTime in the past runs it as
it would have run then: the rollup's query reads the hour before ``@scheduled_runtime``, so one
call per past hour, each at minute 5 of the following hour (as the schedule does), fills the
derived table for the whole history.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

log = logging.getLogger("local_pipeline.rollup")

HOUR = timedelta(hours=1)
# The schedule's minute (cron(5 * * * ? *)): late readings of an hour get 5 minutes.
RUN_OFFSET = timedelta(minutes=5)


class RollupNotFound(Exception):
    """No scheduled query has the given name."""


def find_arn(client: Any, name: str) -> str:
    request: dict[str, Any] = {"MaxResults": 1000}
    while True:
        page = client.list_scheduled_queries(**request)
        for entry in page.get("ScheduledQueries", []):
            if entry.get("Name") == name:
                return entry["Arn"]
        if not page.get("NextToken"):
            raise RollupNotFound(f"no scheduled query is called {name!r}; run make demo to create it")
        request["NextToken"] = page["NextToken"]


def past_hours(since: timedelta, now: datetime) -> Iterator[datetime]:
    """The start of each whole hour from ``now - since`` (the hour it falls in) to the last complete hour."""
    first = (now - since).replace(minute=0, second=0, microsecond=0)
    current = now.replace(minute=0, second=0, microsecond=0)
    hour = first
    while hour < current:
        yield hour
        hour += HOUR


def catch_up(
    client: Any,
    name: str,
    since: timedelta,
    now: datetime | None = None,
    progress: Callable[[str], None] = log.info,
) -> int:
    """Run the scheduled query ``name`` once for every whole past hour within ``since``; return how many."""
    arn = find_arn(client, name)
    hours = list(past_hours(since, now or datetime.now(UTC)))
    for done, hour in enumerate(hours, start=1):
        client.execute_scheduled_query(ScheduledQueryArn=arn, InvocationTime=hour + HOUR + RUN_OFFSET)
        progress(f"rolled up {hour:%Y-%m-%d %H:00} UTC ({done}/{len(hours)})")
    return len(hours)
