"""Routing: which handler answers each action (moto's urls.py for this server).

Both Timestream APIs are AWS JSON 1.0 over `POST /` with `X-Amz-Target: Timestream_20181101.<Action>`
(the Write and the Query API share the prefix; the SDKs tell them apart by endpoint, this server by
action name; the tag actions, which both APIs have, are one handler's). ``Router`` holds the table
of actions from each API's handler (api/) and refuses the
others with UnknownOperationException: those AWS has and this server does not yet name the issue
that brings them, so a client never mistakes a missing feature for success.

A new action: a method on its API's handler and a line in that handler's ``actions()`` (a new API:
a module in api/ and a line in ``for_store``); nothing here changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from timestream_local.api.batch_load import BatchLoadApi
from timestream_local.api.batch_runs import Loader
from timestream_local.api.endpoints import Endpoints
from timestream_local.api.params import Call
from timestream_local.api.query import QueryApi
from timestream_local.api.registry import DEFAULT_RESULTS_BYTES
from timestream_local.api.scheduled import ScheduledApi
from timestream_local.api.scheduled_runs import Runner, Scheduler
from timestream_local.api.tags import TagsApi
from timestream_local.api.write import WriteApi
from timestream_local.exceptions import UnknownOperationException

if TYPE_CHECKING:
    from timestream_local.query.prepared import PreparedStatements
    from timestream_local.store import Store

TARGET_PREFIX = "Timestream_20181101."
# Actions whose handler reads the body as received before anything parses it (WriteRecords' streaming
# path decodes it itself); every other action's body is parsed first, so a malformed one is refused
# with SerializationException whatever the action.
RAW_BODY_ACTIONS = frozenset({"WriteRecords"})

Handler = Callable[[Call], dict[str, Any]]

# Actions AWS has that this server does not answer yet, and the issue that brings each: refused
# with UnknownOperationException naming it, never answered with a success that did nothing.
NOT_YET: dict[str, str] = {}


def action_of(target: str) -> str:
    """The action an X-Amz-Target header names, for the request log ('-' when there is none)."""
    return target[len(TARGET_PREFIX) :] if target.startswith(TARGET_PREFIX) else (target or "-")


class Router:
    """Routes each call to the handler of the API that owns its action."""

    def __init__(
        self,
        endpoints: Endpoints,
        write: WriteApi,
        query: QueryApi,
        tags: TagsApi,
        scheduled: ScheduledApi | None = None,
        batch_load: BatchLoadApi | None = None,
    ) -> None:
        self._query = query
        self._scheduled = scheduled
        self._batch_load = batch_load
        self._routes: dict[str, Handler] = {}
        extra = [api for api in (scheduled, batch_load) if api is not None]
        for api in (endpoints, write, query, tags, *extra):
            for action, handler in api.actions().items():
                if action in self._routes:
                    raise ValueError(f"two handlers for the action {action}")
                self._routes[action] = handler

    @property
    def actions(self) -> list[str]:
        """Every action this server answers, sorted."""
        return sorted(self._routes)

    def dispatch(
        self, target: str, body: bytes, statements: Callable[[], Any] | None = None
    ) -> dict[str, Any]:
        """Answer one request by its X-Amz-Target header and body."""
        if not target.startswith(TARGET_PREFIX):
            raise UnknownOperationException(
                f"Missing or unknown X-Amz-Target header '{target}'; expected {TARGET_PREFIX}<Action>."
            )
        return self.call(target[len(TARGET_PREFIX) :], body, statements)

    def call(self, action: str, body: bytes, statements: Callable[[], Any] | None = None) -> dict[str, Any]:
        """Run one action on a raw request body. ``statements()`` gives the client connection's DuckDB
        cursor with the statements prepared on it (made on first use); only queries call it."""
        request = Call(body, statements)
        handler = self._routes.get(action)
        if action not in RAW_BODY_ACTIONS:
            request.params  # noqa: B018 - a malformed body is refused first, whatever the action
        if handler is None:
            later = NOT_YET.get(action)
            if later is not None:
                raise UnknownOperationException(
                    f"The action {action} is not supported by timestream_local yet: {later}. Nothing was done."
                )
            raise UnknownOperationException(f"The action {action} is not supported by timestream_local.")
        return handler(request)

    def close(self) -> None:
        """Stop what runs beside the requests (the scheduler, the batch loader); before the store closes."""
        if self._scheduled is not None:
            self._scheduled.close()
        if self._batch_load is not None:
            self._batch_load.close()

    def open_statements(self) -> PreparedStatements:
        """A client connection's cursor for queries, with the statements it will prepare."""
        return self._query.open_statements()


def for_store(
    store: Store,
    address: str,
    query_timeout: float = 60.0,
    results_bytes: int = DEFAULT_RESULTS_BYTES,
    run_schedules: bool = True,
) -> Router:
    """The router of a server at ``address`` (named by DescribeEndpoints) over ``store``; with
    ``run_schedules`` its scheduler thread starts now and runs each enabled schedule when it is due,
    and (with an S3 endpoint) the batch loader thread starts now and loads each task in turn."""
    query = QueryApi(
        store.reader, query_timeout=query_timeout, results_bytes=results_bytes, objects=store.objects
    )
    runner = Runner(store.scheduled, query, store.writer)
    scheduler = Scheduler(store.scheduled, runner) if run_schedules else None
    loader = None
    if run_schedules and store.objects is not None:
        loader = Loader(store.batch_loads, store.writer, store.objects)
    return Router(
        Endpoints(address),
        WriteApi(store.catalogue, store.writer),
        query,
        TagsApi(store.tags),
        ScheduledApi(store.scheduled, runner, scheduler),
        BatchLoadApi(store.batch_loads, store.catalogue, store.objects, loader),
    )
