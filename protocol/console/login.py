"""Signing in and out of the console, with the accounts and the session machinery of User.Login and Admin.Login."""
from __future__ import annotations

from flask import redirect, request, url_for

from engine.accounts.ratelimits import client_ip
from engine.errors import AccountDisabled, InvalidLogin, TwoFactorCodeInvalid, TwoFactorRequired
from protocol.console import bp
from protocol.console.web import (
    LOGIN_CSRF_COOKIE, SESSION_COOKIE, check_login_csrf, engine, new_login_token, page, render, set_cookie,
)

FAILURES = {
    InvalidLogin: "The username or the password is wrong.",
    AccountDisabled: "The username or the password is wrong.",   # as User.Login: no hint which accounts exist
    TwoFactorRequired: "This account uses two-factor login: enter the code from your app.",
    TwoFactorCodeInvalid: "The two-factor code is wrong.",
}


def _next_page() -> str:
    target = request.values.get("next", "")
    # Only a path of the console itself: never a redirect to another site.
    return target if target.startswith("/console/") and not target.startswith("//") else url_for("console.home")


def _login_form(error: str = "", status: int = 200, username: str = ""):
    token = new_login_token()
    response = render("console/login.html", http_status=status, error=error, login_token=token, username=username,
                      next_page=_next_page(), account_kind=request.form.get("account_kind", "user"))
    set_cookie(response, LOGIN_CSRF_COOKIE, token, max_age=3600)
    return response


@bp.get("/login")
def login():
    return _login_form()


@bp.post("/login")
def login_post():
    check_login_csrf()
    username, password = request.form.get("username", ""), request.form.get("password", "")
    if not username.strip() or not password:
        return _login_form("Enter your username and your password.", 400, username)
    admin = request.form.get("account_kind") == "admin"
    settings = engine().settings
    ip = client_ip(request.remote_addr or "", ", ".join(request.headers.getlist("X-Forwarded-For")) or None,
                   settings.trusted_proxies)
    with engine().uow() as uow:
        limit = settings.public_rate_limit
        if limit is not None:
            # The API's own counter of User.Login / Admin.Login: guessing passwords here costs the same.
            decision = uow.rate_limits.hit("api:admin.login" if admin else "api:user.login", ip, limit)
            uow.commit()
            if not decision.allowed:
                response = _login_form(f"Too many sign-in attempts from your address; try again in "
                                       f"{decision.retry_after} seconds.", 429, username)
                response.headers["Retry-After"] = str(decision.retry_after)
                return response
        try:
            if admin:
                token, _account = uow.auth.login_admin(username, password, ip=ip)
            else:
                token, _account = uow.auth.login_user(username, password, ip=ip,
                                                      tfa_code=request.form.get("tfa_code") or None)
        except tuple(FAILURES) as exc:
            return _login_form(FAILURES[type(exc)], 401, username)
        uow.commit()
    response = redirect(_next_page(), code=303)
    set_cookie(response, SESSION_COOKIE, token, max_age=engine().settings.session_lifetime_days * 86400)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/console")
    return response


@bp.post("/logout")
@page(admin=None)
def logout(uow, actor):
    uow.auth.logout(actor)
    response = redirect(url_for("console.login"), code=303)
    response.delete_cookie(SESSION_COOKIE, path="/console")
    return response


@bp.get("/")
@page(admin=None)
def home(uow, actor):
    return redirect(url_for("console.approvals" if actor.is_admin else "console.campaigns"), code=303)
