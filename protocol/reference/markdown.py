"""docs/commands.md: the reference (model.build) as Markdown, one section per area, one per command."""
from __future__ import annotations

import json
import re
import shlex

REGENERATE = "python -m pytest tests/reference --update-reference --db=sqlite"
HEADER = f"""# Command reference

<!-- Generated from protocol/registry.py and the recorded examples; do not edit.
     Regenerate with: {REGENERATE} -->

Every `/api.php` command Sendmill answers, generated from the declarations in `protocol/commands/`.
Each example is a real request and the answer the engine gave to it in the test suite's recording run
(session IDs, keys and secrets are shown as placeholders such as `$SID`). The same reference is served by
a running engine at `/docs` (one page, with a search box) and as JSON at `/commands.json`.

Parameters may come as a form (`-d Name=value`), a query string, multipart or a JSON body; names are
case-insensitive, empty values count as absent and unknown parameters are ignored. Every answer is
HTTP 200 with `Success` and `ErrorCode`. A parameter's *codes* are the error codes it earns when it is
missing or empty, and when its value is invalid; a table row that names no parameter comes from a
check across parameters or from the engine. See the README, "Protocol behaviour worth knowing".
"""


def slug(title: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


def render(reference: dict) -> str:
    commands = {c["name"]: c for c in reference["commands"]}
    out = [HEADER, _envelope(reference), _common_errors(reference), "## Contents\n"]
    for area in reference["areas"]:
        links = " · ".join(f"[{name}](#{slug(name)})" for name in area["commands"])
        out.append(f"* **[{area['title']}](#{slug(area['title'])})**: {links}")
    out.append("* [Parameter types](#parameter-types)\n")
    for area in reference["areas"]:
        out.append(f"## {area['title']}\n")
        out.extend(_command(commands[name]) for name in area["commands"])
    out.append(_types(reference))
    return "\n".join(out).rstrip() + "\n"


def _envelope(reference: dict) -> str:
    rows = "\n".join(f"| `{p['name']}` | {p['meaning']} |" for p in reference["envelope"])
    return f"## Parameters of every request\n\n| Parameter | Meaning |\n|---|---|\n{rows}\n"


def _common_errors(reference: dict) -> str:
    rows = "\n".join(f"| {e['code']} | {e['text']} | {e['applies']} |" for e in reference["common_errors"])
    return ("## Answers any command may give\n\nScalar codes, whatever the command's own error shape.\n\n"
            f"| Code | ErrorText | When |\n|---|---|---|\n{rows}\n")


def _command(command: dict) -> str:
    lines = [f"### {command['name']}\n", _caller(command) + "\n"]
    if command["description"]:
        lines.append(_cell(command["description"]) + "\n")
    lines.append(_parameters(command))
    lines.append(_errors(command))
    for example in command["examples"]:
        lines.append(_example(example))
    return "\n".join(lines)


def _caller(command: dict) -> str:
    parts = [f"**Caller:** {command['who']}"]
    if command["permission"]:
        of_a_user = " (of a user)" if command["auth"] == "any" else ""
        parts.append(f"**Permission:** `{command['permission']}`{of_a_user}")
    parts.append(f"**Error shape:** {command['error_shape']}")
    return " · ".join(parts)


def _parameters(command: dict) -> str:
    if not command["parameters"] and not command["extra_parameters"]:
        return "No parameters of its own.\n"
    rows = ["| Parameter | Type | Required | Default | Accepts | Codes |", "|---|---|---|---|---|---|"]
    for p in command["parameters"]:
        rows.append(f"| `{p['name']}` | [{p['type']}](#parameter-types){' list' if p['list'] else ''} | "
                    f"{'yes' if p['required'] else ''} | {_default(p['default'])} | {_cell(accepts(p))} | "
                    f"{codes_text(p['codes'], p['required'])} |")
    for p in command["extra_parameters"]:
        rows.append(f"| `{p['name']}` | | | | {_cell(p['meaning'])} | |")
    return "\n".join(rows) + "\n"


def accepts(parameter: dict) -> str:
    """Constraints, then the accepted values and other spellings of a choice."""
    parts = [parameter["accepts"]] if parameter["accepts"] else []
    if parameter["choices"]:
        parts.append("one of " + ", ".join(f"`{c}`" for c in parameter["choices"]))
    if parameter["aliases"]:
        parts.append("also " + ", ".join(f"`{a}` = `{c}`" for a, c in parameter["aliases"].items()))
    return "; ".join(parts)


def codes_text(codes: dict, required: bool) -> str:
    if not codes:
        return ""
    missing, invalid = codes.get("missing"), codes.get("invalid")
    if missing == invalid:
        return str(missing)
    absent = "missing" if required else "empty"
    return "; ".join(f"{code} {word}" for code, word in ((missing, absent), (invalid, "invalid")) if code is not None)


def _errors(command: dict) -> str:
    if not command["errors"]:
        return "No error codes of its own.\n"
    rows = ["| Code | ErrorText | When |", "|---|---|---|"]
    for e in command["errors"]:
        key = f" (under `{e['key']}`)" if e.get("key") else ""
        rows.append(f"| {e['code']}{key} | {_cell(e['text'])} | {_cell(when(e))} |")
    failure = json.dumps(command["failure_example"], ensure_ascii=False)
    return "\n".join(rows) + f"\n\nA failure looks like `{failure}`.\n"


def when(error: dict) -> str:
    """The parameters behind a code, then the engine's errors that map to it ("engine: list not found")."""
    parts = [", ".join(f"`{w['parameter']}` {w['when']}" for w in error["parameters"])] if error["parameters"] else []
    if error["raised_by"]:
        parts.append("engine: " + engine_errors(error))
    return "; ".join(parts)


def engine_errors(error: dict) -> str:
    return ", ".join(_words(name) for name in error["raised_by"])


def _words(class_name: str) -> str:
    """`MissingUnsubscribeLinkHTML` → "missing unsubscribe link HTML"."""
    words = re.findall(r"[A-Z]+(?=[A-Z][a-z]|\d|$)|[A-Z]?[a-z]+|\d+", class_name)
    return " ".join(w if w.isupper() and len(w) > 1 else w.lower() for w in words)


def _example(example: dict) -> str:
    note = f"{example['note']}\n\n" if example.get("note") else ""
    answer = json.dumps(example["answer"], indent=2, ensure_ascii=False)
    return f"{note}```sh\n{curl(example['request'])}\n```\n\n```json\n{answer}\n```\n"


def curl(request: dict) -> str:
    """The request as the curl line a reader can paste (after setting $API and the $-placeholders)."""
    args = []
    for name, value in request.items():
        for item in value if isinstance(value, list) else [value]:
            args.append(_data_arg(name, str(item)))
    lines, line = [], "curl -s $API"
    for arg in args:
        if len(line) + len(arg) > 100:
            lines.append(line + " \\")
            line = "    "
        line += (" " if line.strip() else "") + arg
    return "\n".join(lines + [line])


def _data_arg(name: str, value: str) -> str:
    if re.fullmatch(r"\$[A-Z_][A-Z0-9_]*", value):
        return f"-d {name}={value}"
    if re.fullmatch(r"[\w.@:,/*+-]*", value, flags=re.ASCII) and "+" not in value:
        return f"-d {shlex.quote(f'{name}={value}')}"
    return f"--data-urlencode {shlex.quote(f'{name}={value}')}"


def _default(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    return f"`{value}`"


def _cell(text: str) -> str:
    """Text for a table cell: pipes escaped, and `<` outside code spans too (GitHub would drop `<ID>` as a tag)."""
    spans = text.replace("|", "\\|").replace("\n", " ").split("`")
    return "`".join(s if i % 2 else s.replace("<", "&lt;") for i, s in enumerate(spans))


def _types(reference: dict) -> str:
    rows = "\n".join(f"| `{name}` | {_cell(text)} |" for name, text in reference["types"].items())
    return f"## Parameter types\n\n| Type | Accepts |\n|---|---|\n{rows}\n"
