"""Each console page's answer time with 100,000 subscribers and 100 campaigns (SQLite).

    .venv/bin/python bench/console.py [--subscribers N] [--campaigns C] [--repeat R]

Builds a scratch SQLite database in a temporary folder: one account, one list of N subscribers, C
campaigns to it (one Sent, with its ledger of N deliveries, N/5 opens and N/20 clicks over six hours;
one Ready, so its page counts the audience), two autoresponders, a journey (a Decision, then a Wait)
every subscriber entered: one step each at the Decision, 90% waiting at the Wait. It then signs in through the console
and times every page R times through the WSGI app (no network), printing the median and the goal side
by side (goal: under 200 ms each). It also posts two CSV files to the import form (one imported in the
request, one queued as an import job) and times the queued job's page and progress.json. Not part of
the tests.
"""
from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import insert, literal, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import bootstrap  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.db import Base, make_sa_engine  # noqa: E402
import engine.models  # noqa: E402,F401 - registers every table
from engine.models import (  # noqa: E402
    AutoResponder, Campaign, CampaignRecipient, Delivery, Email, SendInstance, Subscriber, SubscriberActivity,
    SubscriberList,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
GOAL_MS = 200.0
DOMAINS = ["gmail.com", "yahoo.com", "hotmail.com", "example.org", "mail.ru", "outlook.com"]
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
JOB_URL = re.compile(r'data-import-url="(/console/lists/\d+/imports/(\d+))/progress.json"')


def chunks(rows, size=20_000):
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def build(engine, subscribers: int, campaigns: int) -> dict:
    with engine.uow() as uow:
        user = uow.accounts.create_user(username="bench", password="bench-pass-1", email="bench@example.com")
        uow.session.flush()
        owner = user.id
        list_row = SubscriberList(owner_user_id=owner, name="Everyone", created_at=NOW)
        uow.session.add(list_row)
        uow.session.flush()
        list_id = list_row.id
        uow.commit()
    people = [{"list_id": list_id, "email_address": f"person{i}@{DOMAINS[i % len(DOMAINS)]}",
               "email_normalized": f"person{i}@{DOMAINS[i % len(DOMAINS)]}", "subscription_date": NOW,
               "subscription_status": "Subscribed" if i % 10 else "Unsubscribed"} for i in range(subscribers)]
    with engine.db.begin() as conn:
        for part in chunks(people):
            conn.execute(insert(Subscriber.__table__), part)
        email_id = conn.execute(insert(Email.__table__).values(
            owner_user_id=owner, email_name="Bench", subject="Hello", from_email="news@example.com",
            html_content="<p>Hi</p>", created_at=NOW, updated_at=NOW)).inserted_primary_key[0]
        ids = []
        for i in range(campaigns):
            status = "Sent" if i == 0 else "Ready" if i == 1 else ("Draft", "Sent", "Paused")[i % 3]
            ids.append(conn.execute(insert(Campaign.__table__).values(
                owner_user_id=owner, name=f"Campaign {i}", status=status, schedule_type="Immediate",
                email_id=email_id, created_at=NOW - timedelta(days=i), last_activity_at=NOW,
                send_process_started_on=NOW if status == "Sent" else None, total_sent=subscribers if i == 0 else 0,
                total_recipients=subscribers if i == 0 else 0)).inserted_primary_key[0])
            conn.execute(insert(CampaignRecipient.__table__).values(campaign_id=ids[-1], list_id=list_id))
        sent, ready = ids[0], ids[1]
        instance = conn.execute(insert(SendInstance.__table__).values(
            campaign_id=sent, number=1, scheduled_for=NOW, started_at=NOW, finished_at=NOW + timedelta(hours=1),
            state="done", total_recipients=subscribers)).inserted_primary_key[0]
        subscriber_ids = [row[0] for row in conn.execute(select(Subscriber.id, Subscriber.email_normalized)
                                                         .where(Subscriber.list_id == list_id))]
        emails = {row.id: row.email_normalized for row in conn.execute(
            select(Subscriber.id, Subscriber.email_normalized).where(Subscriber.list_id == list_id))}
        for part in chunks(subscriber_ids):
            conn.execute(insert(Delivery.__table__), [
                {"instance_id": instance, "subscriber_id": sid, "email_normalized": emails[sid],
                 "state": "sent" if sid % 50 else "failed", "sent_at": NOW} for sid in part])
        events = [{"subscriber_id": sid, "campaign_id": sent, "kind": "open", "link_url": "",
                   "occurred_at": NOW + timedelta(seconds=sid % 21_600)} for sid in subscriber_ids[::5]]
        events += [{"subscriber_id": sid, "campaign_id": sent, "kind": "click",
                    "link_url": f"https://example.com/link{sid % 7}",
                    "occurred_at": NOW + timedelta(seconds=sid % 21_600)} for sid in subscriber_ids[::20]]
        for part in chunks(events):
            conn.execute(insert(SubscriberActivity.__table__), part)
        for i in range(2):
            conn.execute(insert(AutoResponder.__table__).values(
                owner_user_id=owner, list_id=list_id, name=f"Welcome {i}", trigger_type="OnSubscription",
                created_at=NOW, updated_at=NOW))
    journey_id = add_journey(engine, owner, list_id)
    return {"list": list_id, "sent": sent, "ready": ready, "subscriber": subscriber_ids[0], "journey": journey_id}


def add_journey(engine, owner: int, list_id: int) -> int:
    """A journey every subscriber of the list entered: a step each at its Decision, the Subscribed ones
    waiting at its Wait (two INSERT … SELECT, as the runner would leave them)."""
    from engine.accounts.auth import Actor
    from engine.models import JourneyEnrollment, JourneyStep
    with engine.uow() as uow:
        actor = Actor("user", owner, "*")
        journey = uow.journeys.create(actor, {"name": "Onboarding", "trigger": "Manual"})
        uow.journeys.replace_actions(actor, journey.id, [
            {"action": "Decision", "published": True, "criteriaoperator": "and",
             "criteria": [[{"type": "fields", "field_id": "EmailAddress", "operator": "contains", "value": "1"}]],
             "actions": {"true": [{"action": "Debug", "published": True, "debugmessage": "t"}], "false": []}},
            {"action": "Wait", "waitamount": 3, "waitunit": "days", "published": True}])
        uow.commit()
        decision, _debug, wait = sorted(a.id for a in uow.journeys.actions(journey.id))
        journey_id = journey.id
    with engine.db.begin() as conn:
        s = Subscriber.__table__
        conn.execute(insert(JourneyEnrollment.__table__).from_select(
            ["journey_id", "subscriber_id", "list_id", "state", "current_action_id", "due_at", "step_seq",
             "created_at"],
            select(literal(journey_id), s.c.id, s.c.list_id, literal("active"), literal(wait),
                   literal(NOW + timedelta(days=3), JourneyEnrollment.due_at.type), literal(1),
                   literal(NOW, JourneyEnrollment.created_at.type))
            .where(s.c.list_id == list_id, s.c.subscription_status == "Subscribed")))
        e = JourneyEnrollment.__table__
        conn.execute(insert(JourneyStep.__table__).from_select(
            ["enrollment_id", "journey_id", "action_id", "step_seq", "subscriber_id", "outcome", "created_at"],
            select(e.c.id, literal(journey_id), literal(decision), literal(1), e.c.subscriber_id, literal("false"),
                   literal(NOW, JourneyStep.created_at.type))
            .where(e.c.journey_id == journey_id)))
    return journey_id


def sign_in(client) -> None:
    form = client.get("/console/login").get_data(as_text=True)
    answer = client.post("/console/login", data={"csrf_token": CSRF.search(form).group(1), "username": "bench",
                                                 "password": "bench-pass-1", "account_kind": "user"})
    assert answer.status_code == 303, answer.status_code


def post_import(client, list_id: int, rows: int, prefix: str) -> tuple[float, str]:
    """POST a CSV of `rows` new addresses to the import form: (milliseconds, the job's page address)."""
    import io

    form = client.get(f"/console/lists/{list_id}/import").get_data(as_text=True)
    body = ("Email\n" + "".join(f"{prefix}{i}@example.net\n" for i in range(rows))).encode()
    t0 = time.perf_counter()
    answer = client.post(f"/console/lists/{list_id}/import", content_type="multipart/form-data", data={
        "csrf_token": CSRF.search(form).group(1), "csv_file": (io.BytesIO(body), "bench.csv")})
    elapsed = (time.perf_counter() - t0) * 1000
    assert answer.status_code == 200, answer.status_code
    return elapsed, JOB_URL.search(answer.get_data(as_text=True)).group(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--campaigns", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    from protocol.app import create_app

    with tempfile.TemporaryDirectory() as folder:
        sa_engine = make_sa_engine(f"sqlite:///{folder}/bench.db")
        Base.metadata.create_all(sa_engine)
        engine = bootstrap(Settings(database_url=str(sa_engine.url), secret_key="bench", base_url="http://bench"),
                           db=sa_engine, clock=lambda: NOW + timedelta(hours=7))
        started = time.perf_counter()
        ids = build(engine, args.subscribers, args.campaigns)
        print(f"built {args.subscribers:,} subscribers and {args.campaigns} campaigns in "
              f"{time.perf_counter() - started:.1f} s")
        client = create_app(engine).test_client()
        sign_in(client)
        for rows, prefix in ((1_000, "now"), (20_000, "later")):
            took, job_page = post_import(client, ids["list"], rows, prefix)
            print(f"import of {rows:,} rows posted in {took:.0f} ms ({'in the request' if rows == 1_000 else 'queued'})")
        pages = {
            "campaigns": "/console/campaigns",
            "campaigns (Sent)": "/console/campaigns?status=Sent",
            "campaign (Ready: audience count)": f"/console/campaigns/{ids['ready']}",
            "campaign (Sent)": f"/console/campaigns/{ids['sent']}",
            "report": f"/console/campaigns/{ids['sent']}/report",
            "report by domain": f"/console/campaigns/{ids['sent']}/report/domains",
            "progress.json": f"/console/campaigns/{ids['sent']}/progress.json",
            "new campaign": "/console/campaigns/new",
            "lists": "/console/lists",
            "subscribers": f"/console/lists/{ids['list']}",
            "subscribers search": f"/console/lists/{ids['list']}?q=person123",
            "subscribers page 500": f"/console/lists/{ids['list']}?page=500",
            "subscriber history": f"/console/lists/{ids['list']}/subscribers/{ids['subscriber']}",
            "import form": f"/console/lists/{ids['list']}/import",
            "autoresponders": "/console/autoresponders",
            "journeys": "/console/journeys",
            "journey (tree with counts)": f"/console/journeys/{ids['journey']}",
            "import job (queued)": job_page,
            "import job progress.json": f"{job_page}/progress.json",
        }
        print(f"{'page':36} {'median ms':>10} {'goal ms':>8}")
        slow = 0
        for name, path in pages.items():
            times = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                answer = client.get(path)
                times.append((time.perf_counter() - t0) * 1000)
                assert answer.status_code == 200, (path, answer.status_code)
            median = statistics.median(times)
            slow += median >= GOAL_MS
            print(f"{name:36} {median:10.1f} {GOAL_MS:8.0f}{'  SLOW' if median >= GOAL_MS else ''}")
        print(f"{len(pages) - slow} of {len(pages)} pages under {GOAL_MS:.0f} ms")
        sa_engine.dispose()


if __name__ == "__main__":
    main()
