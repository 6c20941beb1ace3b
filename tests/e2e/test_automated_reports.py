"""An automated report through a real SMTP server on loopback: the tick's pass mails the summary, and
what arrives is the HTML table of the period's campaigns."""
from __future__ import annotations

import email
import email.policy
from datetime import timedelta

from engine.campaigns.report_mail import send_due_reports
from engine.models import AutomatedReportRun
from tests.e2e.support import loopback_relay, make_owner


def test_the_report_arrives_at_the_relay_as_an_html_summary(engine, clock):
    from tests.protocol.test_automated_reports import make_sent_campaign

    owner = make_owner(engine, "reporter")
    account = type("Account", (), {"id": owner.id})()
    make_sent_campaign(engine, account, "Black Friday", clock() + timedelta(hours=3), sent=4)
    with engine.uow() as uow:
        report = uow.automated_reports.create(owner.actor, {
            "name": "Daily figures", "frequency": "daily", "filter_type": "all",
            "recipients": ["boss@example.com", "team@example.com"]})
        uow.commit()
        report_id = report.id
    clock.advance(days=1)
    with loopback_relay(engine) as relay:
        summary = send_due_reports(engine)
        again = send_due_reports(engine)
    assert (summary.sent, again.sent) == (1, 0)
    assert sorted(rcpt for _, rcpts, _ in relay.messages for rcpt in rcpts) == ["boss@example.com", "team@example.com"]
    mail_from, _, data = relay.messages[0]
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert mail_from.startswith("no-reply@") and message["Subject"] == "Daily figures: campaign report for 2026-11-23"
    html = message.get_body(("html",)).get_content()
    assert "<td>Black Friday</td><td>4</td><td>4</td>" in html       # sent, delivered
    assert "Black Friday | 4 | 4 | 0 | 0 | 0 | 0" in message.get_body(("plain",)).get_content()
    with engine.uow() as uow:
        assert [r.state for r in uow.session.query(AutomatedReportRun).filter_by(report_id=report_id)] == ["sent"]
