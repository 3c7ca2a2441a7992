"""Start the project's real local services for tests: kinesalite, timestream_local and moto's server
(AWS's control plane and S3, which have no local implementation).

Each service runs as a child process on a loopback port it picks itself (port 0) with its data
in a temporary folder, and is stopped when the fixture ends. Nothing is mocked.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def free_port() -> int:
    """A port that was free a moment ago: for addresses where nothing should answer, and for
    programs that cannot pick their own port. Servers the tests start pick theirs (port 0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Service:
    name: str
    url: str
    process: subprocess.Popen
    log_path: Path
    data_dir: Path
    port: int
    argv: list[str] = field(default_factory=list)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, kill: bool = False) -> None:
        if self.process.poll() is None:
            if kill:
                self.process.kill()
            else:
                self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def _wait_until_ready(service: Service, probe, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise RuntimeError(f"{service.name} exited with {service.process.returncode}:\n{service.log()}")
        if probe():
            return
        time.sleep(0.05)
    service.stop(kill=True)
    raise RuntimeError(f"{service.name} did not become ready in {timeout:.0f} s:\n{service.log()}")


def announced_port(process: subprocess.Popen, log_path: Path, name: str, timeout: float = 30.0) -> int:
    """The port a server started with port 0 names in its "... on http://127.0.0.1:PORT" log line.

    Letting the server pick its own port leaves no window in which another process can take a
    port chosen in advance (what free_port() cannot rule out).
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = _ANNOUNCED.search(log_path.read_text(errors="replace")) if log_path.exists() else None
        if found:
            return int(found.group(1))
        if process.poll() is not None:
            break
        time.sleep(0.05)
    text = log_path.read_text(errors="replace") if log_path.exists() else ""
    if process.poll() is None:
        process.kill()
        process.wait(timeout=10)
    raise RuntimeError(f"{name} did not say which port it listens on:\n{text}")


_ANNOUNCED = re.compile(r" on http://127\.0\.0\.1:(\d+)")


def _start(
    name: str, argv: Callable[[int], list[str]], port: int, data_dir: Path, probe, env: dict | None = None
) -> Service:
    """Run argv(port); with port 0 the server picks a free port and its log line names it. ``env``
    adds variables to the program's environment."""
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir.parent / f"{data_dir.name}.log"
    env = {**os.environ, **LOCAL_CREDENTIALS, "PYTHONUNBUFFERED": "1", **(env or {})}
    with log_path.open("wb") as log:
        process = subprocess.Popen(argv(port), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
    if port == 0:
        port = announced_port(process, log_path, name)
    url = f"http://127.0.0.1:{port}"
    service = Service(name, url, process, log_path, data_dir, port, argv(port))
    _wait_until_ready(service, lambda: probe(url))
    return service


def _port_open(url: str) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", int(url.rsplit(":", 1)[1]))) == 0


def start_kinesalite(data_dir: Path, port: int = 0) -> Service:
    """A real local Kinesis (kinesalite from the project's node_modules), data on disk.

    port 0 (the default) lets it pick a free port; pass a port to restart it where it was."""
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("Node.js is not installed; run `make setup`")

    def argv(port: int) -> list[str]:
        return [node, str(ROOT / "tools" / "kinesis-local.js"), "--port", str(port), "--path", str(data_dir)]

    return _start("kinesalite", argv, port, data_dir, _port_open)


def start_timestream_local(
    data_dir: Path, port: int = 0, extra_args: list[str] | None = None, env: dict | None = None
) -> Service:
    """The project's Timestream-compatible store, started as users start it.

    port 0 (the default) lets it pick a free port; pass a port to restart it where it was. ``env``
    adds variables to its environment (e.g. TIMESTREAM_LOCAL_SECRET_KEY)."""

    def argv(port: int) -> list[str]:
        return [
            sys.executable, "-m", "timestream_local", "serve",
            "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir),
            *(extra_args or []),
        ]  # fmt: skip

    def healthy(url: str) -> bool:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=0.5) as response:  # noqa: S310 - loopback
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    return _start("timestream_local", argv, port, data_dir, healthy, env)


def _moto_ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/moto-api/", timeout=0.5) as response:  # noqa: S310 - loopback
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def start_moto(log_dir: Path) -> Service:
    """moto in server mode on a free loopback port: CloudFormation, EC2, IAM, SSM and S3."""
    executable = Path(sys.executable).parent / "moto_server"
    if not executable.exists():
        raise RuntimeError(f"{executable} is missing; run `make setup`")

    def argv(port: int) -> list[str]:
        return [str(executable), "-H", "127.0.0.1", "-p", str(port)]

    return _start("moto_server", argv, 0, log_dir / "moto", _moto_ready)
