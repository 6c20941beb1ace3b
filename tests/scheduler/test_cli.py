"""`sendmill tick` and `sendmill schedule` as an operator runs them (real clock, real database URL)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from engine.models import SendInstance
from scheduler.cli import main
from tests.builders import set_campaign
from tests.conftest import SENDER_DOMAINS_ENV


@pytest.fixture
def sendmill(database_url, tmp_path):
    def run(*args):
        env = {"SENDMILL_DATABASE_URL": database_url, "SENDMILL_SECRET_KEY": "test-secret",
               "SENDMILL_DATA_DIR": str(tmp_path), **SENDER_DOMAINS_ENV}
        return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    return run


def test_tick_dry_run_then_tick(world, sendmill):
    owner = world.owner()
    cid = world.campaign(owner, [world.list_with(owner, "ann@example.com")])
    result = sendmill("tick", "--dry-run")
    assert result.exit_code == 0
    assert re.fullmatch(r"tick \d{4}-\d\d-\d\dT\d\d:\d\dZ: 1 started, 0 finished, 0 waiting approval "
                        r"\(dry run: nothing written\)\n", result.output), result.output
    assert world.load(cid).status == "Ready" and world.count(SendInstance) == 0

    result = sendmill("tick", "--send-budget", "0")    # a host that only schedules: its one line, nothing else
    assert result.exit_code == 0
    assert re.fullmatch(r"tick \S+: 1 started, 0 finished, 0 waiting approval\n", result.output), result.output
    assert world.load(cid).status == "Sending" and world.count(SendInstance) == 1


def test_a_tick_that_cannot_send_says_so_when_campaigns_wait(world, sendmill):
    quiet = sendmill("tick")                               # nothing is waiting: nothing to say
    assert quiet.exit_code == 0 and quiet.stderr == ""
    owner = world.owner()
    cid = world.campaign(owner, [world.list_with(owner, "ann@example.com")])
    result = sendmill("tick")                              # starts it; no SENDMILL_SMTP_URL to deliver it with
    assert result.exit_code == 3
    assert re.fullmatch(r"tick \S+: 1 started, 0 finished, 0 waiting approval\n", result.stdout), result.stdout
    assert result.stderr == ("sendmill tick: 1 campaign(s) are Sending but nothing was delivered: SENDMILL_SMTP_URL "
                             "is not set. Set it, or run `sendmill worker` on a host that has it and pass "
                             "--send-budget 0 to this tick.\n")
    assert world.load(cid).status == "Sending"             # the tick's own work stands
    again = sendmill("tick")                               # and it keeps saying so while they wait
    assert again.exit_code == 3 and "1 campaign(s) are Sending" in again.stderr
    scheduling_only = sendmill("tick", "--send-budget", "0")
    assert scheduling_only.exit_code == 0 and scheduling_only.stderr == ""


def test_schedule_prints_the_next_send_times_in_the_campaign_zone_and_utc(world, sendmill, engine):
    owner = world.owner()
    cid = world.recurring(owner, [world.list_with(owner, "ann@example.com")], hours="9", minutes="30",
                          tz="Asia/Kolkata")  # UTC+05:30 all year: no DST to make the test seasonal
    previous = datetime.now(timezone.utc)   # read before the command reads its (real) clock, never after
    result = sendmill("schedule", str(cid), "--next", "3")
    assert result.exit_code == 0, result.output
    header, *lines = result.output.splitlines()
    assert header == f'campaign {cid} "Campaign": Ready, Recursive, time zone Asia/Kolkata'
    assert len(lines) == 3
    for number, line in enumerate(lines, 1):
        match = re.fullmatch(rf"{number}  (\S+ \S+) IST  =  (\S+ \S+) UTC", line)
        assert match, line
        local, utc = (datetime.strptime(t, "%Y-%m-%d %H:%M:%S") for t in match.groups())
        assert local.strftime("%H:%M") == "09:30" and local - utc == timedelta(hours=5, minutes=30)
        assert utc.replace(tzinfo=timezone.utc) > previous
        previous = utc.replace(tzinfo=timezone.utc)

    set_campaign(engine, cid, status="Sent")
    assert sendmill("schedule", str(cid)).output.splitlines()[1] == "no send times left"


def test_schedule_of_a_missing_campaign_or_a_broken_schedule_is_a_clear_error(world, sendmill, engine):
    result = sendmill("schedule", "999999")
    assert result.exit_code == 1 and "campaign 999999 does not exist" in result.output
    owner = world.owner()
    cid = world.recurring(owner, [world.list_with(owner)], hours="9")
    set_campaign(engine, cid, send_timezone="Nowhere/Special")
    result = sendmill("schedule", str(cid))
    assert result.exit_code == 1 and "invalid schedule" in result.output


def test_init_db_allows_sender_domains_for_the_default_group_and_says_how(tmp_path):
    from sqlalchemy import create_engine, text

    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    env = {"SENDMILL_DATABASE_URL": url, "SENDMILL_SECRET_KEY": "test-secret", "SENDMILL_DATA_DIR": str(tmp_path)}
    run = lambda *args: CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)  # noqa: E731
    first = run("init-db")
    assert first.exit_code == 0 and "From addresses: only verified sender emails" in first.output
    assert "--allow-sender-domain" in first.output
    second = run("init-db", "--allow-sender-domain", "Example.com", "--allow-sender-domain", "news.example.org")
    assert second.exit_code == 0
    assert "addresses at example.com, news.example.org (default user group)" in second.output
    bad = run("init-db", "--allow-sender-domain", "not a domain")
    assert bad.exit_code == 2 and "not a domain" in bad.output
    db = create_engine(url)
    with db.connect() as conn:
        assert conn.execute(text("SELECT allowed_sender_domains FROM user_groups")).scalars().all() == \
            ["example.com,news.example.org"]
    db.dispose()
    assert "--allow-sender-domain" in run("up", "--help").output
