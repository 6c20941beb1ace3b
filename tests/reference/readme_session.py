"""Plays the README's "A first session over the protocol" against an engine, as a shell would run it.

Each `curl -s $API -d Name=value …` line is one POST to /api.php; `VAR=$(curl … | python3 -c '…["Key"]')`
keeps the answer's Key as $VAR. Every call must succeed. The administrator the session logs in as is
made the way `sendmill up` makes it, with the password the session reads from $SENDMILL_ADMIN_PASSWORD.
"""
from __future__ import annotations

import re
import shlex
from pathlib import Path

SECTION = "## A first session over the protocol"
ADMIN_PASSWORD = "first-admin-pass"
ASSIGNED_ANSWER = re.compile(r"(\w+)=\$\((curl .+?) \| python3 -c '[^']*\[\"(\w+)\"\][^']*'\)")


def session_lines(readme: Path) -> list[str]:
    """The shell lines of the section's code block, continuation lines joined, comments dropped."""
    text = readme.read_text(encoding="utf-8").split(SECTION, 1)[1]
    block = text.split("```sh\n", 1)[1].split("```", 1)[0].replace("\\\n", " ")
    return [line.strip() for line in block.splitlines() if line.strip() and not line.strip().startswith("#")]


def play_readme_session(readme: Path, engine, client) -> list[tuple[str, list[str]]]:
    """Runs the session; returns (command, parameter names) per call."""
    with engine.uow() as uow:
        uow.accounts.ensure_default_group()
        uow.accounts.create_admin("admin", ADMIN_PASSWORD)
        uow.commit()
    variables = {"SENDMILL_ADMIN_PASSWORD": ADMIN_PASSWORD}
    calls = []
    for line in session_lines(readme):
        assigned = ASSIGNED_ANSWER.fullmatch(line)
        if assigned:
            name, curl, key = assigned.groups()
            answer = _post(client, curl, variables, calls)
            variables[name] = str(answer[key])
        elif line.startswith("curl "):
            _post(client, line, variables, calls)
        else:
            name, value = line.split("=", 1)
            variables[name] = value
    return calls


def _post(client, curl: str, variables: dict, calls: list) -> dict:
    args = [_expand(a, variables) for a in shlex.split(curl)]
    assert args[:2] == ["curl", "-s"] and args[2].endswith("/api.php"), args
    data = {}
    for flag, pair in zip(args[3::2], args[4::2]):
        assert flag == "-d", args
        key, value = pair.split("=", 1)
        data[key] = value
    answer = client.post("/api.php", data=data).get_json()
    assert answer["Success"] is True, (data, answer)
    calls.append((data["Command"], [k for k in data if k != "Command"]))
    return answer


def _expand(text: str, variables: dict) -> str:
    return re.sub(r"\$(\w+)", lambda m: variables[m.group(1)], text)
