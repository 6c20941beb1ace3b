"""EventService: bounces, complaints and opt-outs recorded from parsed reports, through the engine."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.bounces.origin import verp_decoder
from engine.bounces import parse
from engine.tracking.activity import SOFT_BOUNCE_LIMIT, TrackingTargetGone
from engine.models import Campaign, Subscriber, Suppression
from engine.models.activity import SubscriberActivity
from engine.models.sending import Delivery
from engine.tracking.tokens import Kind
from tests.builders import load_row, make_list, make_subscriber
from tests.protocol.test_tracking import dsn, sent_campaign


def arf(verp: str, address: str, report_id: str = "<fbl1@fbl.example.net>") -> bytes:
    return (f"From: fbl@fbl.example.net\r\nTo: {verp}\r\nSubject: complaint\r\nMessage-ID: {report_id}\r\n"
            'MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=feedback-report; boundary="f"\r\n\r\n'
            "--f\r\nContent-Type: text/plain\r\n\r\nThis is an abuse report.\r\n"
            "--f\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\nVersion: 1\r\n"
            f"Original-Mail-From: <{verp}>\r\nOriginal-Rcpt-To: <{address}>\r\n\r\n"
            "--f\r\nContent-Type: text/rfc822-headers\r\n\r\n"
            f"Return-Path: <{verp}>\r\nFrom: news@example.com\r\nTo: {address}\r\nSubject: News\r\n\r\n"
            "--f--\r\n").encode()


@pytest.fixture
def sent(engine, api, user):
    return sent_campaign(engine, api, user)


def record(engine, data: bytes, recipients=()) -> tuple[int, int]:
    with engine.uow() as uow:
        outcome = uow.events.record_message(data, recipients)
        uow.commit()
        return outcome


def campaign(engine, sent) -> Campaign:
    return load_row(engine, Campaign, sent.campaign_id)


def suppressions(engine) -> list[tuple[str, str]]:
    with engine.uow() as uow:
        return [(s.email_normalized, s.source) for s in uow.session.scalars(
            select(Suppression).where(Suppression.list_id.is_(None)).order_by(Suppression.id))]


def test_the_report_parses_to_a_signed_event(engine, sent):
    events = parse(dsn(sent.verp(sent.alice), "alice@example.org"), recipients=[sent.verp(sent.alice)],
                   decode_verp=verp_decoder(sent.signer))
    assert [(e.kind, e.matched_by, e.token.subscriber_id) for e in events] == [("hard", "token", sent.alice)]
    with engine.uow() as uow:
        assert uow.events.record_bounce(events[0]) is True
        uow.commit()
    assert load_row(engine, Subscriber, sent.alice).bounce_type == "Hard"


def test_hard_bounce_suppresses_at_once_and_marks_the_ledger(engine, sent):
    assert record(engine, dsn(sent.verp(sent.alice), "alice@example.org"), [sent.verp(sent.alice)]) == (1, 1)
    assert suppressions(engine) == [("alice@example.org", "Hard Bounced")]
    with engine.uow() as uow:
        notes = dict(uow.session.execute(select(Delivery.subscriber_id, Delivery.last_error)).all())
    assert notes[sent.alice].startswith("hard bounce 5.1.1") and notes[sent.bob] == ""
    assert campaign(engine, sent).total_hard_bounces == 1
    assert load_row(engine, Subscriber, sent.bob).bounce_type == "Not Bounced"


def test_hard_bounce_marks_the_address_on_every_list_of_the_owner_only(engine, api, user, other_user, sent):
    second = make_list(engine, user, "Second")
    twin = make_subscriber(engine, second, "Alice@Example.org")
    strangers = make_list(engine, other_user, "Theirs")
    stranger = make_subscriber(engine, strangers, "alice@example.org")
    record(engine, dsn(sent.verp(sent.alice), "alice@example.org"), [sent.verp(sent.alice)])
    assert load_row(engine, Subscriber, twin).bounce_type == "Hard"
    assert load_row(engine, Subscriber, stranger).bounce_type == "Not Bounced"


def test_soft_bounces_count_toward_the_threshold(engine, sent):
    verp = sent.verp(sent.bob)
    for n in range(1, SOFT_BOUNCE_LIMIT):
        record(engine, dsn(verp, "bob@example.org", "4.2.2", f"<soft{n}@mx>"), [verp])
        row = load_row(engine, Subscriber, sent.bob)
        assert (row.bounce_type, row.soft_bounce_count) == ("Soft", n)
        assert suppressions(engine) == []
    record(engine, dsn(verp, "bob@example.org", "4.2.2", "<soft-last@mx>"), [verp])
    row = load_row(engine, Subscriber, sent.bob)
    assert (row.bounce_type, row.soft_bounce_count) == ("Hard", SOFT_BOUNCE_LIMIT)
    assert suppressions(engine) == [("bob@example.org", "Hard Bounced")]
    c = campaign(engine, sent)
    assert (c.total_soft_bounces, c.total_hard_bounces) == (SOFT_BOUNCE_LIMIT, 0)


def test_the_same_soft_report_twice_counts_once(engine, sent):
    verp = sent.verp(sent.bob)
    assert record(engine, dsn(verp, "bob@example.org", "4.2.2", "<same@mx>"), [verp]) == (1, 1)
    assert record(engine, dsn(verp, "bob@example.org", "4.2.2", "<same@mx>"), [verp]) == (1, 0)
    assert load_row(engine, Subscriber, sent.bob).soft_bounce_count == 1
    assert campaign(engine, sent).total_soft_bounces == 1


def test_complaint_suppresses_and_counts_once_per_subscriber(engine, clock, sent):
    verp = sent.verp(sent.bob)
    assert record(engine, arf(verp, "bob@example.org"), [verp]) == (1, 1)
    row = load_row(engine, Subscriber, sent.bob)
    assert row.complained_at == clock()
    assert suppressions(engine) == [("bob@example.org", "SPAM complaint")]
    record(engine, arf(verp, "bob@example.org"), [verp])                        # the same report again
    record(engine, arf(verp, "bob@example.org", "<fbl2@fbl.example.net>"), [verp])  # a second report
    assert campaign(engine, sent).total_complaints == 1
    assert suppressions(engine) == [("bob@example.org", "SPAM complaint")]


def with_original(report: bytes, message_id: str) -> bytes:
    """The DSN with the returned original's headers (no VERP token in them)."""
    original = (f"--b1\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: news@example.com\r\n"
                f"Message-ID: {message_id}\r\nSubject: News\r\n\r\n--b1--\r\n").encode()
    return report.replace(b"--b1--\r\n", original)


def test_an_unsigned_message_id_counts_only_when_it_names_the_same_address(engine, sent):
    message_id = f"<{sent.instance_id}.{sent.bob}.0123456789abcdef@x>"
    genuine = with_original(dsn("postmaster@example.com", "bob@example.org"), message_id)
    [event] = parse(genuine)
    assert (event.matched_by, event.message_ref) == ("message-id", (sent.instance_id, sent.bob))
    # Claims to be about bob's message but names alice: someone wrote it, nothing is done.
    forged = with_original(dsn("postmaster@example.com", "alice@example.org", report_id="<f@x>"),
                           message_id)
    assert record(engine, forged) == (1, 0)
    assert load_row(engine, Subscriber, sent.alice).bounce_type == "Not Bounced"
    assert load_row(engine, Subscriber, sent.bob).bounce_type == "Not Bounced"
    assert record(engine, genuine) == (1, 1)
    assert load_row(engine, Subscriber, sent.bob).bounce_type == "Hard"


def test_an_address_only_report_applies_to_the_latest_message_sent_there(engine, sent):
    assert record(engine, dsn("postmaster@example.com", "alice@example.org")) == (1, 1)
    assert load_row(engine, Subscriber, sent.alice).bounce_type == "Hard"
    assert record(engine, dsn("postmaster@example.com", "nobody@example.org", report_id="<x@y>")) == (1, 0)


def test_mail_to_the_unsubscribe_address_opts_out(engine, sent):
    token = sent.signer.sign_local(Kind.UNSUBSCRIBE, instance_id=sent.instance_id, subscriber_id=sent.alice,
                                   nonce=sent.nonce)
    address = f"unsubscribe+{token}@bounces.sendmill.test"
    assert record(engine, b"From: alice@example.org\r\nSubject: unsubscribe\r\n\r\n", [address]) == (1, 1)
    assert load_row(engine, Subscriber, sent.alice).subscription_status == "Unsubscribed"
    assert record(engine, b"From: alice@example.org\r\nSubject: unsubscribe\r\n\r\n", [address]) == (1, 0)
    assert campaign(engine, sent).total_unsubscriptions == 1


def test_nothing_is_written_unless_the_caller_commits(engine, sent):
    with engine.uow() as uow:
        uow.events.record_open(sent.instance_id, sent.alice, nonce=sent.nonce)
        uow.events.record_click(sent.instance_id, sent.alice, 0, nonce=sent.nonce)
        uow.events.unsubscribe(sent.instance_id, sent.alice, "203.0.113.1", nonce=sent.nonce)
    c = campaign(engine, sent)
    assert (c.total_opens, c.total_clicks, c.total_unsubscriptions) == (0, 0, 0)
    with engine.uow() as uow:
        assert uow.session.scalar(select(SubscriberActivity.id).limit(1)) is None


def test_ids_that_do_not_belong_together_are_gone(engine, api, user, other_user, sent):
    foreign = make_subscriber(engine, make_list(engine, other_user, "Theirs"), "eve@example.org")
    with engine.uow() as uow:
        for instance_id, subscriber_id in ((sent.instance_id, foreign), (0, sent.alice),
                                           (sent.instance_id + 99, sent.alice), (sent.instance_id, 0)):
            with pytest.raises(TrackingTargetGone):
                uow.events.record_open(instance_id, subscriber_id, nonce=sent.nonce)
