"""Campaign pages: the list (with status filters), a campaign (status, schedule, next runs, audience and
its actions) and a new campaign. Actions call the services of Campaign.Pause / Resume / Cancel / Approve."""
from __future__ import annotations

from flask import request

from engine.audience.lists import ListQuery
from engine.audience.service import PREVIEWABLE
from engine.campaigns.listing import CampaignQuery
from engine.campaigns.service import RecipientRef
from engine.errors import DomainError, EmailNotFound
from protocol.console import bp
from protocol.console.web import back, page, render, require
from scheduler.tick import display_zone, upcoming_sends

STATUS_FILTERS = ("All", "Draft", "Ready", "Scheduled", "Pending Approval", "Sending", "Paused", "Sent", "Failed")
PAGE_SIZE = 50
ACTIONS = {   # form action → (service method, what the page says after it)
    "pause": ("pause", "Campaign paused."),
    "resume": ("resume", "Campaign resumed."),
    "cancel": ("cancel", "Campaign canceled."),
    "approve": ("approve", "Campaign approved."),
}
DEFAULT_HTML = ('<p>Hello %Subscriber:EmailAddress%,</p>\n<p>…</p>\n'
                '<p><a href="%Link:Unsubscribe%">Unsubscribe</a></p>')


def _page_number() -> int:
    raw = request.args.get("page", "1")
    return max(int(raw), 1) if raw.isdigit() and len(raw) < 7 else 1


@bp.get("/campaigns")
@page(commands=("Campaigns.Get",))
def campaigns(uow, actor):
    status = request.args.get("status", "All")
    status = status if status in STATUS_FILTERS else "All"
    number = _page_number()
    rows, total = uow.campaign_listing.search(actor, CampaignQuery(status=status, keyword=request.args.get("q") or None,
                                                            offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE))
    return render("console/campaigns.html", campaigns=rows, total=total, status=status, filters=STATUS_FILTERS,
                  keyword=request.args.get("q", ""), page_number=number, pages=max((total - 1) // PAGE_SIZE + 1, 1))


@bp.get("/campaigns/<int:campaign_id>")
@page(admin=None, commands=("Campaign.Get",))
def campaign(uow, actor, campaign_id: int):
    c = uow.campaigns.get(actor, campaign_id)
    email = None
    if c.email_id:
        try:
            email = uow.emails.get(actor, c.email_id)
        except EmailNotFound:
            pass   # a page without its email still shows the campaign
    audience, audience_error = None, ""
    if c.status in PREVIEWABLE:
        try:
            audience = uow.audience.preview_campaign(c, sample=10)
        except DomainError as exc:
            audience_error = exc.message
    zone_name, runs, schedule_error = "UTC", [], ""
    try:
        zone_name, zone = display_zone(c)
        runs = [run.astimezone(zone) for run in upcoming_sends(c, uow.clock(), 5)]
    except ValueError as exc:
        schedule_error = str(exc)
    return render("console/campaign.html", c=c, email=email, audience=audience, audience_error=audience_error,
                  runs=runs, zone_name=zone_name, schedule_error=schedule_error, progress=uow.report_details.progress(c))


@bp.post("/campaigns/<int:campaign_id>/<any(pause, resume, cancel, approve):action>")
@page(admin=None)
def campaign_action(uow, actor, campaign_id: int, action: str):
    method, done = ACTIONS[action]
    require(actor, "Campaign.Approve" if action == "approve" else f"Campaign.{action.capitalize()}")
    getattr(uow.campaigns, method)(actor, campaign_id)
    return back(done, "console.campaign", campaign_id=campaign_id)


@bp.get("/campaigns/new")
@page(commands=("Campaign.Create", "Campaign.Update", "Lists.Get"))
def new_campaign(uow, actor):
    lists, _total = uow.lists.search(actor, ListQuery(order_field="name"))
    return render("console/campaign_new.html", lists=lists, form={"html": DEFAULT_HTML}, error="")


@bp.post("/campaigns/new")
@page(commands=("Campaign.Create", "Campaign.Update", "Email.Create", "Email.Update"))
def create_campaign(uow, actor):
    form = {k: request.form.get(k, "").strip() for k in ("name", "subject", "from_name", "from_email", "list_id")}
    form["html"] = request.form.get("html", "")
    form["arm"] = request.form.get("arm") == "on"
    try:
        if not form["name"]:
            raise DomainError("Give the campaign a name.")
        if not form["list_id"].isdigit() or len(form["list_id"]) > 9:
            raise DomainError("Choose a list to send to.")
        email = uow.emails.create(actor, form["name"][:255])
        uow.emails.update(actor, email.id, {
            "subject": form["subject"][:255], "from_name": form["from_name"][:255],
            "from_email": form["from_email"][:255], "html_content": form["html"]}, "Campaign")
        created = uow.campaigns.create(actor, form["name"][:255])
        changes = {"email_id": email.id, "recipients": [RecipientRef(int(form["list_id"]))]}
        if form["arm"]:
            changes.update(status="Ready", schedule_type="Immediate")
        uow.campaigns.update(actor, created.id, changes)
    except DomainError as exc:
        uow.rollback()
        lists, _total = uow.lists.search(actor, ListQuery(order_field="name"))
        return render("console/campaign_new.html", http_status=400, lists=lists, form=form, error=exc.message)
    return back("Campaign armed: it starts on the next tick." if form["arm"] else "Campaign saved as a draft.",
                "console.campaign", campaign_id=created.id)
