"""Every way a subscriber joins or leaves a list starts the ListSubscription / ListUnsubscription journeys
(every database): imports (Subscribers.Import, background import jobs, `sendmill import`) when their trigger
option says so, one INSERT … SELECT per batch; the lists' opt-in / opt-out behaviours. And an account
without such automations looks for none when someone subscribes (users.list_triggers, kept on Enable /
Disable / Delete / Update of journeys and autoresponders)."""
from __future__ import annotations

import json
import re
from contextlib import contextmanager

import pytest
from click.testing import CliRunner
from sqlalchemy import event, select, update

from engine.automation import list_triggers
from engine.models import AutoResponderSend, JourneyEnrollment, Subscriber, SubscriberList, User
from tests.builders import load_row, make_email, make_list, make_subscriber, user_actor


def journey(api, user, trigger: str, **settings) -> int:
    journey_id = api("Journey.Create", user.session, Name=trigger, Trigger=trigger, **settings)["JourneyID"]
    api("Journey.Actions.Update", user.session, JourneyID=journey_id,
        Actions=json.dumps([{"Action": "Wait", "WaitAmount": 1, "Published": True}]))
    assert api("Journey.Enable", user.session, JourneyID=journey_id)["Success"] is True
    return journey_id


def enrolled(engine, journey_id: int) -> list[str]:
    with engine.uow() as uow:
        return sorted(uow.session.scalars(select(Subscriber.email_address).join(
            JourneyEnrollment, JourneyEnrollment.subscriber_id == Subscriber.id).where(
            JourneyEnrollment.journey_id == journey_id)))


@contextmanager
def statements(engine):
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(" ".join(statement.split()))

    event.listen(engine.db, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.db, "before_cursor_execute", record)


def enrolling(seen: list[str]) -> int:
    return sum(1 for s in seen if re.match(r"INSERT (IGNORE )?INTO journey_enrollments", s))


def flag(engine, user) -> bool:
    return load_row(engine, User, user.id).list_triggers


# --- imports ------------------------------------------------------------------------------------------
def test_subscribers_import_enrolls_when_asked_one_insert_per_batch(api, user, engine, list_id):
    joined = journey(api, user, "ListSubscription", Trigger_ListID=list_id)
    quiet = api("Subscribers.Import", user.session, ListID=list_id, ImportData="Email\nold@example.com\n")
    assert quiet["TotalImported"] == 1 and enrolled(engine, joined) == []
    with statements(engine) as seen:
        answer = api("Subscribers.Import", user.session, ListID=list_id, TriggerAutoResponders="true",
                     ImportData="Email\na@example.com\nb@example.com\nc@example.com\n")
    assert answer["TotalImported"] == 3
    assert enrolled(engine, joined) == ["a@example.com", "b@example.com", "c@example.com"]
    assert enrolling(seen) == 1      # the batch's three rows: one INSERT … SELECT


def test_an_import_job_enrolls_batch_by_batch_in_each_batchs_transaction(api, user, engine, list_id):
    from engine.audience.import_runner import run_import_jobs

    joined = journey(api, user, "ListSubscription")
    step1 = api("Subscribers.Import", user.session, ImportStep=1, ListID=list_id, ImportType="Copy",
                ImportData="email\n" + "".join(f"j{n}@example.com\n" for n in range(5)))
    step2 = api("Subscribers.Import", user.session, ImportStep=2, ImportID=step1["ImportID"],
                **{"MappedFields[FIELD1]": "EmailAddress"})
    assert step2["Success"] is True and step2["TotalImported"] == 5, step2
    assert enrolled(engine, joined) == []                     # step 1 did not ask for the trigger actions
    # A job that asked, mapped and left to the worker, which runs it in batches of 2: one statement each.
    step1 = api("Subscribers.Import", user.session, ImportStep=1, ListID=list_id, ImportType="Copy",
                TriggerActions="true", ImportData="email\n" + "".join(f"k{n}@example.com\n" for n in range(5)))
    with engine.uow() as uow:
        uow.import_jobs.map_fields(user_actor(user), step1["ImportID"], {"FIELD1": "EmailAddress"})
        uow.commit()
    with statements(engine) as seen:
        assert run_import_jobs(engine, budget_seconds=60, batch_size=2).jobs == 1
    assert enrolled(engine, joined) == [f"k{n}@example.com" for n in range(5)]
    assert enrolling(seen) == 3


@pytest.fixture
def cli(engine, monkeypatch):
    import scheduler.cli as module

    monkeypatch.setattr(module.common, "open_engine", lambda: engine)
    return lambda *args: CliRunner().invoke(module.main, ["import", *args])


def test_sendmill_import_enrolls_only_with_trigger_actions(cli, api, user, engine, list_id, tmp_path):
    joined = journey(api, user, "ListSubscription", Trigger_ListID=list_id)
    path = tmp_path / "people.csv"
    path.write_text("EmailAddress\nquiet@example.com\n", encoding="utf-8")
    assert cli(str(path), "--list", str(list_id), "--user", "alice").exit_code == 0
    path.write_text("EmailAddress\nloud@example.com\n", encoding="utf-8")
    result = cli(str(path), "--list", str(list_id), "--user", "alice", "--trigger-actions")
    assert result.exit_code == 0, result.output
    assert enrolled(engine, joined) == ["loud@example.com"]


# --- the lists' behaviours ----------------------------------------------------------------------------
def test_opt_in_and_opt_out_behaviours_start_the_other_lists_journeys(api, user, engine):
    shop, vip, alumni, news = (make_list(engine, user, n) for n in ("Shop", "VIP", "Alumni", "News"))
    with engine.uow() as uow:
        uow.session.execute(update(SubscriberList).where(SubscriberList.id == shop).values(
            opt_in_subscribe_to_list_id=vip, opt_out_subscribe_to_list_id=alumni, opt_out_scope="All lists"))
        uow.commit()
    make_subscriber(engine, news, "ann@example.com")
    joined_vip = journey(api, user, "ListSubscription", Trigger_ListID=vip)
    joined_alumni = journey(api, user, "ListSubscription", Trigger_ListID=alumni)
    left_news = journey(api, user, "ListUnsubscription", Trigger_ListID=news)
    left_any = journey(api, user, "ListUnsubscription")
    answer = api("Subscriber.Subscribe", user.session, ListID=shop, EmailAddress="ann@example.com",
                 IPAddress="192.0.2.1")
    assert answer["Success"] is True, answer
    assert enrolled(engine, joined_vip) == ["ann@example.com"]     # added to VIP by Shop's opt-in behaviour
    assert api("Subscriber.Unsubscribe", user.session, ListID=shop, SubscriberID=answer["SubscriberID"],
               IPAddress="192.0.2.1")["Success"] is True
    assert enrolled(engine, joined_alumni) == ["ann@example.com"]  # added to Alumni by the opt-out behaviour
    assert enrolled(engine, left_news) == ["ann@example.com"]      # taken off News ("All lists")
    # Shop, VIP and News rows left: the any-list journey took each of them.
    with engine.uow() as uow:
        lists = sorted(uow.session.scalars(select(JourneyEnrollment.list_id).where(
            JourneyEnrollment.journey_id == left_any)))
    assert lists == sorted([shop, vip, news])


# --- accounts without list-triggered automations ------------------------------------------------------
def automation_reads(seen: list[str]) -> list[str]:
    return [s for s in seen if s.startswith("SELECT") and re.search(r"FROM (journeys|autoresponders)\b", s)]


def test_a_subscription_in_an_account_without_automations_looks_for_none(api, user, engine, list_id):
    assert flag(engine, user) is False
    with statements(engine) as seen:
        answer = api("Subscriber.Subscribe", user.session, ListID=list_id, EmailAddress="a@example.com",
                     IPAddress="192.0.2.1")
        assert answer["Success"] is True
        assert api("Subscriber.Unsubscribe", user.session, ListID=list_id, SubscriberID=answer["SubscriberID"],
                   IPAddress="192.0.2.1")["Success"] is True
    assert automation_reads(seen) == []


def test_the_flag_follows_enable_disable_update_and_delete(api, user, other_user, engine, list_id):
    tagged = journey(api, user, "Manual")
    assert flag(engine, user) is False                       # a Manual journey: nothing a list event starts
    joined = journey(api, user, "ListSubscription", Trigger_ListID=list_id)
    assert flag(engine, user) is True and flag(engine, other_user) is False
    with statements(engine) as seen:
        answer = api("Subscriber.Subscribe", user.session, ListID=list_id, EmailAddress="b@example.com",
                     IPAddress="192.0.2.1")
    assert answer["Success"] is True
    assert automation_reads(seen) and enrolled(engine, joined) == ["b@example.com"]
    assert api("Journey.Disable", user.session, JourneyID=joined)["Success"] is True
    assert flag(engine, user) is False
    assert api("Journey.Enable", user.session, JourneyID=joined)["Success"] is True and flag(engine, user) is True
    assert api("Journey.Update", user.session, JourneyID=joined, Trigger="Manual")["Success"] is True
    assert flag(engine, user) is False                       # its trigger changed while Enabled
    assert api("Journey.Update", user.session, JourneyID=tagged, Trigger="ListUnsubscription")["Success"] is True
    assert flag(engine, user) is True
    assert api("Journey.Delete", user.session, JourneyID=tagged)["Success"] is True
    assert flag(engine, user) is False


def test_the_flag_follows_autoresponders(api, user, engine, list_id, clock):
    email_id = make_email(engine, user, subject="Welcome", from_email="shop@sender.example", html_content="<p>Hi</p>")
    ar = api("AutoResponder.Create", user.session, SubscriberListID=list_id, AutoResponderName="Welcome",
             EmailID=email_id, TriggerTimeType="Immediately", AutoResponderTriggerType="OnSubscription")
    assert ar["Success"] is True, ar
    assert flag(engine, user) is True
    api("Subscriber.Subscribe", user.session, ListID=list_id, EmailAddress="c@example.com", IPAddress="192.0.2.1")
    with engine.uow() as uow:
        assert uow.session.scalars(select(AutoResponderSend.email_address)).all() == ["c@example.com"]
    assert api("AutoResponder.Update", user.session, AutoResponderID=ar["AutoResponderID"],
               Status="Disabled")["Success"] is True
    assert flag(engine, user) is False
    assert api("AutoResponder.Update", user.session, AutoResponderID=ar["AutoResponderID"],
               Status="Enabled")["Success"] is True
    assert flag(engine, user) is True
    assert api("AutoResponders.Delete", user.session, AutoResponders=str(ar["AutoResponderID"]))["Success"] is True
    assert flag(engine, user) is False


def test_refresh_recomputes_from_what_is_stored(engine, user, list_id):
    with engine.uow() as uow:
        uow.session.get(User, user.id).list_triggers = True    # stale: nothing enabled
        uow.commit()
    with engine.uow() as uow:
        assert list_triggers.listening(uow.session, list_id) is True
        list_triggers.refresh(uow.session, [user.id])
        assert list_triggers.listening(uow.session, list_id) is False   # the loaded row does not keep it
        uow.commit()
    assert flag(engine, user) is False
