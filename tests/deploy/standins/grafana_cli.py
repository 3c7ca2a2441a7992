"""A stand-in for Grafana's `grafana cli` (Grafana itself cannot be installed here: its package
repository and grafana.com are out of reach). It accepts the documented command line
`grafana cli [--homepath H] [--config C] [--pluginsDir P] plugins install <id> [<version>]` and
`... plugins remove <id>`, and behaves as Grafana 13 does where that matters to the role: without a
home path that holds conf/defaults.ini it stops with Grafana's message. An install writes the
plugin's plugin.json with the asked version, as a real install leaves one. Every call is appended
to calls.jsonl beside the plugins folder.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

HOMEPATH_MESSAGE = (
    "Grafana-server Init Failed: Could not find config defaults, make sure homepath command line "
    "parameter is set or working directory is homepath"
)
GLOBAL_FLAGS = ("--homepath", "--config", "--pluginsDir")


def main(argv: list[str]) -> int:
    if not argv or argv[0] != "cli":
        print("usage: grafana cli [global options] command ...", file=sys.stderr)
        return 2
    args = argv[1:]
    flags: dict[str, str] = {}
    while args and args[0] in GLOBAL_FLAGS:
        flags[args[0]] = args[1]
        args = args[2:]
    plugins_dir = Path(flags.get("--pluginsDir", "/var/lib/grafana/plugins"))
    with (plugins_dir.parent / "calls.jsonl").open("a") as log:
        log.write(json.dumps(argv) + "\n")
    home = flags.get("--homepath")
    if home is None or not (Path(home) / "conf" / "defaults.ini").is_file():
        print(HOMEPATH_MESSAGE)
        return 1
    if args[:2] == ["plugins", "install"] and len(args) in (3, 4):
        plugin_id = args[2]
        version = args[3] if len(args) == 4 else "9.9.9"
        folder = plugins_dir / plugin_id
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "plugin.json").write_text(json.dumps({"id": plugin_id, "info": {"version": version}}))
        print(f"✔ Downloaded and extracted {plugin_id} v{version} zip successfully to {folder}")
        return 0
    if args[:2] == ["plugins", "remove"] and len(args) == 3:
        shutil.rmtree(plugins_dir / args[2])
        return 0
    print(f"Incorrect Usage: {' '.join(args)}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
