"""Error reports of failed scheduled-query runs. With an S3 endpoint (``--s3-endpoint-url``) the
report of bucket B and object key K is the S3 object s3://B/K, as AWS writes it; without one it is
kept as the JSON file <data-dir>/error-reports/B/K (the same layout, so nothing is lost and a user
can copy the folder to S3 later).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from timestream_local.storage.objects import ObjectStore


class ErrorReports:
    def __init__(self, data_dir: Path, objects: ObjectStore | None = None) -> None:
        self.root = data_dir / "error-reports"
        self.objects = objects

    @property
    def where(self) -> str:
        """Where reports go, for the log."""
        if self.objects is not None:
            return f"to S3 at {self.objects.endpoint_url}"
        return f"as files under {self.root} (no --s3-endpoint-url)"

    def path(self, bucket: str, key: str) -> Path:
        return self.root / bucket / key

    def write(self, bucket: str, key: str, report: dict[str, Any]) -> str:
        """Write one report, whole or not at all; returns where it went (s3://… or a file path).
        Raises ObjectStoreError (S3), OSError or ValueError (files)."""
        body = json.dumps(report, indent=2) + "\n"
        if self.objects is not None:
            self.objects.put(bucket, key, body.encode(), "application/json")
            return f"s3://{bucket}/{key}"
        path = self.path(bucket, key)
        if not path.resolve().is_relative_to(self.root.resolve()):
            raise ValueError(f"the error report key {key!r} leads outside {self.root}")
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(body)
        os.replace(temporary, path)
        return str(path)
