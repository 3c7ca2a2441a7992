"""The store: one timestream_local instance's state, put together from its parts (see README.md).

``Store(data_dir)`` opens the storage parts on the data directory (storage/), builds the domain's
services on them (domain/), replays the write log and starts the flusher; ``close()`` commits what
is pending and closes them in order. It holds no rules and no state of its own: the API handlers
use ``catalogue``, ``writer`` and ``tags``, queries read through ``reader``, the tier mover runs
``mover``, scheduled queries (and their failed runs' error reports) are kept by ``scheduled``,
batch load tasks by ``batch_loads``;
``objects`` is S3 (``--s3-endpoint-url``), or None when the server has none.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from timestream_local.domain.batch_loads import BatchLoadTasks
from timestream_local.domain.catalogue import Catalogue
from timestream_local.domain.scheduled import ScheduledQueries
from timestream_local.domain.tags import TagStore
from timestream_local.domain.versions import Versions
from timestream_local.domain.writes import Writer
from timestream_local.storage import lockdown, upgrade
from timestream_local.storage.batch_loads import BatchLoadDocuments
from timestream_local.storage.database import Database
from timestream_local.storage.descriptions import Descriptions
from timestream_local.storage.error_reports import ErrorReports
from timestream_local.storage.flusher import Flusher
from timestream_local.storage.hints import SeriesHints
from timestream_local.storage.magnetic import MagneticTier
from timestream_local.storage.memory import MemoryTier
from timestream_local.storage.mover import Mover
from timestream_local.storage.objects import ObjectStore
from timestream_local.storage.reader import Reader
from timestream_local.storage.scheduled import ScheduledDocuments
from timestream_local.storage.tags import TagTable
from timestream_local.storage.views import Views
from timestream_local.storage.writelog import WriteLog

DEFAULT_ENGINE_MEMORY = lockdown.split_memory(lockdown.parse_size(lockdown.DEFAULT_MEMORY_LIMIT))[0]


class Store:
    """The parts of one timestream_local instance, opened on its data directory."""

    def __init__(
        self,
        data_dir: Path,
        region: str = "us-east-1",
        clock_ns: Callable[[], int] = time.time_ns,
        flush_interval: float = 0.25,
        sync_writes: bool = False,
        streaming_writes: bool = True,
        engine_memory: int = DEFAULT_ENGINE_MEMORY,
        scheduled_clock: Callable[[], float] = time.time,  # scheduled queries and batch load tasks
        s3_endpoint_url: str | None = None,
    ) -> None:
        # S3 (UNLOAD, batch load, error reports) when the server is given an endpoint, else None
        self.objects = None if s3_endpoint_url is None else ObjectStore(s3_endpoint_url, region)
        self.database = Database(data_dir, engine_memory)
        self.data_dir = self.database.data_dir
        flusher = None
        try:
            self.magnetic = MagneticTier(self.database)
            self.memory = MemoryTier(self.database)
            self.views = Views(self.database, self.memory, self.magnetic)
            self.descriptions = Descriptions(self.database)
            with self.database.exclusive():
                self.magnetic.cleanup()
                if upgrade.needed(self.descriptions):
                    upgrade.to_current_layout(self.database, self.descriptions, self.magnetic)
                for table in self.descriptions.tables.values():
                    self.views.ensure(table)
            write_log = WriteLog(self.data_dir / "wal", sync=sync_writes)
            self.flusher = flusher = Flusher(
                self.database, self.descriptions, self.memory, write_log, flush_interval
            )
            self.versions = Versions(self.database, self.views, self.magnetic, self.flusher)
            self.tags = TagStore(self.database, TagTable(self.database))
            self.catalogue = Catalogue(
                self.database,
                self.descriptions,
                self.views,
                self.magnetic,
                self.flusher,
                self.versions,
                self.tags,
                region,
            )
            self.tags.register(self.catalogue.names_resource)  # databases and tables can be tagged
            self.writer = Writer(
                self.database,
                self.catalogue,
                self.versions,
                self.flusher,
                self.memory,
                self.magnetic,
                self.views,
                clock_ns,
                streaming_writes,
            )
            self.flusher.replay(self.writer.parse_entry)
            self.scheduled = ScheduledQueries(
                ScheduledDocuments(self.database),
                ErrorReports(self.data_dir, self.objects),
                region,
                scheduled_clock,
                self.tags,  # scheduled queries can be tagged too
            )
            self.batch_loads = BatchLoadTasks(BatchLoadDocuments(self.database), scheduled_clock)
        except BaseException:
            if flusher is not None:
                flusher.close(flush=False)
            self.database.close(checkpoint=False)
            raise
        self.flusher.start()
        self.reader = Reader(
            self.database, self.descriptions, self.views, self.flusher, SeriesHints(self.versions.series)
        )
        self.mover = Mover(
            self.database, self.descriptions, self.magnetic, self.views, self.flusher.sync, clock_ns
        )
        self._closed = False

    def close(self) -> None:
        """Commit what is pending (what cannot be is replayed at the next start) and close the files."""
        if self._closed:
            return
        self._closed = True
        try:
            self.flusher.close()
        finally:
            self.database.close()
