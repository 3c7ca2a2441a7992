"""The settings of a local pipeline, as the play records them in ``<state>/pipeline.json``.

The play writes the file (ports, endpoints, names, paths; never a secret) so that `make status` and
`make panels` look at the pipeline that actually runs, whatever ports it was given. The access key
pair comes from ``<state>/secrets/``, where the play generated it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

FILENAME = "pipeline.json"


class NotDeployed(Exception):
    """No local pipeline ran with this state folder; the message says what to do."""


@dataclass(frozen=True)
class ServiceConfig:
    name: str
    port: int | None = None
    one_shot: bool = False


@dataclass(frozen=True)
class PipelineConfig:
    state_dir: Path
    region: str
    stream: str
    database: str
    table: str
    kinesis_endpoint: str
    timestream_endpoint: str
    checkpoint_dir: Path
    dead_letter: Path
    stale_after: float
    services: list[ServiceConfig] = field(default_factory=list)

    @property
    def run_dir(self) -> Path:
        return self.state_dir / "run"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "log"

    def credentials(self) -> dict[str, str]:
        """The local key pair for boto3 (aws_access_key_id / aws_secret_access_key)."""
        secrets = self.state_dir / "secrets"
        try:
            return {
                "aws_access_key_id": (secrets / "access-key-id").read_text().strip(),
                "aws_secret_access_key": (secrets / "secret-access-key").read_text().strip(),
            }
        except OSError as error:
            raise NotDeployed(
                f"cannot read the local key pair in {secrets} ({error.strerror}): run make demo"
            ) from None


def load(state_dir: Path) -> PipelineConfig:
    path = Path(state_dir) / FILENAME
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise NotDeployed(
            f"the local pipeline has not run with the state folder {state_dir} yet ({FILENAME} is missing): "
            "run make demo first"
        ) from None
    except (OSError, ValueError) as error:
        raise NotDeployed(f"cannot read {path} ({error}): run make demo again to rewrite it") from None
    try:
        return PipelineConfig(
            state_dir=Path(state_dir),
            region=data["region"],
            stream=data["stream"],
            database=data["database"],
            table=data["table"],
            kinesis_endpoint=data["kinesis_endpoint"],
            timestream_endpoint=data["timestream_endpoint"],
            checkpoint_dir=Path(data["checkpoint_dir"]),
            dead_letter=Path(data["dead_letter"]),
            stale_after=float(data["stale_after"]),
            services=[
                ServiceConfig(
                    item["name"],
                    None if item.get("port") is None else int(item["port"]),
                    bool(item.get("one_shot", False)),
                )
                for item in data["services"]
            ],
        )
    except (KeyError, TypeError, ValueError) as error:
        raise NotDeployed(f"{path} lacks {error}: run make demo again to rewrite it") from None
