"""Public tracking endpoints: the open pixel, click redirects, unsubscribe pages and web views.

`/t/<kind>/<token>`: the token is signed (engine/tracking/tokens.py) and carries only ids and the nonce of
the row it was made for, so nothing a request says can choose where a click redirects: the URL comes
from the campaign's stored content. A token that does not verify, names something deleted, or was
made for another row that had the same id, gets the same small 404 page.

HEAD requests (link checkers, mail-security scanners, preview bots) are answered like GET but
recorded nowhere; the unsubscribe link changes state only on POST (protocol.md Part 1 §15,
RFC 8058), so a scanner that follows it unsubscribes nobody.
"""
from __future__ import annotations

import base64
import html

from flask import Blueprint, Response, current_app, redirect, request

from engine.errors import BadToken, InvalidConfirmationCode, NotFound
from engine.tracking.tokens import Kind

bp = Blueprint("tracking", __name__)

# 1×1 transparent GIF89a.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NO_CACHE = {"Cache-Control": "no-store, no-cache, must-revalidate, max-age=0, private",
            "Pragma": "no-cache", "Expires": "0"}
# The web view and the landing page show the sender's HTML on our origin. The engine keeps only static
# markup (engine/tracking/public_html.py); this policy is the second fence: nothing but images and inline styles
# load, nothing runs, posts, frames or is framed, and `sandbox` gives the page an opaque origin.
CAMPAIGN_PAGE_CSP = ("default-src 'none'; img-src * data:; style-src 'unsafe-inline'; frame-ancestors 'none'; "
                     "form-action 'none'; base-uri 'none'; sandbox")
CAMPAIGN_PAGE_HEADERS = {**NO_CACHE, "Content-Security-Policy": CAMPAIGN_PAGE_CSP, "X-Robots-Tag": "noindex",
                         "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
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
    return {"instance_id": payload.instance_id, "subscriber_id": payload.subscriber_id, "nonce": payload.nonce}


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
        url = uow.events.record_click(payload.instance_id, payload.subscriber_id, payload.link_index,
                                      nonce=payload.nonce)
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
                    headers=CAMPAIGN_PAGE_HEADERS)


@bp.route("/so/<code>", methods=["GET"])
def landing_page(code: str):
    """A published campaign's public landing page (the modern API's landingPageUrl): campaign-level,
    no subscriber in it, so it can be shared; a GET counts as a browser view, a HEAD does not."""
    with _engine().uow() as uow:
        page = uow.modern_campaigns.landing_page(code, count=request.method != "HEAD")
        _finish(uow)
    return Response(page, mimetype="text/html",
                    headers=CAMPAIGN_PAGE_HEADERS)


@bp.route("/t/u/<token>", methods=["GET", "POST"], provide_automatic_options=False)
def unsubscribe(token: str):
    with _engine().uow() as uow:
        if uow.events.signer.verify(token).kind is Kind.ACCOUNT_UNSUBSCRIBE:
            return _account_unsubscribe(uow, token)
        ids = _ids(uow, token, Kind.UNSUBSCRIBE)
        if ids["instance_id"] == 0:   # a confirmation email's link: no campaign behind it
            return _opt_in_link(uow, Kind.UNSUBSCRIBE, ids["subscriber_id"], ids["nonce"])
        subscriber = uow.events.linked_subscriber(**ids)
        address = html.escape(subscriber.email_address)
        if request.method != "POST":
            if subscriber.subscription_status == "Unsubscribed":
                return _page("You are unsubscribed", f"<p>{address} receives no more of these emails.</p>")
            # A form, not a link: only a person pressing the button unsubscribes (scanners GET links).
            return _page("Unsubscribe", f"<p>Stop sending these emails to {address}?</p>"
                         f'<form method="post" action="{html.escape(request.path)}">'
                         '<button type="submit" name="confirm" value="1">Unsubscribe</button></form>')
        uow.events.unsubscribe(ids["instance_id"], ids["subscriber_id"], request.remote_addr or "",
                               nonce=ids["nonce"])
        uow.commit()
    if request.form.get("List-Unsubscribe") == "One-Click":   # RFC 8058, sent by the mailbox provider
        return Response("Unsubscribed\n", mimetype="text/plain", headers=NO_CACHE)
    return _page("You are unsubscribed", f"<p>{address} receives no more of these emails.</p>")


def _account_unsubscribe(uow, token: str) -> Response:
    """An account-wide link (EmailSubscription.UnsubscribeLink): the same page, and POST (or RFC 8058
    one-click) sets the address's email subscription to UNSUBSCRIBED."""
    payload = uow.events.signer.verify(token, Kind.ACCOUNT_UNSUBSCRIBE)
    row = uow.email_subscriptions.by_link(payload.subscriber_id, payload.nonce)
    address = html.escape(row.email_address)
    if request.method != "POST":
        if row.subscription_status == "UNSUBSCRIBED":
            return _page("You are unsubscribed", f"<p>{address} receives no more of these emails.</p>")
        return _page("Unsubscribe", f"<p>Stop sending these emails to {address}?</p>"
                     f'<form method="post" action="{html.escape(request.path)}">'
                     '<button type="submit" name="confirm" value="1">Unsubscribe</button></form>')
    uow.email_subscriptions.unsubscribe_by_link(payload.subscriber_id, payload.nonce)
    uow.commit()
    if request.form.get("List-Unsubscribe") == "One-Click":
        return Response("Unsubscribed\n", mimetype="text/plain", headers=NO_CACHE)
    return _page("You are unsubscribed", f"<p>{address} receives no more of these emails.</p>")


# --- double opt-in links (engine/audience/confirmations.py) ------------------------------------------------
# kind -> (question title, question, button, done title, done text); {address} and {list} are filled in.
_OPT_IN_PAGES = {
    Kind.CONFIRM: ("Confirm your subscription", "Subscribe {address} to {list}?", "Yes, subscribe me",
                   "Subscription confirmed", "{address} is subscribed to {list}."),
    Kind.REJECT: ("Decline the subscription", "Do not subscribe {address} to {list}?", "Do not subscribe me",
                  "Subscription declined", "{address} will not receive emails from {list}."),
    Kind.UNSUBSCRIBE: ("Unsubscribe", "Stop sending emails from {list} to {address}?", "Unsubscribe",
                       "You are unsubscribed", "{address} receives no more emails from {list}."),
}


@bp.route("/t/confirm/<token>", methods=["GET", "POST"], provide_automatic_options=False)
def confirm(token: str):
    with _engine().uow() as uow:
        payload = uow.events.signer.verify(token, Kind.CONFIRM)
        return _opt_in_link(uow, Kind.CONFIRM, payload.subscriber_id, payload.nonce)


@bp.route("/t/reject/<token>", methods=["GET", "POST"], provide_automatic_options=False)
def reject(token: str):
    with _engine().uow() as uow:
        payload = uow.events.signer.verify(token, Kind.REJECT)
        return _opt_in_link(uow, Kind.REJECT, payload.subscriber_id, payload.nonce)


def _opt_in_link(uow, kind: Kind, subscriber_id: int, nonce: str | None) -> Response:
    """GET (and HEAD) show a page with a button; only its POST changes the subscription, so a mail
    scanner that follows links confirms nobody. The list's confirmed page, when set, is linked."""
    subscriber, list_row = uow.confirmations.subscriber(subscriber_id, nonce)
    names = {"address": html.escape(subscriber.email_address), "list": html.escape(list_row.name)}
    title, question, button, done_title, done = (text.format(**names) for text in _OPT_IN_PAGES[kind])
    finished = "Subscribed" if kind is Kind.CONFIRM else "Unsubscribed"
    if request.method != "POST":
        if subscriber.subscription_status == finished:
            return _page(done_title, f"<p>{done}</p>")
        return _page(title, f"<p>{question}</p><form method=\"post\" action=\"{html.escape(request.path)}\">"
                            f'<button type="submit" name="confirm" value="1">{button}</button></form>')
    try:
        if kind is Kind.CONFIRM:
            _subscriber, next_url = uow.confirmations.confirm(subscriber_id, nonce)
        elif kind is Kind.REJECT:
            _subscriber, next_url = uow.confirmations.reject(subscriber_id, nonce)
        else:
            _subscriber, next_url = uow.confirmations.unsubscribe(subscriber_id, nonce, request.remote_addr or "")
    except InvalidConfirmationCode:
        return _page("This link no longer works", "<p>This subscription is no longer waiting for an answer.</p>",
                     409)
    uow.commit()
    if kind is Kind.UNSUBSCRIBE and request.form.get("List-Unsubscribe") == "One-Click":   # RFC 8058
        return Response("Unsubscribed\n", mimetype="text/plain", headers=NO_CACHE)
    # A link rather than a redirect: the page's CSP (form-action 'self') forbids redirecting a form post away.
    more = (f'<p><a href="{html.escape(next_url)}">Continue</a></p>'
            if next_url.lower().startswith(("https://", "http://")) else "")
    return _page(done_title, f"<p>{done}</p>{more}")

