"""The public campaign archive page that Campaigns.Archive.GetURL links to (engine/campaigns/archive.py)."""
from __future__ import annotations

from flask import Blueprint, current_app

from engine.errors import TagNotFound
from protocol.tracking import _not_found, _page

bp = Blueprint("archive", __name__)


@bp.route("/archive/<code>", methods=["GET"])
def archive(code: str):
    with current_app.extensions["sendmill.engine"].uow() as uow:
        try:
            title, listing = uow.campaign_archive.page(code)
        except TagNotFound:
            return _not_found()
    return _page(title, listing)
