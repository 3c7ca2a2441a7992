"""How Grafana reads one `key = value` line of grafana.ini: Grafana loads the file with go-ini
(gopkg.in/ini.v1) and its default options (`ini.Load`), whose value reader does, in this order:
a value opening with three double quotes (and longer than three characters) runs to the last
three double quotes of the line, and one opening with a backtick to the last backtick, taken as
they are; any other value is trimmed, cut at its first `#` or `;` (an inline comment), trimmed
again, and loses one pair of surrounding single or double quotes. (Read from go-ini's parser.go,
readValue; continuation lines and multi-line values are not modelled: the tests never write
them.)"""

from __future__ import annotations


def value(raw: str) -> str:
    line = raw.lstrip()
    for quote in ('"""', "`"):
        if line.startswith(quote) and (quote == "`" or len(line) > 3):
            rest = line[len(quote) :]
            end = rest.rfind(quote)
            if end == -1:
                raise ValueError(f"a multi-line value starts here: {raw!r}")
            return rest[:end]
    line = line.strip()
    if line.endswith("\\"):
        raise ValueError(f"a continued value starts here: {raw!r}")
    cut = min((index for index in (line.find("#"), line.find(";")) if index >= 0), default=-1)
    if cut >= 0:
        line = line[:cut].strip()
    if len(line) > 1 and line[0] == line[-1] and line[0] in "'\"":
        line = line[1:-1]
    return line


def sections(text: str) -> dict[str, dict[str, str]]:
    """Every section's keys and values as Grafana gets them (comment lines skipped)."""
    found: dict[str, dict[str, str]] = {"": {}}
    current = found[""]
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        if stripped.startswith("[") and stripped.endswith("]"):
            current = found.setdefault(stripped[1:-1], {})
            continue
        key, _, raw = line.partition("=")
        current[key.strip()] = value(raw)
    return found
