"""User.Snapshot through HTTP: the month's figures from stored rows, the user's own account only, every code."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from engine.models import Delivery, SendInstance
from protocol.commands import user_snapshot as commands
from tests.builders import CodeRecorder, assert_codes_reached, make_list, make_subscriber, set_list
from tests.helpers import stored_state

SEEN: dict = {}
NEVER_EMITTED: dict = {}


@pytest.fixture
def api(api):
    return CodeRecorder(api, SEEN)


def at(year, month, day):
    return datetime(year, month, day, 12, tzinfo=timezone.utc)


def sent_instance(engine, campaign_id: int, started, sent_days: list) -> None:
    """A send of the campaign started at `started` with one delivered message per entry of `sent_days`."""
    with engine.uow() as uow:
        number = 1 + uow.session.query(SendInstance).filter_by(campaign_id=campaign_id).count()
        instance = SendInstance(campaign_id=campaign_id, number=number, scheduled_for=started, started_at=started,
                                state="done")
        uow.session.add(instance)
        uow.session.flush()
        for i, when in enumerate(sent_days):
            uow.session.add(Delivery(instance_id=instance.id, subscriber_id=i + 1, email_normalized=f"x{number}-{i}@e.com",
                                     state="sent", sent_at=when))
        uow.commit()


@pytest.fixture
def history(api, engine, user, other_user):
    november, december = make_list(engine, user, "Nov"), make_list(engine, user, "Dec")
    set_list(engine, november, created_at=at(2024, 11, 2))
    set_list(engine, december, created_at=at(2024, 12, 20))
    for i in range(3):
        make_subscriber(engine, november, f"n{i}@example.com", subscription_date=at(2024, 11, 5))
    make_subscriber(engine, december, "d@example.com", subscription_date=at(2024, 12, 21))
    make_subscriber(engine, november, "jan@example.com", subscription_date=at(2025, 1, 3))
    campaign = api("Campaign.Create", user.session, CampaignName="News")["CampaignID"]
    sent_instance(engine, campaign, at(2024, 11, 30), [at(2024, 11, 30), at(2024, 12, 1)])
    sent_instance(engine, campaign, at(2024, 12, 15), [at(2024, 12, 15)] * 3)
    theirs = api("Campaign.Create", other_user.session, CampaignName="Theirs")["CampaignID"]
    sent_instance(engine, theirs, at(2024, 12, 15), [at(2024, 12, 15)] * 5)


def test_a_user_gets_their_own_month(api, user, engine, history):
    before = stored_state(engine)
    answer = api("User.Snapshot", user.session, Month="2024-12")
    assert answer == {"Success": True, "ErrorCode": 0, "CampaignsSent": 1, "EmailsSent": 4, "Subscribers": 4,
                      "Lists": 2}
    assert api("User.Snapshot", user.session, Month="2024-11") == {
        "Success": True, "ErrorCode": 0, "CampaignsSent": 1, "EmailsSent": 1, "Subscribers": 3, "Lists": 1}
    assert api("User.Snapshot", user.session, Month="2024-10")["Lists"] == 0
    assert api("User.Snapshot", user.session, Month="2024-12", UserID=user.id)["EmailsSent"] == 4
    assert stored_state(engine) == before


def test_an_administrator_names_the_account(api, admin, user, other_user, engine, history):
    assert api("User.Snapshot", admin.session, Month="2024-12", UserID=other_user.id)["EmailsSent"] == 5
    with engine.uow() as uow:
        from engine.models import User
        address = uow.session.get(User, user.id).email_address
    assert api("User.Snapshot", admin.session, Month="2024-12", EmailAddress=address.upper())["EmailsSent"] == 4
    answer = api("User.Snapshot", admin.session, Month="2024-12")
    assert answer["ErrorCode"] == [1, 2] and len(answer["ErrorText"]) == 2
    SEEN.setdefault("User.Snapshot", set()).update(answer["ErrorCode"])   # the recorder keeps the first only
    assert api("User.Snapshot", admin.session, Month="2024-12", UserID=99999)["ErrorCode"] == [5]


def test_a_user_cannot_read_another_account(api, user, other_user, history):
    assert api("User.Snapshot", user.session, Month="2024-12", UserID=other_user.id)["ErrorCode"] == [5]
    assert api("User.Snapshot", user.session, Month="2024-12", EmailAddress="nobody@example.com")["ErrorCode"] == [5]


@pytest.mark.parametrize("month,code", [(None, 3), ("2024-13", 4), ("12-2024", 4), ("2024-1", 4), ("December", 4),
                                        ("9999-12", 4), ("1969-12", 4)])
def test_month_missing_or_malformed(api, user, month, code):
    params = {} if month is None else {"Month": month}
    assert api("User.Snapshot", user.session, **params)["ErrorCode"] == [code]


def test_snapshot_needs_credentials(api):
    assert api("User.Snapshot", "stale", Month="2024-12")["ErrorCode"] == 99998


def test_every_documented_code_is_reached(request):
    assert_codes_reached(request, SEEN, commands.COMMANDS, NEVER_EMITTED)
