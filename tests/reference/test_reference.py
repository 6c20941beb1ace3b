"""The command reference: generated from the registry, with examples the engine answered in this run.

docs/commands.md and protocol/reference/examples.json are committed; these tests fail when either differs
from what the registry and a live engine give now (`--update-reference` rewrites both), when a command
has no example, or when the reference shows a parameter or code other than the declared one.
"""
from __future__ import annotations

import dataclasses
import difflib
import json
import re
from pathlib import Path

import pytest

from engine.campaigns.emails import VALIDATE_SCOPES
from engine.models.lists import OPT_IN_MODES
from protocol.command import ADMIN, PUBLIC
from protocol.commands.subscribers import DEFAULT_PAGE as SUBSCRIBERS_PAGE
from protocol.reference import reference
from protocol.reference.examples import EXAMPLES_PATH, dump_examples, load_examples
from protocol.reference.markdown import REGENERATE, render
from protocol.reference.model import ENVELOPE, WHO, build
from protocol.registry import COMMANDS
from tests.e2e.support import loopback_relay
from tests.reference.live import new_installation
from tests.reference.readme_session import readme_calls
from tests.reference.recorder import Recording
from tests.reference.scenario import STEPS, documented_commands
from tests.reference.scenario_senders import TXT_RECORDS

ROOT = Path(__file__).resolve().parents[2]
MARKDOWN = ROOT / "docs" / "commands.md"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> list[dict]:
    """The scenario played on a new installation now: what the reference must show."""
    with new_installation(tmp_path_factory.mktemp("reference")) as (engine, client, smtp):
        return Recording(client, engine, smtp).play(STEPS)


@pytest.fixture(scope="module")
def update(request) -> bool:
    return request.config.getoption("--update-reference")


def test_every_registered_command_has_an_example():
    missing = sorted(COMMANDS[key].name for key in set(COMMANDS) - documented_commands())
    assert not missing, (f"{len(missing)} registered command(s) have no example. Add a Call to "
                         "tests/reference/scenario_*.py where the state it needs exists, e.g.:\n"
                         + "\n".join(_example_stub(COMMANDS[name.lower()]) for name in missing)
                         + f"\nthen record again: {REGENERATE}")


def test_the_committed_examples_are_what_the_engine_answered_in_this_run(recorded, update):
    text = dump_examples(recorded)
    if update:
        EXAMPLES_PATH.write_text(text, encoding="utf-8")
    committed = EXAMPLES_PATH.read_text(encoding="utf-8") if EXAMPLES_PATH.exists() else ""
    assert committed == text, _drift(EXAMPLES_PATH, committed, text)


def test_the_committed_markdown_is_generated_from_the_registry(recorded, update):
    text = render(build(COMMANDS, recorded))
    if update:
        MARKDOWN.parent.mkdir(exist_ok=True)
        MARKDOWN.write_text(text, encoding="utf-8")
    committed = MARKDOWN.read_text(encoding="utf-8") if MARKDOWN.exists() else ""
    assert committed == text, _drift(MARKDOWN, committed, text)


@pytest.mark.parametrize("key", sorted(COMMANDS))
def test_the_markdown_shows_each_declared_parameter_and_code(key):
    """Checked against the declarations directly, not through the generator: a generator that dropped or
    renamed a parameter, a code or a caller would fail here even with the drift tests green."""
    command = COMMANDS[key]
    section = _section(MARKDOWN.read_text(encoding="utf-8"), command.name)
    assert f"**Caller:** {WHO[command.auth]}" in section
    if command.auth != ADMIN and command.auth != PUBLIC and command.required_permission:
        assert f"**Permission:** `{command.required_permission}`" in section
    else:
        assert "**Permission:**" not in section
    for name, field, row in _parameter_rows(command, section):
        cells = [c.strip() for c in row.strip("|").split(" | ")]
        assert cells[2] == ("yes" if field.required else ""), row
        shown = set(re.findall(r"\d+", cells[-1]))
        declared = {field.metadata.get("code"), field.metadata.get("invalid_code")} - {None}
        assert shown == {str(c) for c in declared}, (name, row)
    for code, text in command.errors.items():
        rows = [line for line in section.splitlines() if re.match(rf"\| {code}( |\(| \(under)", line)]
        assert len(rows) == 1 and f"| {text.replace('|', chr(92) + '|')} |" in rows[0], (code, text, rows)
    table_codes = [int(m) for m in re.findall(r"^\| (\d+)[ (]", section.split("| Code |", 1)[-1], re.M)]
    assert table_codes == list(command.errors), "the error table lists exactly the declared codes, in order"


def test_the_declared_codes_do_not_depend_on_which_command_ran_last():
    """The reference reads the declarations; a schema that changes shared field metadata while binding
    would document (and answer) another command's codes, depending on the order requests came in."""
    def declared_codes():
        return {(key, name): (f.metadata.get("code"), f.metadata.get("invalid_code"))
                for key, command in COMMANDS.items() if command.params
                for name, f in command.params._declared_fields.items()}

    keys = sorted(key for key, command in COMMANDS.items() if command.params)
    bound = {}
    for key in keys:
        fields = COMMANDS[key].params().fields
        bound.update({(key, n): (f.metadata.get("code"), f.metadata.get("invalid_code")) for n, f in fields.items()})
    in_order = declared_codes()
    for key in reversed(keys):
        COMMANDS[key].params()
    assert declared_codes() == in_order == bound


def test_accepted_values_defaults_and_wire_names_come_from_the_declarations():
    described = {c["name"]: {p["name"]: p for p in c["parameters"]} for c in build(COMMANDS)["commands"]}
    assert described["List.Create"]["OptInMode"]["choices"] == sorted(OPT_IN_MODES)
    assert described["Email.Update"]["ValidateScope"]["choices"] == sorted(VALIDATE_SCOPES, key=str.lower)
    assert described["Campaign.Update"]["ScheduleType"]["aliases"] == {"recurring": "Recursive"}
    assert described["Campaign.Schedule.Preview"]["Count"]["accepts"] == "1 to 100"
    assert described["Campaign.Update"]["ScheduleRecHours"]["accepts"] == "comma list of 0 to 23"
    assert described["User.Create"]["Password"]["accepts"] == "at most 1024 characters; kept as sent (not trimmed)"
    # Defaults as the handlers apply them: p.get("Count", 10), p.get("RecordsPerRequest") or DEFAULT_PAGE.
    assert described["Campaign.Schedule.Preview"]["Count"]["default"] == 10
    assert described["Subscribers.Get"]["RecordsPerRequest"]["default"] == SUBSCRIBERS_PAGE
    assert described["Webhook.Create"]["Enabled"]["default"] is True
    assert described["Campaign.Get"]["CampaignID"]["default"] is None
    assert "AdminAPIKey" in described["Admin.Login"] and "APIKey" not in described["Admin.Login"]
    assert described["Subscribers.Import"]["ImportFile"]["list"] is False
    assert described["Campaigns.Delete"]["Campaigns"]["list"] is True


def test_every_parameter_type_is_described():
    """The glossary text is the type's own docstring: a new parameter type needs one."""
    undescribed = [name for name, text in build(COMMANDS)["types"].items() if not text]
    assert not undescribed, f"give these parameter types a docstring: {undescribed}"


def test_examples_send_only_parameters_the_reference_shows(recorded):
    for example in recorded:
        command = COMMANDS[example["command"].lower()]
        unknown = [name for name in example["request"] if not _documented(command, name)]
        assert not unknown, (command.name, unknown)


def test_the_readme_session_sends_only_documented_parameters():
    """tests/e2e/test_readme.py runs the session; this checks it uses only what the reference shows."""
    calls = readme_calls(ROOT / "README.md")
    assert [c for c, _ in calls][:3] == ["Admin.Login", "UserGroups.Get", "User.Create"] and len(calls) >= 4, calls
    for command_name, names in calls:
        command = COMMANDS[command_name.lower()]
        assert all(_documented(command, n) for n in names), (command_name, names)


def test_the_engine_serves_the_reference(client):
    page = client.get("/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "default-src 'none'" in policy
    html = page.get_data(as_text=True)
    assert "<script>" not in html and " style=" not in html and 'id="search"' in html
    for command in COMMANDS.values():
        assert f'<article class="command" id="{command.name}"' in html and f'href="#{command.name}"' in html
    script = client.get("/docs/static/docs.js")
    assert script.status_code == 200 and "javascript" in script.mimetype
    served = client.get("/commands.json")
    assert served.status_code == 200 and served.get_json() == json.loads(json.dumps(reference()))
    assert {c["name"] for c in served.get_json()["commands"]} == {c.name for c in COMMANDS.values()}
    assert client.get("/openapi.json").get_json()["openapi"].startswith("3.")


def test_every_example_answers_alike_on_every_backend(engine, client):
    """The recording runs on SQLite; the same calls must give the same outcomes on PostgreSQL and MariaDB."""
    engine.settings = dataclasses.replace(engine.settings, extra={
        **engine.settings.extra, "txt_lookup": lambda name: TXT_RECORDS.get(name, []),
        "account_mail_runner": lambda job: job()})
    with loopback_relay(engine) as smtp:
        examples = Recording(client, engine, smtp).play(STEPS)
    outcome = [(e["command"], e["answer"]["Success"], e["answer"]["ErrorCode"]) for e in examples]
    assert outcome == [(e["command"], e["answer"]["Success"], e["answer"]["ErrorCode"]) for e in load_examples()]


# --- helpers ------------------------------------------------------------------------------------------
def _example_stub(command) -> str:
    session = {PUBLIC: "None", ADMIN: '"ADMIN"'}.get(command.auth, '"SID"')
    declared = command.params._declared_fields.items() if command.params else ()
    required = ", ".join(f'"{f.data_key or n}": "…"' for n, f in declared if f.required)
    return f'    Call("{command.name}", {{{required}}}, session={session}),'


def _drift(path: Path, committed: str, generated: str) -> str:
    diff = "".join(list(difflib.unified_diff(committed.splitlines(True), generated.splitlines(True),
                                             f"{path.name} (committed)", f"{path.name} (now)", n=1))[:60])
    return f"{path.relative_to(ROOT)} is out of date; regenerate with: {REGENERATE}\n{diff}"


def _section(markdown: str, name: str) -> str:
    start = markdown.index(f"\n### {name}\n")
    end = min(i for i in (markdown.find("\n### ", start + 1), markdown.find("\n## ", start + 1), len(markdown))
              if i != -1)
    return markdown[start:end]


def _parameter_rows(command, section: str):
    declared = command.params._declared_fields.items() if command.params else ()
    for attribute, field in declared:
        name = field.data_key or attribute
        rows = [line for line in section.splitlines() if line.startswith(f"| `{name}` |")]
        assert len(rows) == 1, (command.name, name)
        yield name, field, rows[0]


def _documented(command, name: str) -> bool:
    """Whether the reference shows `name` for `command`: the envelope, a declared parameter (with PHP's
    `[]` list suffix), or one of its extra parameters (`CustomField<ID>` matches CustomField12)."""
    base = name.split("[", 1)[0].lower()
    declared = {(f.data_key or n).lower() for n, f in (command.params._declared_fields.items()
                                                      if command.params else ())}
    extra = [re.escape(p).replace("<ID>", r"\d+").lower() for p in command.extra_params]
    return (base in {n.lower() for n, _ in ENVELOPE} or base in declared
            or any(re.fullmatch(p, base) for p in extra))
