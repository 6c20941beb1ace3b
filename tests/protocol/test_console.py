"""The web console (/console/): sign-in with the API's sessions, CSRF, headers, owner checks, the pages and
their actions through the same engine services as the commands, and a constant number of statements per page."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from engine.accounts.auth import Actor
from engine.campaigns.service import RecipientRef
from engine.models import AuthSession, Campaign, Delivery, SendInstance, Subscriber, SubscriberActivity
from tests.builders import (
    debug_action, decision, make_list, run_journeys, set_campaign, set_user, wait_action,
)
from tests.console_support import Console
from tests.helpers import stored_state


@pytest.fixture
def console(client):
    return Console(client)


def make_campaign(engine, owner, name="Spring sale", *, list_id=None, status="Draft", **columns) -> int:
    actor = Actor("user", owner.id, "*")
    with engine.uow() as uow:
        email = uow.emails.create(actor, name)
        email.subject, email.from_email, email.from_name = f"About {name}", "news@sender.example", "News"
        email.html_content = '<p>Hi</p><a href="https://example.com/a">A</a> <a href="%Link:Unsubscribe%">U</a>'
        campaign = uow.campaigns.create(actor, name)
        changes = {"email_id": email.id}
        if list_id:
            changes["recipients"] = [RecipientRef(list_id)]
        uow.campaigns.update(actor, campaign.id, changes)
        uow.commit()
        campaign_id = campaign.id
    set_campaign(engine, campaign_id, status=status, **columns)
    return campaign_id


def add_subscribers(engine, list_id: int, emails) -> list[int]:
    with engine.uow() as uow:
        rows = [Subscriber(list_id=list_id, email_address=e, email_normalized=e.lower(),
                           subscription_date=uow.clock()) for e in emails]
        uow.session.add_all(rows)
        uow.commit()
        return [r.id for r in rows]


# --- signing in -------------------------------------------------------------------------------------
def test_a_page_needs_a_session_and_sign_in_uses_the_api_accounts(engine, console, user):
    answer = console.client.get("/console/campaigns")
    assert answer.status_code == 303 and "/console/login" in answer.headers["Location"]
    answer = console.login(user.username, user.password)
    assert answer.status_code == 303
    cookie = next(c for c in answer.headers.getlist("Set-Cookie") if c.startswith("sendmill_console="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/console" in cookie
    assert "Secure" not in cookie   # the test installation's base URL is http://
    page = console.get("/console/campaigns")
    assert page.status_code == 200 and "<h1>Campaigns</h1>" in page.get_data(as_text=True)
    # The console's session is an API session: the same token works as a SessionID.
    token = cookie.split(";")[0].split("=", 1)[1]
    answer = console.client.post("/api.php", data={"Command": "Campaigns.Get", "SessionID": token})
    assert answer.get_json()["Success"] is True


def test_the_session_cookie_is_secure_behind_https(engine, console, user):
    import dataclasses
    engine.settings = dataclasses.replace(engine.settings, base_url="https://mail.example.com")
    answer = console.login(user.username, user.password)
    cookie = next(c for c in answer.headers.getlist("Set-Cookie") if c.startswith("sendmill_console="))
    assert "Secure" in cookie


def test_a_wrong_password_is_refused_and_opens_no_session(engine, console, user):
    before = stored_state(engine, AuthSession)
    answer = console.login(user.username, "wrong-password")
    assert answer.status_code == 401
    assert "The username or the password is wrong." in answer.get_data(as_text=True)
    assert stored_state(engine, AuthSession) == before


def test_sign_in_without_the_form_token_is_refused(engine, console, user):
    before = stored_state(engine, AuthSession)
    answer = console.client.post("/console/login", data={"username": user.username, "password": user.password})
    assert answer.status_code == 400
    assert stored_state(engine, AuthSession) == before


def test_sign_in_shares_the_login_rate_limit_of_the_api(engine, console, user):
    import dataclasses
    from engine.accounts.ratelimits import RateLimit
    engine.settings = dataclasses.replace(engine.settings, public_rate_limit=RateLimit(2, 60))
    assert console.login(user.username, "wrong-1").status_code == 401
    assert console.login(user.username, "wrong-2").status_code == 401
    before = stored_state(engine, AuthSession)
    answer = console.login(user.username, user.password)   # the right password, but over the limit
    assert answer.status_code == 429 and "Too many sign-in attempts" in answer.get_data(as_text=True)
    assert stored_state(engine, AuthSession) == before
    api_answer = console.client.post("/api.php", data={"Command": "User.Login", "Username": user.username,
                                                        "Password": user.password})
    assert api_answer.get_json()["Success"] is False   # one counter for both surfaces


def test_sign_out_ends_the_session(engine, console, user):
    console.login(user.username, user.password)
    sessions = len(stored_state(engine, AuthSession)["auth_sessions"])
    answer = console.post("/console/logout")
    assert answer.status_code == 303
    assert len(stored_state(engine, AuthSession)["auth_sessions"]) == sessions - 1
    assert console.client.get("/console/campaigns").status_code == 303


def test_pages_carry_the_security_headers(console, user):
    console.login(user.username, user.password)
    answer = console.get("/console/campaigns")
    csp = answer.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    html = answer.get_data(as_text=True)
    assert '<meta name="viewport"' in html and "<script>" not in html and "style=" not in html
    assert console.client.get("/console/static/console.js").status_code == 200


# --- campaigns -----------------------------------------------------------------------------------------
def test_campaign_list_filters_by_status(engine, console, user):
    make_campaign(engine, user, "Draft one")
    make_campaign(engine, user, "Sending one", status="Sending")
    console.login(user.username, user.password)
    everything = console.text("/console/campaigns")
    assert "Draft one" in everything and "Sending one" in everything
    sending = console.text("/console/campaigns?status=Sending")
    assert "Sending one" in sending and "Draft one" not in sending


def test_campaign_page_shows_schedule_next_runs_and_audience(engine, console, user):
    list_id = make_list(engine, user)
    add_subscribers(engine, list_id, [f"p{i}@example.com" for i in range(12)])
    campaign_id = make_campaign(engine, user, "Weekly", list_id=list_id, status="Ready", schedule_type="Recursive",
                                schedule_rec_days_of_week="1", schedule_rec_days_of_month="0",
                                schedule_rec_months="0", schedule_rec_hours="9", schedule_rec_minutes="30",
                                schedule_rec_send_max_instance=0, send_timezone="UTC")
    console.login(user.username, user.password)
    html = console.text(f"/console/campaigns/{campaign_id}")
    assert '<strong id="audience-count">12</strong>' in html
    # The clock is Monday 2026-11-23 12:00 UTC: the next Mondays at 09:30.
    assert "Mon 2026-11-30 09:30 UTC" in html and "Mon 2026-12-07 09:30 UTC" in html
    assert html.count("<li>p") == 10   # the sample


def test_another_accounts_objects_are_404(engine, console, user, other_user):
    list_id = make_list(engine, other_user)
    [subscriber_id] = add_subscribers(engine, list_id, ["x@example.com"])
    campaign_id = make_campaign(engine, other_user, "Theirs", status="Sending")
    console.login(user.username, user.password)
    for path in (f"/console/campaigns/{campaign_id}", f"/console/campaigns/{campaign_id}/report",
                 f"/console/campaigns/{campaign_id}/report/domains",
                 f"/console/campaigns/{campaign_id}/progress.json", f"/console/lists/{list_id}",
                 f"/console/lists/{list_id}/import", f"/console/lists/{list_id}/subscribers/{subscriber_id}"):
        assert console.get(path).status_code == 404, path
    before = stored_state(engine)
    assert console.post(f"/console/campaigns/{campaign_id}/pause").status_code == 404
    assert console.post(f"/console/lists/{list_id}/import",
                        data={"csv_file": (io.BytesIO(b"Email\nnew@example.com\n"), "a.csv")}).status_code == 404
    assert stored_state(engine) == before


def test_pause_and_resume_call_the_campaign_services(engine, console, user):
    campaign_id = make_campaign(engine, user, "Going", status="Sending")
    console.login(user.username, user.password)
    console.get(f"/console/campaigns/{campaign_id}")
    answer = console.post(f"/console/campaigns/{campaign_id}/pause")
    assert answer.status_code == 303
    with engine.uow() as uow:
        assert uow.session.get(Campaign, campaign_id).status == "Paused"
    assert "Campaign paused." in console.text(f"/console/campaigns/{campaign_id}")
    console.post(f"/console/campaigns/{campaign_id}/resume")
    with engine.uow() as uow:
        assert uow.session.get(Campaign, campaign_id).status == "Sending"


def test_a_page_needs_the_permission_its_command_needs(engine, console, api):
    from tests.helpers import make_user
    with engine.uow() as uow:
        group = uow.accounts.create_group("Watchers", permissions="Campaigns.Get,Campaign.Get")
        uow.commit()
        group_id = group.id
    watcher = make_user(engine, api, "watcher", group_id=group_id)
    campaign_id = make_campaign(engine, watcher, "Going", status="Sending")
    console.login(watcher.username, watcher.password)
    assert console.get(f"/console/campaigns/{campaign_id}").status_code == 200
    before = stored_state(engine)
    answer = console.post(f"/console/campaigns/{campaign_id}/pause")
    assert answer.status_code == 403 and "Campaign.Update" in answer.get_data(as_text=True)
    assert stored_state(engine) == before
    assert console.get("/console/lists").status_code == 403
    assert console.get("/console/autoresponders").status_code == 403


def test_an_action_without_the_csrf_token_changes_nothing(engine, console, user):
    campaign_id = make_campaign(engine, user, "Going", status="Sending")
    console.login(user.username, user.password)
    before = stored_state(engine)
    assert console.post(f"/console/campaigns/{campaign_id}/pause", token="").status_code == 400
    assert console.post(f"/console/campaigns/{campaign_id}/pause", token="0" * 64).status_code == 400
    assert stored_state(engine) == before


def test_a_refused_action_says_why_and_changes_nothing(engine, console, user):
    campaign_id = make_campaign(engine, user, "Idle")
    console.login(user.username, user.password)
    console.get(f"/console/campaigns/{campaign_id}")
    before = stored_state(engine)
    answer = console.post(f"/console/campaigns/{campaign_id}/pause",
                          headers={"Referer": f"http://localhost/console/campaigns/{campaign_id}"})
    assert answer.status_code == 303
    assert stored_state(engine) == before
    assert "Campaign is not in a &#39;Sending&#39; state" in console.text(f"/console/campaigns/{campaign_id}")


def test_new_campaign_is_created_and_armed(engine, console, user):
    list_id = make_list(engine, user)
    add_subscribers(engine, list_id, ["a@example.com"])
    console.login(user.username, user.password)
    console.get("/console/campaigns/new")
    answer = console.post("/console/campaigns/new", data={
        "name": "Hello", "list_id": str(list_id), "subject": "Hi", "from_name": "Me",
        "from_email": "me@sender.example", "html": '<p>x</p><a href="%Link:Unsubscribe%">u</a>', "arm": "on"})
    assert answer.status_code == 303
    with engine.uow() as uow:
        c = uow.session.scalar(select(Campaign).where(Campaign.name == "Hello"))
        assert (c.status, c.schedule_type, c.owner_user_id) == ("Ready", "Immediate", user.id)


def test_new_campaign_with_a_bad_from_address_is_refused_whole(engine, console, user):
    list_id = make_list(engine, user)
    console.login(user.username, user.password)
    console.get("/console/campaigns/new")
    before = stored_state(engine)
    answer = console.post("/console/campaigns/new", data={
        "name": "Hello", "list_id": str(list_id), "subject": "Hi", "from_email": "not an address", "html": "x"})
    assert answer.status_code == 400 and "not a valid email address" in answer.get_data(as_text=True)
    assert stored_state(engine) == before


def test_report_shows_figures_chart_table_links_and_domains(engine, console, user, clock):
    list_id = make_list(engine, user)
    addresses = ["a@one.example", "b@one.example", "c@two.example", "d@two.example"]
    ids = add_subscribers(engine, list_id, addresses)
    campaign_id = make_campaign(engine, user, "Reported", list_id=list_id, status="Sent", total_sent=3,
                                total_opens=3, total_clicks=2, total_hard_bounces=1)
    with engine.uow() as uow:
        s = uow.session
        instance = SendInstance(campaign_id=campaign_id, number=1, scheduled_for=clock(), started_at=clock(),
                                finished_at=clock() + timedelta(seconds=30), state="done", total_recipients=4)
        s.add(instance)
        s.flush()
        for sid, email, state in zip(ids, addresses, ["sent", "sent", "sent", "failed"]):
            s.add(Delivery(instance_id=instance.id, subscriber_id=sid, email_normalized=email, state=state,
                           sent_at=clock() if state == "sent" else None))
        events = [(ids[0], "open", "", 5), (ids[1], "open", "", 65), (ids[0], "open", "", 125),
                  (ids[0], "click", "https://example.com/a", 70), (ids[1], "click", "https://example.com/a", 130),
                  (ids[2], "bounce", "", 10)]
        for sid, kind, url, minutes in events:
            s.add(SubscriberActivity(subscriber_id=sid, campaign_id=campaign_id, kind=kind, link_url=url,
                                     occurred_at=clock() + timedelta(minutes=minutes)))
        uow.commit()
    console.login(user.username, user.password)
    html = console.text(f"/console/campaigns/{campaign_id}/report")
    assert '<dd data-figure="sent">3</dd>' in html and '<dd data-figure="unique-opens">2</dd>' in html
    assert '<dd data-figure="delivered">2</dd>' in html and '<dd data-figure="bounces">1</dd>' in html
    assert '<dd data-figure="opens">3</dd>' in html   # the campaign's counter of every open
    assert "<svg" in html and "<polyline" in html and 'id="timeline-table"' in html
    assert "<td>https://example.com/a</td><td>2</td><td>2</td>" in html.replace('<td class="url">', "<td>")
    assert '<dd data-figure="not-sent">1</dd>' in html and '<dd data-figure="unique-clicks">2</dd>' in html
    timeline = html.split('id="timeline-table"')[1].split("</table>")[0]
    # Opens at +5, +65 and +125 min, clicks at +70 and +130: 12 slots of 10 min 25 s from 12:05 to 14:10
    # (the last one holds the last event).
    assert timeline.count("<tr>") == 13
    assert "<td>2026-11-23 12:05 UTC</td><td>2026-11-23 12:15 UTC</td><td>1</td><td>0</td>" in timeline
    assert "<td>2026-11-23 13:59 UTC</td><td>2026-11-23 14:10 UTC</td><td>1</td><td>1</td>" in timeline
    domains = console.text(f"/console/campaigns/{campaign_id}/report/domains")
    assert "<td>one.example</td><td>2</td><td>0</td><td>0</td>" in domains
    assert "<td>two.example</td><td>1</td><td>1</td><td>1</td>" in domains
    progress = console.get(f"/console/campaigns/{campaign_id}/progress.json").get_json()
    assert progress == {"status": "Sent", "total": 4, "sent": 3, "failed": 1, "unknown": 0, "pending": 0,
                        "done": 4, "per_second": round(3 / 30, 2)}


# --- lists, subscribers, imports -------------------------------------------------------------------------
def test_create_list_import_csv_and_search(engine, console, user):
    console.login(user.username, user.password)
    console.get("/console/lists")
    answer = console.post("/console/lists", data={"name": "Friends"})
    assert answer.status_code == 303
    with engine.uow() as uow:
        from engine.models import SubscriberList
        list_id = uow.session.scalar(select(SubscriberList.id).where(SubscriberList.name == "Friends"))
    console.get(f"/console/lists/{list_id}/import")
    csv = b"Email\nann@example.com\nbob@example.com\nnot-an-address\nann@example.com\n"
    answer = console.post(f"/console/lists/{list_id}/import", data={"csv_file": (io.BytesIO(csv), "friends.csv")},
                          content_type="multipart/form-data")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200 and 'id="import-progress" max="4" value="4"' in html
    assert '<span data-import="imported">2</span>' in html and '<span data-import="failed">1</span>' in html
    found = console.text(f"/console/lists/{list_id}?q=bob")
    assert "bob@example.com" in found and "ann@example.com" not in found


def test_subscriber_history_lists_activity(engine, console, user, clock):
    list_id = make_list(engine, user)
    [sid] = add_subscribers(engine, list_id, ["ann@example.com"])
    campaign_id = make_campaign(engine, user, "Told ann", status="Sent")
    with engine.uow() as uow:
        instance = SendInstance(campaign_id=campaign_id, number=1, scheduled_for=clock(), started_at=clock(),
                                state="done")
        uow.session.add(instance)
        uow.session.flush()
        uow.session.add(Delivery(instance_id=instance.id, subscriber_id=sid, email_normalized="ann@example.com",
                                 state="sent", sent_at=clock() - timedelta(minutes=5)))
        uow.session.add(SubscriberActivity(subscriber_id=sid, campaign_id=campaign_id, kind="click",
                                           link_url="https://example.com/x", occurred_at=clock()))
        uow.commit()
    console.login(user.username, user.password)
    html = console.text(f"/console/lists/{list_id}/subscribers/{sid}")
    assert "Told ann" in html and "https://example.com/x" in html and "<td>click</td>" in html
    # The delivery ledger's send too (Subscriber.Get.Activity's service), after the click: newest first.
    assert html.index("<td>click</td>") < html.index("<td>sent</td>")


def test_autoresponders_page(console, user):
    console.login(user.username, user.password)
    assert "No autoresponders yet." in console.text("/console/autoresponders")


def test_a_journey_is_drawn_as_its_tree_with_counts_per_action(engine, console, user, other_user, clock):
    from tests.builders import make_custom_field
    from tests.engine.test_journey_runner import journey
    from engine.models import SubscriberFieldValue
    list_id = make_list(engine, user)
    ids = add_subscribers(engine, list_id, ["a@example.com", "b@example.com", "c@example.com"])
    field_id = make_custom_field(engine, user, list_id, "Country")
    with engine.uow() as uow:
        uow.session.add(SubscriberFieldValue(subscriber_id=ids[0], field_id=field_id, value_text="US"))
        uow.commit()
    [(jid, action_ids)] = run_journeys(engine, user, list_id, ids, clock, [
        decision([[{"type": "fields", "field_id": f"CustomField{field_id}", "operator": "is", "value": "us"}]],
                 true=[debug_action("yes")], false=[wait_action(1)]),
        {"action": "ExitThisJourney", "published": True}])
    branch, debug, wait, leave = action_ids
    console.login(user.username, user.password)
    assert f'href="/console/journeys/{jid}"' in console.text("/console/journeys")
    html = console.text(f"/console/journeys/{jid}")
    # The Decision's branches are nested under it, each action with what passed it and who waits there.
    true_branch = html.index(">True<")
    assert html.index(f'id="action-{branch}"') < true_branch < html.index(f'id="action-{debug}"') \
        < html.index(">False<") < html.index(f'id="action-{wait}"') < html.index(f'id="action-{leave}"')
    assert f'data-action="{branch}">3 passed · 0 waiting' in html
    assert f'data-action="{debug}">1 passed · 0 waiting' in html
    assert f'data-action="{wait}">0 passed · 2 waiting' in html
    assert f"<tr><td>{wait}</td><td>Wait</td><td>0</td><td>2</td></tr>" in html   # the same as a table
    # Another account's journey is a 404.
    theirs, _ = journey(engine, other_user, [debug_action("x")])
    assert console.get(f"/console/journeys/{theirs}").status_code == 404


# --- administrators -----------------------------------------------------------------------------------------
def test_an_administrator_sees_and_approves_waiting_campaigns(engine, console, admin, user):
    set_user(engine, user, reputation_level="Untrusted")
    campaign_id = make_campaign(engine, user, "Needs a look", status="Pending Approval")
    console.login(admin.username, admin.password, kind="admin")
    html = console.text("/console/admin/approvals")
    assert "Needs a look" in html and user.username in html
    assert console.post(f"/console/campaigns/{campaign_id}/approve").status_code == 303
    with engine.uow() as uow:
        assert uow.session.get(Campaign, campaign_id).status == "Ready"


def test_a_user_gets_no_admin_pages(console, user):
    console.login(user.username, user.password)
    assert console.get("/console/admin/approvals").status_code == 404


# --- a constant number of statements per page ----------------------------------------------------------------
class StatementCounter:
    def __init__(self, sa_engine):
        self.sa_engine, self.count = sa_engine, 0

    def __enter__(self):
        event.listen(self.sa_engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc):
        event.remove(self.sa_engine, "before_cursor_execute", self._count)

    def _count(self, *args):
        self.count += 1


def _statements(engine, console, path: str) -> int:
    with StatementCounter(engine.db) as counter:
        assert console.get(path).status_code == 200, path
    return counter.count


def add_ledger_and_clicks(engine, campaign_id: int, subscriber_ids: list[int], clock) -> None:
    """A finished send to these subscribers (each at its own domain), each clicking a link of their own."""
    with engine.uow() as uow:
        instance = SendInstance(campaign_id=campaign_id, number=1, scheduled_for=clock(), started_at=clock(),
                                state="done", total_recipients=len(subscriber_ids))
        uow.session.add(instance)
        uow.session.flush()
        for sid in subscriber_ids:
            uow.session.add(Delivery(instance_id=instance.id, subscriber_id=sid, state="sent",
                                     email_normalized=f"p{sid}@d{sid}.example", sent_at=clock()))
            uow.session.add(SubscriberActivity(subscriber_id=sid, campaign_id=campaign_id, kind="click",
                                               link_url=f"https://example.com/{sid}", occurred_at=clock()))
        uow.commit()


def add_journeys(engine, owner, list_id: int, subscriber_ids: list[int], size: int, clock) -> list[int]:
    """`size` journeys of `size` actions each (a Decision with a branch among them), everyone enrolled."""
    actions = [decision([[{"type": "fields", "field_id": "EmailAddress", "operator": "contains", "value": "p"}]],
                        true=[debug_action("t")], false=[]),
               *(wait_action(n + 1) for n in range(max(size - 2, 0)))]
    return [jid for jid, _ in run_journeys(engine, owner, list_id, subscriber_ids, clock, actions, copies=size)]


@pytest.mark.parametrize("page", ["campaigns", "lists", "subscribers", "history", "autoresponders", "approvals",
                                  "campaign", "report", "domains", "progress", "journeys", "journey"])
def test_a_page_runs_as_many_statements_for_1_row_as_for_50(engine, client, api, page, clock):
    from tests.helpers import make_admin, make_user
    counts = []
    for size in (1, 50):
        from tests.conftest import wipe
        wipe(engine.db)
        owner = make_user(engine, api, "counted")
        list_id = make_list(engine, owner)
        ids = add_subscribers(engine, list_id, [f"p{i}@example.com" for i in range(size)])
        campaigns = [make_campaign(engine, owner, f"C{i}", list_id=list_id,
                                   status="Pending Approval" if page == "approvals" else "Draft")
                     for i in range(size if page in ("campaigns", "approvals", "history") else 1)]
        with engine.uow() as uow:
            for _ in range(size if page == "lists" else 0):
                uow.lists.create(Actor("user", owner.id, "*"), f"List {_}")
            uow.session.add_all(SubscriberActivity(subscriber_id=ids[0], campaign_id=c, kind="open",
                                                   occurred_at=clock()) for c in campaigns)
            for i in range(size if page == "autoresponders" else 0):
                from engine.models import AutoResponder
                uow.session.add(AutoResponder(owner_user_id=owner.id, list_id=list_id, name=f"A{i}",
                                              trigger_type="OnSubscription", created_at=clock(), updated_at=clock()))
            uow.commit()
        if page in ("campaign", "report", "domains", "progress"):
            add_ledger_and_clicks(engine, campaigns[0], ids, clock)
        journeys = add_journeys(engine, owner, list_id, ids, size if page in ("journeys", "journey") else 1, clock)
        console = Console(client)
        if page == "approvals":
            account = make_admin(engine, api)
            console.login(account.username, account.password, kind="admin")
        else:
            console.login(owner.username, owner.password)
        path = {"campaigns": "/console/campaigns", "lists": "/console/lists",
                "subscribers": f"/console/lists/{list_id}", "history": f"/console/lists/{list_id}/subscribers/{ids[0]}",
                "autoresponders": "/console/autoresponders", "approvals": "/console/admin/approvals",
                "campaign": f"/console/campaigns/{campaigns[0]}", "report": f"/console/campaigns/{campaigns[0]}/report",
                "domains": f"/console/campaigns/{campaigns[0]}/report/domains",
                "progress": f"/console/campaigns/{campaigns[0]}/progress.json",
                "journeys": "/console/journeys", "journey": f"/console/journeys/{journeys[0]}"}[page]
        console.get(path)   # the first request of a session records its use; count a steady one
        counts.append(_statements(engine, console, path))
    assert counts[0] == counts[1] and counts[0] > 0, counts
