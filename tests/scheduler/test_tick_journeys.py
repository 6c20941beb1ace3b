"""What `sendmill tick` says about journeys: the steps it took (Decision moves included), the SendEmail steps
among them, the runs held for a window; and when the pass stops half-way, the steps it committed before the
failure, on stderr, while the tick goes on (real clock: the runs, made on the test clock's day, are due)."""
from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from engine.automation.journeys import runner
from engine.automation.journeys.effects import EFFECTS
from engine.models import JourneySend, JourneyStep
from scheduler.cli import main
from tests.builders import make_email, make_list, make_subscriber, user_actor
from tests.conftest import SENDER_DOMAINS_ENV
from tests.engine.test_journey_runner import enroll, journey


@pytest.fixture
def sendmill(database_url, tmp_path):
    def run(*args):
        env = {"SENDMILL_DATABASE_URL": database_url, "SENDMILL_SECRET_KEY": "test-secret",
               "SENDMILL_DATA_DIR": str(tmp_path), **SENDER_DOMAINS_ENV}
        return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    return run


@pytest.fixture
def three_runs(engine, user):
    """Three runs through AddTag, a YesNo (two take Yes) and SendEmail: 9 steps, 3 of them SendEmail."""
    list_id = make_list(engine, user, "Tick")
    ids = [make_subscriber(engine, list_id, f"{name}@example.com") for name in ("ann", "bob", "amy")]
    with engine.uow() as uow:
        tag_id = uow.subscriber_tags.create(user_actor(user), list_id, "ticked", "").id
        uow.commit()
    jid, _ = journey(engine, user, [
        {"action": "AddTag", "targettagid": tag_id, "published": True},
        {"action": "YesNo", "published": True, "criterialeft": "EmailAddress", "criteriaoperator": "begins with",
         "criteriaright": "a", "actions": {"yes": [], "no": []}},
        {"action": "SendEmail", "emailid": make_email(engine, user), "published": True}])
    enroll(engine, user, jid, list_id, ids)
    return jid


def counts(engine) -> tuple[int, int]:
    with engine.uow() as uow:
        return (uow.session.scalar(select(func.count()).select_from(JourneyStep)),
                uow.session.scalar(select(func.count()).select_from(JourneySend)))


def test_the_tick_counts_every_step_and_the_sendemail_ones(engine, sendmill, three_runs):
    result = sendmill("tick", "--send-budget", "0")
    assert result.exit_code == 0 and result.stderr == ""
    assert "journeys: 0 pulled, 9 steps (3 SendEmail), 0 held for a window\n" in result.stdout, result.stdout
    assert counts(engine) == (9, 3)
    idle = sendmill("tick", "--send-budget", "0")
    assert "journeys" not in idle.output


def test_a_pass_stopped_half_way_reports_the_steps_it_committed(engine, sendmill, three_runs, monkeypatch):
    def refused(*args):
        raise RuntimeError("the ledger refused the batch")

    monkeypatch.setitem(EFFECTS, "SendEmail", refused)
    stopped = sendmill("tick", "--send-budget", "0")
    assert stopped.exit_code == 0                              # the tick goes on to its other work
    assert "journeys" not in stopped.stdout
    assert stopped.stderr == ("journeys: pass stopped after 6 steps (0 SendEmail), 0 held for a window: "
                              "RuntimeError: the ledger refused the batch (those steps are done; the rest is "
                              "retried on the next tick)\n")
    assert counts(engine) == (6, 0)

    monkeypatch.undo()
    again = sendmill("tick", "--send-budget", "0")
    assert "journeys: 0 pulled, 3 steps (3 SendEmail), 0 held for a window\n" in again.stdout, again.output
    assert counts(engine) == (9, 3)


def test_a_batch_whose_commit_fails_is_not_counted(engine, three_runs, clock, monkeypatch):
    """The failure comes after the step counted its rows (at the commit): the summary drops them again."""
    from engine.uow import UnitOfWork

    commit, commits = UnitOfWork.commit, []

    def third_fails(self):
        commits.append(1)
        if len(commits) == 3:     # AddTag, YesNo, then the SendEmail batch
            raise RuntimeError("connection lost at commit")
        commit(self)

    monkeypatch.setattr(UnitOfWork, "commit", third_fails)
    summary = runner.PassSummary()
    with pytest.raises(RuntimeError):
        runner.run_pass(engine, clock(), summary=summary)
    assert (summary.steps, summary.sends, sorted(summary.by_action.values())) == (6, 0, [3, 3])
    assert counts(engine) == (6, 0)
