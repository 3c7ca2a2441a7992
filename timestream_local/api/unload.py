"""UNLOAD on the Query API: the SELECT runs as any Query (same engine, guard, limits, timeout); its
result is written to S3 through storage/objects.py as Timestream lays it out: the files under
``<prefix>results/`` (``col=value/`` folders for partitioned_by, a new file once one reaches
max_file_size), then ``<prefix><query id>_manifest.json`` and ``<prefix><query id>_metadata.json``.
Nothing here is SQL: the files are written by Python from the result's values.
"""

from __future__ import annotations

import csv
import io
import json
import zlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import msgspec

from timestream_local.exceptions import ValidationException
from timestream_local.storage.objects import ObjectStoreError, encryption_args

if TYPE_CHECKING:
    from timestream_local.api.registry import StoredResult
    from timestream_local.query.unload import Unload
    from timestream_local.storage.objects import ObjectStore

AUTHOR = "Amazon Timestream"
RESULT_VERSION = "Amazon Timestream version 1.0.0"
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
ROWS_PER_CHUNK = 512
RESPONSE_COLUMNS = [
    {"Name": "rows", "Type": {"ScalarType": "BIGINT"}},
    {"Name": "metadataFile", "Type": {"ScalarType": "VARCHAR"}},
    {"Name": "manifestFile", "Type": {"ScalarType": "VARCHAR"}},
]
_decode = msgspec.json.Decoder()


def check_target(objects: ObjectStore | None, unload: Unload) -> ObjectStore:
    """The S3 to write to, refusing at once when there is none or the bucket cannot be reached."""
    if objects is None:
        raise ValidationException(
            "UNLOAD writes to S3 and this server has none: start timestream_local with "
            "--s3-endpoint-url URL (an S3-compatible service, or S3)"
        )
    try:
        objects.check_bucket(unload.bucket)
    except ObjectStoreError as error:
        raise ValidationException(
            f"UNLOAD's S3 bucket {unload.bucket!r} cannot be written: {error}"
        ) from None
    return objects


def file_columns(unload: Unload, column_info: list[dict[str, Any]]) -> list[int]:
    """The result's columns that go into the files (partition columns become folders): the
    partition columns must be in the select list and be its last columns, in their order."""
    from timestream_local.query.unload import check_partition_columns  # noqa: PLC0415 - the engine, lazily

    names = [str(column.get("Name")) for column in column_info]
    check_partition_columns(names, unload.partitioned_by)
    return list(range(len(names) - len(unload.partitioned_by)))


def write(objects: ObjectStore, unload: Unload, query_id: str, result: StoredResult) -> dict[str, Any]:
    """Write the result's files, manifest and metadata; the one-row answer's values."""
    keep = file_columns(unload, result.column_info)
    groups: dict[tuple[str, ...], list[list[Any]]] = {}
    for raw in result.rows:
        data = _decode.decode(raw)["Data"]
        values = [_text(datum) for datum in data]
        groups.setdefault(tuple(values[len(keep) :]), []).append([values[i] for i in keep])
    files: list[dict[str, Any]] = []
    columns = [result.column_info[i] for i in keep]
    for partition, rows in groups.items():
        folder = "".join(
            f"{quote(name, safe='')}={quote(NULL_PARTITION if value is None else value, safe='')}/"
            for name, value in zip(unload.partitioned_by, partition, strict=True)
        )
        files.extend(
            _write_files(objects, unload, f"{unload.prefix}results/{folder}{query_id}", columns, rows)
        )
    base = f"s3://{unload.bucket}/{unload.prefix}{query_id}"
    manifest = {
        "result_files": files,
        "query_metadata": {
            "total_content_length_in_bytes": sum(
                f["file_metadata"]["content_length_in_bytes"] for f in files
            ),
            "total_row_count": len(result.rows),
            "result_format": unload.format,
            "result_version": RESULT_VERSION,
        },
        "author": {"name": AUTHOR, "manifest_file_version": "1.0"},
    }
    metadata = {
        "ColumnInfo": [result.column_info[i] for i in keep],
        "Author": {"Name": AUTHOR, "MetadataFileVersion": "1.0"},
    }
    _put_json(objects, unload, f"{unload.prefix}{query_id}_metadata.json", metadata)
    _put_json(objects, unload, f"{unload.prefix}{query_id}_manifest.json", manifest)
    return {
        "rows": len(result.rows),
        "metadataFile": f"{base}_metadata.json",
        "manifestFile": f"{base}_manifest.json",
    }


def _text(datum: dict[str, Any]) -> str | None:
    if datum.get("NullValue"):
        return None
    if "ScalarValue" in datum:
        return datum["ScalarValue"]
    return json.dumps(datum, separators=(",", ":"))  # arrays, rows, time series: their JSON form


def _write_files(
    objects: ObjectStore, unload: Unload, stem: str, columns: list[dict[str, Any]], rows: list[list[Any]]
) -> list[dict[str, Any]]:
    """One partition's rows as files of at most max_file_size bytes each (measured before compression)."""
    if unload.format == "PARQUET":
        return _write_parquet(objects, unload, stem, columns, rows)
    suffix = ".csv.gz" if unload.compression == "GZIP" else ".csv"
    header = [str(column["Name"]) for column in columns]
    files, start, number = [], 0, 0
    while start < len(rows) or (number == 0 and not rows):
        key = f"{stem}_{number:05d}{suffix}"
        taken: list[int] = []
        size = objects.put_stream(
            unload.bucket, key, _file_chunks(unload, header, rows, start, taken), _TYPE[suffix], _sse(unload)
        )
        files.append(_entry(unload, key, size, taken[0]))
        start += taken[0]
        number += 1
    return files


def _write_parquet(
    objects: ObjectStore, unload: Unload, stem: str, columns: list[dict[str, Any]], rows: list[list[Any]]
) -> list[dict[str, Any]]:
    """Parquet files, a new one once the rows' text passes max_file_size."""
    from timestream_local.api import unload_parquet  # noqa: PLC0415 - only UNLOAD to Parquet needs it

    files, start = [], 0
    while start < len(rows) or not files:
        end, size = start, 0
        while end < len(rows) and (end == start or size + _text_size(rows[end]) <= unload.max_file_size):
            size += _text_size(rows[end])
            end += 1
        key = f"{stem}_{len(files):05d}.parquet"
        with unload_parquet.parquet_file(columns, rows[start:end], unload.compression) as path:
            written = objects.put_stream(
                unload.bucket,
                key,
                unload_parquet.chunks(path),
                "application/vnd.apache.parquet",
                _sse(unload),
            )
        files.append(_entry(unload, key, written, end - start))
        start = end
    return files


def _text_size(row: list[Any]) -> int:
    return sum(len(value) + 1 for value in row if value is not None) + 1


def _entry(unload: Unload, key: str, size: int, rows: int) -> dict[str, Any]:
    return {
        "url": f"s3://{unload.bucket}/{key}",
        "file_metadata": {"content_length_in_bytes": size, "row_count": rows},
    }


_TYPE = {".csv.gz": "application/gzip", ".csv": "text/csv"}


def _file_chunks(
    unload: Unload, header: list[str], rows: list[list[Any]], start: int, taken: list[int]
) -> Iterator[bytes]:
    """The bytes of one file from rows[start:], in chunks; stops before the row that would take the
    file past max_file_size (a file holds at least one row); records how many rows it took."""
    compressor = zlib.compressobj(wbits=31) if unload.compression == "GZIP" else None
    buffer = io.StringIO()
    writer = csv.writer(
        buffer,
        delimiter=unload.field_delimiter,
        escapechar=unload.escaped_by,
        doublequote=False,
        lineterminator="\n",
    )
    written, i = 0, start
    if unload.include_header:
        writer.writerow(header)
    while i < len(rows):
        mark = buffer.tell()
        writer.writerow(["" if value is None else value for value in rows[i]])
        if written + buffer.tell() > unload.max_file_size and (i > start):
            buffer.seek(mark)
            buffer.truncate()
            break
        i += 1
        if (i - start) % ROWS_PER_CHUNK == 0:
            written += buffer.tell()
            yield _out(compressor, buffer)
    taken.append(i - start)
    yield _out(compressor, buffer)
    if compressor is not None:
        yield compressor.flush()


def _out(compressor: Any, buffer: io.StringIO) -> bytes:
    data = buffer.getvalue().encode()
    buffer.seek(0)
    buffer.truncate()
    return compressor.compress(data) if compressor is not None else data


def _put_json(objects: ObjectStore, unload: Unload, key: str, document: dict[str, Any]) -> None:
    objects.put(unload.bucket, key, json.dumps(document, indent=2).encode(), "application/json", _sse(unload))


def _sse(unload: Unload) -> dict[str, str]:
    """The objects' server-side encryption, as the statement's encryption and kms_key ask."""
    return encryption_args(unload.encryption, unload.kms_key)
