"""The store's DuckDB instance, opened locked down: what any statement on it can reach, and how much
memory it may use.

Every client query runs on a cursor of this instance, so these settings hold for client queries
even if the translator let something through that it should not have (query/guard.py is the
other fence):

* no file access outside the magnetic tier's folder (``enable_external_access = false`` with
  ``allowed_directories``): no ``read_text('/proc/self/environ')``, ``COPY ... TO``, ``ATTACH`` or
  ``EXPORT DATABASE``. DuckDB still reads and writes its own database file and spills to its own
  temporary folder under the data directory;
* no extensions installed or loaded (those compiled into the wheel, such as parquet and json, are
  already there and cannot be unloaded);
* a memory limit for DuckDB's buffer manager, and a cap on spilled temporary data;
* the configuration locked once set: no ``SET``, ``RESET`` or ``PRAGMA`` can change any of this.

DuckDB's limit covers what its buffer manager holds (tables, hash tables, sorts, materialised
results), not the vectors an expression builds on the way (``lpad('', 100000000, 'x')``, a list of
long strings): ``limit_process_memory`` caps the whole process's data (RLIMIT_DATA) as a backstop,
and DuckDB turns an allocation the cap refuses into an out-of-memory error of that query alone.
"""

from __future__ import annotations

import logging
import re
import resource
import sys
from pathlib import Path

import duckdb

log = logging.getLogger(__name__)

DEFAULT_MEMORY_LIMIT = "1GB"  # a 2-core / 4 GB bastion also runs Grafana and the pipeline
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)?\s*", re.IGNORECASE)
_UNITS = {"B": 1, "KB": 1000, "MB": 1000**2, "GB": 1000**3, "TB": 1000**4,
          "KIB": 1024, "MIB": 1024**2, "GIB": 1024**3, "TIB": 1024**4}  # fmt: skip
MIN_MEMORY_BYTES = 64 * 1000**2


def parse_size(text: str) -> int:
    """Bytes of a size such as ``1GB``, ``512MiB`` or ``1073741824``; ValueError otherwise."""
    match = _SIZE.fullmatch(text or "")
    if match is None:
        raise ValueError(f"{text!r} is not a size; write it as 512MB, 1GB or 2GiB")
    number, unit = match.groups()
    return int(float(number) * _UNITS[(unit or "B").upper()])


THREAD_STACK_BYTES = 2 * 2**20  # each connection's thread: ample for the parser's deepest nesting
HEADROOM_BYTES = 512 * 2**20  # threads, Python objects, caches: what the server itself uses


def _data_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmData:"):
                return int(line.split()[1]) * 1024
    return 0


def limit_process_memory(memory_limit: int) -> int | None:
    """Cap the process's private data (heap, anonymous mappings, thread stacks) at what it uses now
    plus ``memory_limit`` plus HEADROOM_BYTES; returns the cap, or None where the platform has no
    such limit (only Linux counts mappings in RLIMIT_DATA). Call once, after the store is open."""
    if not sys.platform.startswith("linux"):
        log.warning("the process memory cap is Linux-only; --memory-limit bounds DuckDB and results here")
        return None
    ceiling = _data_bytes() + memory_limit + HEADROOM_BYTES
    _soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if hard != resource.RLIM_INFINITY:
        ceiling = min(ceiling, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (ceiling, hard))
    return ceiling


def split_memory(total: int) -> tuple[int, int]:
    """The server's memory limit shared out: (DuckDB's limit, query results kept for paging). DuckDB
    gets half; results a quarter (one result may use all of that); the rest is the server's own."""
    return total // 2, total // 4


def open_database(data_dir: Path, memory_limit_bytes: int) -> duckdb.DuckDBPyConnection:
    """The store's database ``<data_dir>/store.duckdb``, with the settings above applied and locked."""
    magnetic = data_dir / "magnetic"
    magnetic.mkdir(parents=True, exist_ok=True)
    spill = data_dir / "spill"
    connection = duckdb.connect(
        str(data_dir / "store.duckdb"),
        config={
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "allow_community_extensions": False,
            "allow_unsigned_extensions": False,
        },
    )
    try:
        for setting, value in (
            ("memory_limit", f"{memory_limit_bytes}B"),
            ("temp_directory", str(spill)),
            ("max_temp_directory_size", f"{4 * memory_limit_bytes}B"),
            # Magnetic-tier Parquet files never change once written: keep their footers.
            ("parquet_metadata_cache", True),
            ("enable_progress_bar", False),  # a long flush or tier move would print a bar to the log
            ("allowed_directories", [f"{magnetic}/"]),
        ):
            connection.execute(f"SET {setting} = ?", [value])
        connection.execute("SET enable_external_access = false")
        connection.execute("SET lock_configuration = true")
    except Exception:
        connection.close()
        raise
    return connection
