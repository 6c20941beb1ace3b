"""Public tracking endpoints: the open pixel, click redirects, unsubscribe pages and web views.

`/t/<kind>/<token>`: the token is signed (engine/tracking.py) and carries only ids, so nothing a
request says can choose where a click redirects: the URL comes from the campaign's stored content.
A token that does not verify, or names something deleted, gets the same small 404 page.

HEAD requests (link checkers, mail-security scanners, preview bots) are answered like GET but
recorded nowhere; the unsubscribe link changes state only on POST (protocol.md Part 1 §15,
RFC 8058), so a scanner that follows it unsubscribes nobody.
"""
from __future__ import annotations

import base64
import html

from flask import Blueprint, Response, current_app, redirect, request

from engine.errors import BadToken, NotFound
from engine.tracking import Kind

bp = Blueprint("tracking", __name__)

# 1×1 transparent GIF89a.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NO_CACHE = {"Cache-Control": "no-store, no-cache, must-revalidate, max-age=0, private",
            "Pragma": "no-cache", "Expires": "0"}
# The web view shows the sender's HTML on our origin: nothing in it may run or post anywhere.
WEB_VIEW_CSP = "script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"


def _engine():
    return current_app.extensions["sendmill.engine"]


def _page(title: str, body: str, status: int = 200) -> Response:
    document = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
                '<meta name="viewport" content="width=device-width, initial-scale=1">'
                '<meta name="robots" content="noindex"><style>body{font-family:sans-serif;max-width:32em;'
                'margin:4em auto;padding:0 1em;line-height:1.5}button{font-size:1em;padding:.5em 1em}</style>'
                f'</head><body><h1>{html.escape(title)}</h1>{body}</body></html>')
    return Response(document, status=status, mimetype="text/html",
                    headers={**NO_CACHE, "Content-Security-Policy": PAGE_CSP})


def _not_found() -> Response:
    return _page("Link not found", "<p>This link is not valid or no longer works.</p>", 404)


def _ids(uow, token: str, kind: Kind) -> dict:
    payload = uow.events.signer.verify(token, kind)
    return {"instance_id": payload.instance_id, "subscriber_id": payload.subscriber_id}


def _finish(uow) -> None:
    """Commit what a GET recorded; a HEAD (a scanner, not a person) records nothing."""
    if request.method != "HEAD":
        uow.commit()


@bp.errorhandler(BadToken)
@bp.errorhandler(NotFound)
def _gone(_exc):
    return _not_found()


@bp.route("/t/o/<token>", methods=["GET"])
def open_pixel(token: str):
    with _engine().uow() as uow:
        uow.events.record_open(**_ids(uow, token, Kind.OPEN))
        _finish(uow)
    return Response(PIXEL, mimetype="image/gif", headers=NO_CACHE)


@bp.route("/t/c/<token>", methods=["GET"])
def click(token: str):
    with _engine().uow() as uow:
        payload = uow.events.signer.verify(token, Kind.CLICK)
        url = uow.events.record_click(payload.instance_id, payload.subscriber_id, payload.link_index)
        if url is None:
            return _not_found()
        _finish(uow)
    response = redirect(url, code=302)
    response.headers.update(NO_CACHE)
    return response


@bp.route("/t/w/<token>", methods=["GET"])
def web_view(token: str):
    with _engine().uow() as uow:
        page = uow.events.web_view(**_ids(uow, token, Kind.WEB_VIEW))
        _finish(uow)
    return Response(page, mimetype="text/html",
                    headers={**NO_CACHE, "Content-Security-Policy": WEB_VIEW_CSP, "X-Robots-Tag": "noindex"})


@bp.route("/t/u/<token>", methods=["GET", "POST"], provide_automatic_options=False)
def unsubscribe(token: str):
    with _engine().uow() as uow:
        ids = _ids(uow, token, Kind.UNSUBSCRIBE)
        target = uow.events.target(**ids)
        address = html.escape(target.subscriber.email_address)
        if request.method != "POST":
            if target.subscriber.subscription_status == "Unsubscribed":
                return _page("You are unsubscribed", f"<p>{address} receives no more of these emails.</p>")
            # A form, not a link: only a person pressing the button unsubscribes (scanners GET links).
            return _page("Unsubscribe", f"<p>Stop sending these emails to {address}?</p>"
                         f'<form method="post" action="{html.escape(request.path)}">'
                         '<button type="submit" name="confirm" value="1">Unsubscribe</button></form>')
        uow.events.unsubscribe(**ids, ip=request.remote_addr or "")
        uow.commit()
    if request.form.get("List-Unsubscribe") == "One-Click":   # RFC 8058, sent by the mailbox provider
        return Response("Unsubscribed\n", mimetype="text/plain", headers=NO_CACHE)
    return _page("You are unsubscribed", f"<p>{address} receives no more of these emails.</p>")
