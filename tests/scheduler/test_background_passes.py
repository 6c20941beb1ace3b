"""`sendmill tick` runs queued subscriber imports and, with a relay, mails the automated reports that are
due (real clock, real database URL, the relay a loopback aiosmtpd server)."""
from __future__ import annotations

import re

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner

from engine.audience.import_uploads import JobOptions
from engine.models import AutomatedReportRun, ImportJob, Subscriber
from scheduler.cli import main
from tests.conftest import SENDER_DOMAINS_ENV
from tests.e2e.support import Recorder, free_port


@pytest.fixture
def sendmill(database_url, tmp_path):
    def run(*args, **env):
        env = {"SENDMILL_DATABASE_URL": database_url, "SENDMILL_SECRET_KEY": "test-secret",
               "SENDMILL_DATA_DIR": str(tmp_path), **SENDER_DOMAINS_ENV, **env}
        return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    return run


def test_the_tick_imports_a_queued_job(world, engine, sendmill):
    owner = world.owner()
    list_id = world.list_with(owner)
    with engine.uow() as uow:
        data = "EmailAddress\n" + "".join(f"p{i}@example.com\n" for i in range(1500))
        job, _ = uow.import_jobs.upload(owner.actor, list_id, data, JobOptions(), mapped=True)
        uow.commit()
    result = sendmill("tick", "--send-budget", "0")
    assert result.exit_code == 0
    assert re.search(r"^imports: 1 job\(s\) worked on, 1 finished, 1500 rows$", result.output, re.M), result.output
    with engine.uow() as uow:
        assert uow.session.get(ImportJob, job.id).status == "Completed"
        assert uow.session.query(Subscriber).filter_by(list_id=list_id).count() == 1500


def test_the_tick_mails_due_reports_through_the_relay_once(world, engine, sendmill):
    owner = world.owner()
    with engine.uow() as uow:   # created on the test clock's day, long before the real clock's today
        uow.automated_reports.create(owner.actor, {"name": "Daily", "frequency": "daily", "filter_type": "all",
                                                   "recipients": ["boss@example.com"]})
        uow.commit()
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port(), ready_timeout=60)
    controller.start()
    try:
        relay = {"SENDMILL_SMTP_URL": f"smtp://127.0.0.1:{controller.port}"}
        first = sendmill("tick", "--send-budget", "1", **relay)
        second = sendmill("tick", "--send-budget", "1", **relay)
    finally:
        controller.stop()
    assert first.exit_code == 0 and second.exit_code == 0
    assert "automated reports: 1 mailed, 0 failed, 0 skipped" in first.output, first.output
    assert "automated reports" not in second.output
    assert recorder.recipients() == ["boss@example.com"]
    with engine.uow() as uow:
        assert [r.state for r in uow.session.query(AutomatedReportRun)] == ["sent"]
