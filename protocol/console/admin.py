"""The administrator's console: campaigns of Untrusted accounts waiting for approval (Campaign.Approve's service)."""
from __future__ import annotations

from protocol.console import bp
from protocol.console.web import page, render


@bp.get("/admin/approvals")
@page(admin=True)
def approvals(uow, actor):
    return render("console/approvals.html", queue=uow.approval.queue())
