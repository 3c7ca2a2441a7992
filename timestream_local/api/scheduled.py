"""Scheduled queries on the timestream-query endpoint: CreateScheduledQuery, DescribeScheduledQuery,
ListScheduledQueries, UpdateScheduledQuery, DeleteScheduledQuery and ExecuteScheduledQuery.

Thin handlers: the parameters are checked here and in domain/scheduled_config.py, the rules and the
kept state are domain/scheduled.py's, runs are api/scheduled_runs.py's. ExecuteScheduledQuery runs
the query before it answers (AWS answers at once and runs it in the background), so a client reads
the run's LastRunSummary and the derived rows as soon as the call returns.
"""

from __future__ import annotations

import time
from typing import Any

from timestream_local.api.params import Call, page, page_args, string
from timestream_local.api.scheduled_runs import Runner, Scheduler
from timestream_local.domain.parameters import bind
from timestream_local.domain.scheduled import ScheduledQueries
from timestream_local.domain.scheduled_config import parse_definition
from timestream_local.domain.tags import parse_tags
from timestream_local.exceptions import ValidationException


def _state(params: dict[str, Any]) -> str:
    state = string(params, "State")
    if state not in ("ENABLED", "DISABLED"):
        raise ValidationException(
            f"1 validation error detected: Value '{state}' at 'state' failed to satisfy constraint: "
            "Member must satisfy enum value set: [ENABLED, DISABLED]"
        )
    return state


def _invocation_time(params: dict[str, Any]) -> float:
    value = params.get("InvocationTime")
    if value is None:
        raise ValidationException(
            "1 validation error detected: Value null at 'invocationTime' failed to satisfy constraint: "
            "Member must not be null"
        )
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 7_258_118_400:
        raise ValidationException(
            "InvocationTime must be a time in seconds since 1970-01-01 UTC, before the year 2200."
        )
    return float(value)


class ScheduledApi:
    """The scheduled-query actions, and the scheduler thread (started with the server)."""

    def __init__(self, queries: ScheduledQueries, runner: Runner, scheduler: Scheduler | None) -> None:
        self.queries = queries
        self.runner = runner
        self.scheduler = scheduler
        if scheduler is not None:
            scheduler.start()  # now, as every thread of the server (server.py says why)

    def actions(self) -> dict[str, Any]:
        return {
            "CreateScheduledQuery": self.create,
            "DescribeScheduledQuery": self.describe,
            "ListScheduledQueries": self.list,
            "UpdateScheduledQuery": self.update,
            "DeleteScheduledQuery": self.delete,
            "ExecuteScheduledQuery": self.execute,
        }

    def close(self) -> None:
        """Stop the scheduler (a run under way finishes first)."""
        if self.scheduler is not None:
            self.scheduler.stop()

    def create(self, call: Call) -> dict[str, Any]:
        params = call.params
        definition = parse_definition(params)
        token = string(params, "ClientToken", required=False)
        tags = None if params.get("Tags") is None else parse_tags(params["Tags"])
        # the text is checked now, as AWS does (it also checks the tables and columns it reads,
        # which here is left to the first run: a table may be created or written later)
        self.runner.query_api.check(bind(definition["QueryString"], time.time_ns()))
        return {"Arn": self.queries.create(definition, token, tags)}

    def describe(self, call: Call) -> dict[str, Any]:
        return {"ScheduledQuery": self.queries.describe(string(call.params, "ScheduledQueryArn"))}

    def list(self, call: Call) -> dict[str, Any]:
        start, size = page_args(call.params, 1000)
        items, token = page(self.queries.list(), start, size)
        body: dict[str, Any] = {"ScheduledQueries": items}
        if token:
            body["NextToken"] = token
        return body

    def update(self, call: Call) -> dict[str, Any]:
        params = call.params
        arn = string(params, "ScheduledQueryArn")
        self.queries.set_state(arn, _state(params))
        return {}

    def delete(self, call: Call) -> dict[str, Any]:
        self.queries.delete(string(call.params, "ScheduledQueryArn"))
        return {}

    def execute(self, call: Call) -> dict[str, Any]:
        params = call.params
        arn = string(params, "ScheduledQueryArn")
        invocation = _invocation_time(params)
        string(params, "ClientToken", required=False)  # "Not used", as AWS says; its length is still checked
        insights = params.get("QueryInsights")
        if insights is not None and (
            not isinstance(insights, dict)
            or insights.get("Mode") not in ("ENABLED_WITH_RATE_CONTROL", "DISABLED")
        ):
            raise ValidationException("QueryInsights.Mode must be ENABLED_WITH_RATE_CONTROL or DISABLED.")
        self.runner.run(arn, invocation, automatic=False)
        return {}
