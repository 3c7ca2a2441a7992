"""Where the simulator stopped: the time of the last tick whose readings its sink accepted.

With ``--resume-file`` a restarted simulator (a crash, kill -9, a supervisor's restart) continues with
the tick after that one, so no reading is skipped; readings sent again (the sink had delivered some of
a tick that was not yet recorded) are identical, which Kinesis carries and Timestream stores once.
The file is replaced atomically (a temporary file renamed over it), so a crash leaves the old or the
new position, never a torn one.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from simulator.errors import ConfigError


class ResumeFile:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._saved: int | None = None

    def load(self) -> int | None:
        """The last delivered tick (epoch ms), or None when the file does not exist yet."""
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            raise ConfigError(
                f"cannot read the resume file {self.path} ({error}); remove it to start afresh"
            ) from None
        last = data.get("last_delivered_ms") if isinstance(data, dict) else None
        if not isinstance(last, int) or isinstance(last, bool):
            raise ConfigError(
                f"the resume file {self.path} holds no last_delivered_ms; remove it to start afresh"
            )
        self._saved = last
        return last

    def check_writable(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            probe = self.path.with_name(f".{self.path.name}.probe")
            probe.write_text("")
            probe.unlink()
        except OSError as error:
            raise ConfigError(
                f"cannot write the resume file {self.path}: {error.strerror or error}"
            ) from None

    def save(self, last_delivered_ms: int) -> None:
        """Record that every tick up to ``last_delivered_ms`` was accepted by the sink."""
        if last_delivered_ms == self._saved:
            return
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            temporary.write_text(json.dumps({"last_delivered_ms": last_delivered_ms}) + "\n")
            os.replace(temporary, self.path)
        except OSError:
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise
        self._saved = last_delivered_ms
