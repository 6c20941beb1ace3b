"""A campaign's report, and the small JSON document its script polls every 2 s while the campaign sends."""
from __future__ import annotations

from flask import jsonify

from protocol.console import bp
from protocol.console.chart import draw
from protocol.console.web import page, render


@bp.get("/campaigns/<int:campaign_id>/report")
@page(admin=None)
def report(uow, actor, campaign_id: int):
    c = uow.campaigns.get(actor, campaign_id)
    figures = uow.campaign_reports.figures([c])[c.id]
    details = uow.report_details.details(c)
    totals = [
        ("Sent", c.total_sent), ("Delivered", figures.delivered), ("Opens", c.total_opens),
        ("Unique opens", figures.opened), ("Clicks", c.total_clicks), ("Unique clicks", figures.clicked),
        ("Unsubscribes", c.total_unsubscriptions), ("Bounces", c.total_hard_bounces + c.total_soft_bounces),
        ("Complaints", max(c.total_complaints, figures.complained)),
    ]
    return render("console/report.html", c=c, totals=totals, details=details, chart=draw(details.timeline),
                  progress=uow.report_details.progress(c))


@bp.get("/campaigns/<int:campaign_id>/progress.json")
@page(admin=None)
def progress(uow, actor, campaign_id: int):
    p = uow.report_details.progress(uow.campaigns.get(actor, campaign_id))
    return jsonify(status=p.status, total=p.total, sent=p.sent, failed=p.failed, unknown=p.unknown,
                   pending=p.pending, done=p.done, per_second=p.per_second)
