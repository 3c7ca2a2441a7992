"""Error reports of failed scheduled-query runs, kept as files until the store has an S3 endpoint:
the report of bucket B and object key K is the JSON file <data-dir>/error-reports/B/K (the key as
AWS forms it, so a later S3 endpoint can take the same layout).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


class ErrorReports:
    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "error-reports"

    def path(self, bucket: str, key: str) -> Path:
        return self.root / bucket / key

    def write(self, bucket: str, key: str, report: dict[str, Any]) -> Path:
        """Write one report (whole or not at all: a temporary file renamed into place)."""
        path = self.path(bucket, key)
        if not path.resolve().is_relative_to(self.root.resolve()):
            raise ValueError(f"the error report key {key!r} leads outside {self.root}")
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(json.dumps(report, indent=2) + "\n")
        os.replace(temporary, path)
        return path
