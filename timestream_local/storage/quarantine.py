"""Write-log entries that cannot be applied, set aside in `<data-dir>/quarantine/<seq>.json`.

An acknowledged entry whose rows DuckDB refuses, or that cannot be parsed again at a restart (rules
may have become stricter), must stop neither the flusher nor the next start, and must not be lost:
it is written here with the reason and the request as received, durably, before the store's
applied sequence number passes it. A person can fix the cause and write the records again.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from timestream_local.catalog import TableInfo
from timestream_local.storage.writelog import LogEntry

log = logging.getLogger(__name__)


def set_aside(data_dir: Path, table: TableInfo | None, entry: LogEntry, reason: str) -> Path:
    """Write an entry that cannot be applied to <data dir>/quarantine/<seq>.json (with the reason and
    the request as received), durably. Raises OSError when that file cannot be written (then the
    entry stays in the log)."""
    folder = data_dir / "quarantine"
    folder.mkdir(exist_ok=True)
    try:
        request: Any = json.loads(entry.body)
        key = "request"
    except ValueError:
        request, key = base64.b64encode(entry.body).decode(), "request_base64"
    document = {
        "seq": entry.seq,
        "database": None if table is None else table.database,
        "table": None if table is None else table.name,
        "reason": reason,
        "set_aside_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "accepted_record_indexes": entry.indexes,
        key: request,
    }
    target = folder / f"{entry.seq:020d}.json"
    partial = target.with_suffix(".json.partial")
    with partial.open("w", encoding="utf-8") as file:
        json.dump(document, file, indent=1)
        file.write("\n")
        file.flush()
        os.fsync(file.fileno())
    partial.replace(target)
    directory = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    name = "an unknown table" if table is None else f"{table.database}.{table.name}"
    log.error(
        "acknowledged write-log entry %d for %s cannot be applied (%s); it was set aside in %s. Its records "
        "are not in the table: fix the cause and write them again from that file.",
        entry.seq,
        name,
        reason,
        target,
    )
    return target
