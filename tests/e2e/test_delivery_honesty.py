"""Delivery that says what happened: what a killed worker leaves in doubt, and how every surface reports it."""
from __future__ import annotations

from collections import Counter

from click.testing import CliRunner
from sqlalchemy import func, select

from engine.delivery.relays import parse_relays
from engine.delivery.transport import SmtpPool
from engine.models import Delivery
from scheduler.tick import tick
from tests.e2e.support import make_campaign, make_list, make_owner
from tests.e2e.test_send import SMALL, pool, runner, started, states  # noqa: F401 - pool is a fixture
from tests.protocol.test_tracking import dsn


class WorkerKilled(BaseException):
    """kill -9: nothing after this point runs, nothing uncommitted is kept."""


class KilledWhileItsFirstRoundIsOut:
    """The relay pool, but the worker dies as soon as it waits for its first round's replies."""

    def __init__(self, pool: SmtpPool):
        self.pool = pool

    def start_many(self, envelopes):
        sending = self.pool.start_many(envelopes)

        def killed(*_args, **_kwargs):
            raise WorkerKilled()
        sending.wait = killed
        return sending


def test_a_killed_worker_has_handed_over_no_more_messages_than_it_had_connections(engine, clock, smtp):
    """A round of 6 on a relay allowing 2 connections: the 4 messages waiting for a connection were never
    handed over, so they go back to pending instead of becoming unknown (the old runner marked all 6)."""
    campaign_id = started(engine, clock, 120)
    dying = SmtpPool(parse_relays(f"{smtp.url}?max_connections=2"))
    try:
        try:
            runner(engine, KilledWhileItsFirstRoundIsOut(dying), clock, concurrency=6, batch_size=30).run_once(60)
            raise AssertionError("the worker was not killed")
        except WorkerKilled:
            pass
        assert dying.status()[0]["open"] <= 2
    finally:
        dying.close()
    with engine.uow() as uow:
        handed_over = uow.session.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.state == "claimed", Delivery.message_id != ""))
        claimed = uow.session.scalar(select(func.count()).select_from(Delivery).where(Delivery.state == "claimed"))
    assert 1 <= handed_over <= 2 and claimed == 30

    clock.advance(minutes=6)                                   # the dead worker's lease runs out
    with SmtpPool(parse_relays(f"{smtp.url}?max_connections=2")) as pool:
        rest = runner(engine, pool, clock, worker_id="next", concurrency=6).run_once(60)
    assert rest.unknown == handed_over and rest.sent == len(SMALL) - handed_over
    assert max(Counter(smtp.recipients()).values()) == 1       # nobody got a second copy
    assert Counter(states(engine, campaign_id).values()) == {"sent": len(SMALL) - handed_over,
                                                              "unknown": handed_over}


def test_total_delivered_of_campaign_get_agrees_with_the_statistics_after_a_real_send(engine, clock, smtp, pool,
                                                                                      api):
    owner = make_owner(engine, "honest")
    addresses = [f"h{i}@example.com" for i in range(6)]
    smtp.reject["h5@example.com"] = "550 5.1.1 No such user"
    campaign_id = make_campaign(engine, owner, [make_list(engine, owner, addresses, "Honest")])
    tick(engine, clock())
    assert runner(engine, pool, clock).run_once(30).sent == 5
    verp = next(mail_from for mail_from, rcpts, _ in smtp.messages if rcpts == ["h0@example.com"])
    with engine.uow() as uow:                       # h0's message comes back: accepted, then bounced
        assert uow.events.record_message(dsn(verp, "h0@example.com"), [verp]) == (1, 1)
        uow.commit()

    session = api("User.Login", Username="honest", Password="pass-word-1")["SessionID"]
    campaign = api("Campaign.Get", session, CampaignID=campaign_id, RetrieveStatistics="true")["Campaign"]
    email = api("Campaign.Statistics.List", session, CampaignIDs=str(campaign_id))["Statistics"][0]["Email"]
    assert email["Delivered"] == campaign["TotalDelivered"] == 4              # 0 before
    assert campaign["Statistics"]["DeliveryStatistics"] == {"TotalDelivered": 4, "TotalUnknown": 0}
    assert (campaign["TotalSent"], campaign["TotalFailed"], campaign["TotalHardBounces"]) == (5, 1, 1)
    listed = api("Campaigns.Get", session)["Campaigns"]
    assert [row["TotalDelivered"] for row in listed] == ["4"]


def test_sendmill_unknown_lists_the_deliveries_a_killed_worker_left_in_doubt(engine, clock, smtp, monkeypatch):
    import scheduler.cli as cli

    campaign_id = started(engine, clock, 120)
    dying = SmtpPool(parse_relays(f"{smtp.url}?max_connections=2"))
    try:
        runner(engine, KilledWhileItsFirstRoundIsOut(dying), clock, concurrency=2, batch_size=10).run_once(60)
    except WorkerKilled:
        pass
    finally:
        dying.close()
    clock.advance(minutes=6)
    with SmtpPool(parse_relays(smtp.url)) as pool:
        assert runner(engine, pool, clock, worker_id="next").run_once(60).unknown == 2
    with engine.uow() as uow:
        in_doubt = uow.session.execute(select(Delivery.email_normalized, Delivery.message_id).where(
            Delivery.state == "unknown").order_by(Delivery.id)).all()

    monkeypatch.setattr(cli.common, "open_engine", lambda: engine)
    result = CliRunner().invoke(cli.main, ["unknown", str(campaign_id)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f'campaign {campaign_id} "November news" (Sending): 2 deliveries in doubt'
    for (address, message_id), line in zip(in_doubt, lines[1:]):
        assert line.startswith(f"  {address}  subscriber ") and f"<{message_id}>" in line
        assert "stopped before recording the relay's answer" in line
    short = CliRunner().invoke(cli.main, ["unknown", str(campaign_id), "--limit", "1"])
    assert short.output.splitlines()[2:] == ["  … and 1 more (--limit)"]
    missing = CliRunner().invoke(cli.main, ["unknown", "999999"])
    assert missing.exit_code == 1 and "campaign 999999 does not exist" in missing.output
