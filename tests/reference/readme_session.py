"""The /api.php calls of the README's "A first session over the protocol", read from its shell block.

Only what the reference test needs: each curl call's command and parameter names, to check that the
session sends nothing the reference does not document. Running the session is tests/e2e/test_readme.py's
job (verbatim, against a live `sendmill up`).

The block is split into words the way a shell would (quotes, `\\` continuations, comments); a curl call
is `curl -s $API` (also inside `VAR=$(curl …`) followed by `-d Name=value` pairs. Everything else (the
`field` function, `| field PATH` pipes, variable assignments) is not a call.
"""
from __future__ import annotations

import shlex
from pathlib import Path

SECTION = "## A first session over the protocol"
DATA_FLAGS = ("-d", "--data", "--data-raw", "--data-urlencode")


def session_block(readme: Path) -> str:
    text = readme.read_text(encoding="utf-8").split(SECTION, 1)[1]
    return text.split("```sh\n", 1)[1].split("```", 1)[0]


def readme_calls(readme: Path) -> list[tuple[str, list[str]]]:
    """(command, parameter names other than Command) per curl call, in order."""
    # shlex reads a `\` line continuation as a word "\n"; the shell drops both characters.
    words = shlex.split(session_block(readme).replace("\\\n", " "), comments=True)
    return [_call(words[at + 1:]) for at, word in enumerate(words) if word == "curl" or word.endswith("$(curl")]


def _call(words: list[str]) -> tuple[str, list[str]]:
    assert words[:2] == ["-s", "$API"], f"a README curl call that is not `curl -s $API …`: {words[:4]}"
    data: dict[str, str] = {}
    at = 2
    while at < len(words) and words[at].startswith("-"):
        flag, pair = words[at], words[at + 1] if at + 1 < len(words) else ""
        assert flag in DATA_FLAGS and "=" in pair, f"a README curl call with {flag} {pair!r}: expected -d Name=value"
        name, _value = pair.split("=", 1)
        data[name] = _value
        at += 2
    assert "Command" in data, f"a README curl call without -d Command=…: {words[:at]}"
    return data["Command"], [name for name in data if name != "Command"]
