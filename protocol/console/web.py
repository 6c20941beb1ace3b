"""What every console page shares: who is signed in, CSRF, headers, the unit of work, errors.

The console signs in with the API's own login sessions (engine/accounts/auth.py): the cookie holds the
same token a SessionID carries, so a session ends (User.Logout, expiry) for both surfaces at once.
CSRF: every POST carries a token bound to the session (an HMAC of the session token under the
installation's secret), so no state is stored for it; the sign-in form, which has no session yet, uses a
random token in a cookie of its own that the form must repeat (double submit).
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import secrets

from flask import abort, current_app, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from engine.errors import AuthenticationFailed, DomainError, NotFound

SESSION_COOKIE = "sendmill_console"
LOGIN_CSRF_COOKIE = "sendmill_console_login"
NOTICE_COOKIE = "sendmill_console_notice"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
           "X-Frame-Options": "DENY", "Cache-Control": "no-store"}


def engine():
    return current_app.extensions["sendmill.engine"]


def secure_cookies() -> bool:
    return engine().settings.base_url.lower().startswith("https://")


def set_cookie(response: Response, name: str, value: str, max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/console", httponly=True, samesite="Lax",
                        secure=secure_cookies())


def session_csrf(session_token: str) -> str:
    key = engine().settings.secret_key.encode("utf-8")
    return hmac.new(key, b"console-csrf:" + session_token.encode("utf-8"), hashlib.sha256).hexdigest()


def _form_token_matches(expected: str) -> bool:
    return hmac.compare_digest(request.form.get("csrf_token", ""), expected)


def new_login_token() -> str:
    return secrets.token_urlsafe(24)


def check_login_csrf() -> None:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not _form_token_matches(expected):
        abort(400, "The form expired; reload the page and try again.")


def notice(response: Response, text: str) -> Response:
    """Show `text` once on the next page (after a redirect)."""
    set_cookie(response, NOTICE_COOKIE, text[:300].encode("utf-8").hex(), max_age=60)
    return response


def back(text: str, endpoint: str, **values) -> Response:
    return notice(redirect(url_for(endpoint, **values), code=303), text)


def render(template: str, http_status: int = 200, **context) -> Response:
    html = render_template(template, actor=g.get("actor"), csrf_token=g.get("csrf_token", ""),
                           notice=_take_notice(), **context)
    return Response(html, status=http_status, mimetype="text/html")


def _take_notice() -> str:
    raw = request.cookies.get(NOTICE_COOKIE, "")
    if not raw:
        return ""
    g.clear_notice = True
    try:
        return bytes.fromhex(raw).decode("utf-8", "replace")
    except ValueError:
        return ""


def require(actor, *commands: str) -> None:
    """Refuse (403) a user whose group lacks the permission any of these commands requires: a page may do
    only what the caller could do through /api.php."""
    from protocol.registry import COMMANDS

    for name in commands:
        permission = COMMANDS[name.lower()].required_permission
        if permission and not actor.is_admin and not actor.can(permission):
            abort(403, f"Your user group does not have the {permission} permission.")


def page(*, admin: bool | None = False, commands: tuple[str, ...] = ()):
    """A console view: `view(uow, actor, **url_values)` inside one unit of work, signed in, POSTs CSRF-checked.

    `admin`: False = users' pages (an administrator is sent to the administration page), True =
    administrators only, None = both. `commands`: the API commands whose permissions the page needs.
    Another account's object (NotFound) is a 404."""
    def wrap(view):
        @functools.wraps(view)
        def run(**values):
            reading = request.method == "GET"
            with engine().uow() as uow:
                if reading:
                    uow.read_only()   # SQLite: a page neither waits for nor holds up writers
                token = request.cookies.get(SESSION_COOKIE, "")
                try:
                    actor = uow.auth.resolve(session_id=token, api_key=None, ip=request.remote_addr or "")
                except AuthenticationFailed:
                    return redirect(url_for("console.login", next=request.full_path.rstrip("?")), code=303)
                g.actor, g.csrf_token = actor, session_csrf(token)
                if request.method == "POST" and not _form_token_matches(g.csrf_token):
                    abort(400, "The form expired; reload the page and try again.")
                if admin is False and actor.is_admin:
                    return redirect(url_for("console.approvals"), code=303)
                if admin is True and not actor.is_admin:
                    abort(404)
                require(actor, *commands)
                use = uow.auth.take_use()
                if not reading:
                    uow.auth.record_use(use)
                try:
                    response = view(uow, actor, **values)
                except NotFound:
                    uow.rollback()
                    abort(404)
                except DomainError as exc:
                    # An action the engine refused: nothing it did is kept; the page says why.
                    uow.rollback()
                    if request.method != "POST":
                        abort(400, exc.message)
                    return notice(redirect(_same_site_referrer() or url_for("console.campaigns"), code=303),
                                  exc.message)
                uow.finish()
            if reading and use is not None:
                # The session's sliding expiry, in a transaction of its own (as the dispatcher's read commands).
                with engine().uow() as writer:
                    writer.auth.record_use(use)
                    writer.commit()
            return response
        return run
    return wrap


def _same_site_referrer() -> str | None:
    referrer = request.referrer or ""
    return referrer if referrer.startswith(request.host_url + "console/") else None


def after_request(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if g.get("clear_notice") and not any(c.startswith(NOTICE_COOKIE + "=") for c in response.headers.getlist("Set-Cookie")):
        response.delete_cookie(NOTICE_COOKIE, path="/console", httponly=True, samesite="Lax", secure=secure_cookies())
    return response


def error_page(error):
    code = getattr(error, "code", 500)
    description = getattr(error, "description", "") if code != 404 else "There is no such page."
    html = render_template("console/error.html", code=code, description=description,
                           actor=g.get("actor"), csrf_token=g.get("csrf_token", ""), notice="")
    return Response(html, status=code, mimetype="text/html")


def console_time(moment) -> str:
    """A stored instant as the console shows it (UTC, to the minute); "—" when there is none."""
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment is not None else "—"


def pager_query(args, number: int) -> str:
    """The query string of the same listing at page `number`."""
    from urllib.parse import urlencode
    return urlencode([(k, v) for k, v in args.items(multi=True) if k != "page"] + [("page", str(number))])
