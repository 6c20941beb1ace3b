"""The README's shell sessions run verbatim against a live `sendmill up`, so the README cannot drift from
what Sendmill answers (the first session once failed at its second command: User.Create lacked
RelUserGroupID, TimeZone and Language).

A ```sh block preceded by `<!-- test: runs -->` runs; all of them run in order, in one `bash -euo pipefail`,
like one terminal. The only change to their text: the line `API=http://127.0.0.1:8080/api.php` names the
free port the server listens on instead of 8080 (8080 may be taken on the machine running the tests).
Before them the test defines a `curl` function that calls the real curl and also logs what was asked and
the answer, so every answer is checked, including those the session only pipes into `field`.

The quick start's two commands are not run here (they create a virtualenv and install from the network):
the serve command's shape is checked (`sendmill up`, then the same subcommand is started with
SENDMILL_ADMIN_PASSWORD set and its administrator logs in), and `.ci/run` runs the test command verbatim.
"""
from __future__ import annotations

import json
import shlex
import subprocess
import sys

import pytest

from tests.e2e.readme_support import API_LINE, README, require_curl, sections, sendmill_up, shell_blocks
from tests.installation_support import ROOT, fresh_database, process_env

PASSWORD = "first-session-pass"
FIRST_SESSION = "A first session over the protocol"
CURL_LOGGING = """\
curl() {  # the test's instrument: the real curl, and what was asked and answered appended to the log
  printf '>>> %s\\n' "$*" >> "$ANSWERS_LOG"
  local status=0
  command curl "$@" | tee -a "$ANSWERS_LOG" || status=$?
  printf '\\n' >> "$ANSWERS_LOG"
  return $status
}
"""


def quick_start_commands() -> list[str]:
    return [block.code.strip() for block in shell_blocks(sections(README.read_text())["Quick start"])]


def runnable_session(port: int) -> str:
    blocks = [block.code for block in shell_blocks(README.read_text()) if block.runs]
    script = "\n".join(blocks)
    lines = script.splitlines()
    assert lines.count(API_LINE) == 1, f"the sessions must set {API_LINE!r} once, on a line of its own"
    return "\n".join(f"API=http://127.0.0.1:{port}/api.php" if line == API_LINE else line for line in lines)


def logged_answers(log) -> list[tuple[str, dict | str]]:
    """(what curl was asked, its answer parsed as JSON, or the raw text when it is not JSON)."""
    calls = []
    for entry in log.read_text().split(">>> ")[1:]:
        request, _, body = entry.partition("\n")
        try:
            calls.append((request, json.loads(body)))
        except ValueError:
            calls.append((request, body))
    return calls


def answer_to(calls, command: str) -> dict:
    return next(answer for request, answer in calls if f"Command={command} " in request)


@pytest.fixture(scope="module")
def quick_start(tmp_path_factory):
    """`sendmill up` as the quick start runs it: the embedded default database in the per-user data folder
    (HOME and XDG_DATA_HOME point into the test's folder), the administrator's password from the environment."""
    home = tmp_path_factory.mktemp("quick-start")
    with sendmill_up(home / "srv", process_env(home, SENDMILL_ADMIN_PASSWORD=PASSWORD)) as server:
        yield server, home


@pytest.fixture
def live_server(backend, request, tmp_path):
    """A fresh `sendmill up` on `backend`: the quick start's own on SQLite, else one on a new server database."""
    if backend == "sqlite":
        yield request.getfixturevalue("quick_start")[0]
        return
    with fresh_database(backend, tmp_path) as url:
        env = process_env(tmp_path, SENDMILL_DATABASE_URL=url, SENDMILL_ADMIN_PASSWORD=PASSWORD)
        with sendmill_up(tmp_path / "srv", env) as server:
            yield server


def test_the_quick_start_serves_with_sendmill_up_and_its_administrator_logs_in_with_the_given_password(
        quick_start):
    server, home = quick_start
    serve_command = quick_start_commands()[0]
    assert serve_command.endswith(".venv/bin/sendmill up"), serve_command   # the subcommand started here
    output = server.output()
    assert "administrator created: username=admin password=(as given)" in output, output
    assert f"serving /api.php on {server.api}" in output, output
    assert (home / "xdg" / "sendmill" / "sendmill.db").is_file()              # the per-user data folder
    assert list((home / "srv").iterdir()) == [home / "srv" / "sendmill-up.log"]  # nothing in the directory

    login = server.call("Admin.Login", Username="admin", Password=PASSWORD)
    assert login["Success"] is True and login["SessionID"], login
    assert server.call("Admin.Login", Username="admin", Password="not-" + PASSWORD)["Success"] is False


def test_ci_runs_the_quick_start_test_command_verbatim():
    test_command = quick_start_commands()[1]
    assert test_command in (ROOT / ".ci" / "run").read_text().splitlines()


def test_every_shell_block_of_the_readme_runs_here_or_is_a_quick_start_command():
    text = README.read_text()
    first_session = shell_blocks(sections(text)[FIRST_SESSION])
    assert first_session and all(block.runs for block in first_session)
    unchecked = [block.code for block in shell_blocks(text)
                 if not (block.runs or block.collects) and block.code.strip() not in quick_start_commands()]
    assert unchecked == [], "mark these <!-- test: runs --> (or make them runnable)"


def test_the_developer_pytest_commands_of_the_readme_are_accepted_as_written():
    blocks = [block.code.strip() for block in shell_blocks(README.read_text()) if block.collects]
    assert blocks, "the reference's regenerate command is marked <!-- test: collects -->"
    for command in blocks:
        words = shlex.split(command)
        assert words[:3] == ["python", "-m", "pytest"], command
        done = subprocess.run([sys.executable, *words[1:], "--collect-only", "-q", "-p", "no:cacheprovider"],
                              cwd=ROOT, capture_output=True, text=True, timeout=300)
        # 0: pytest knows every option and collected tests (an unknown option is 4, no test 5)
        assert done.returncode == 0, f"{command}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"


def test_the_readme_sessions_run_verbatim_against_a_live_sendmill_up(live_server, tmp_path):
    require_curl()
    log = tmp_path / "answers.log"
    env = process_env(tmp_path, SENDMILL_ADMIN_PASSWORD=PASSWORD, ANSWERS_LOG=str(log))
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", CURL_LOGGING + runnable_session(live_server.port)],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    calls = logged_answers(log) if log.exists() else []
    failed = [(request, answer) for request, answer in calls
              if not isinstance(answer, dict) or answer.get("Success") is not True]
    assert result.returncode == 0 and failed == [] and calls, (
        f"exit status {result.returncode}\nfailed answers: {json.dumps(failed, indent=1)}\n"
        f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}")

    # What the prose says the session does: a Draft campaign with content and someone to reach.
    campaign = answer_to(calls, "Campaign.Get")["Campaign"]
    assert campaign["CampaignStatus"] == "Draft" and campaign["RelEmailID"] > 0 and campaign["RecipientLists"]
    assert answer_to(calls, "Campaign.Recipients.Get")["TotalRecipients"] >= 1
