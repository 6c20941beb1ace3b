"""A campaign's report, and the small JSON document its script polls every 2 s while the campaign sends."""
from __future__ import annotations

from flask import jsonify

from protocol.console import bp
from protocol.console.chart import draw
from protocol.console.web import page, render


@bp.get("/campaigns/<int:campaign_id>/report")
@page(admin=None, commands=("Campaign.Get",))
def report(uow, actor, campaign_id: int):
    c = uow.campaigns.get(actor, campaign_id)
    details, progress = uow.report_details.details(c)
    f = details.figures
    totals = [
        ("Sent", f.sent), ("Not sent", f.not_sent), ("Delivered", f.delivered), ("Opens", c.total_opens),
        ("Unique opens", f.opened), ("Clicks", c.total_clicks), ("Unique clicks", f.clicked),
        ("Unsubscribes", f.unsubscribed), ("Bounces", f.bounced), ("Complaints", f.complained),
    ]
    return render("console/report.html", c=c, totals=totals, details=details, chart=draw(details.timeline),
                  progress=progress)


@bp.get("/campaigns/<int:campaign_id>/report/domains")
@page(admin=None, commands=("Campaign.Get",))
def report_domains(uow, actor, campaign_id: int):
    c = uow.campaigns.get(actor, campaign_id)
    return render("console/report_domains.html", c=c, domains=uow.report_details.domains(c))


@bp.get("/campaigns/<int:campaign_id>/progress.json")
@page(admin=None, commands=("Campaign.Get",))
def progress(uow, actor, campaign_id: int):
    p = uow.report_details.progress(uow.campaigns.get(actor, campaign_id))
    return jsonify(status=p.status, total=p.total, sent=p.sent, failed=p.failed, unknown=p.unknown,
                   pending=p.pending, done=p.done, per_second=p.per_second)
