"""The web console under /console/: server-rendered pages over the same engine services as the commands.

Map of the package:
* web.py        — the plumbing every page shares: the login cookie (the API's own sessions), the per-session
                  CSRF token, the security headers, one unit of work per request, not-found → 404;
* login.py      — signing in (User.Login's or Admin.Login's service) and out;
* campaigns.py  — the campaign list, a campaign's page and its actions (Pause/Resume/Cancel/Approve),
                  a new campaign;
* reports.py    — a campaign's report and the progress JSON its script polls while it sends;
* chart.py      — the opens-and-clicks chart as inline SVG (pure geometry, no database);
* audience.py   — lists, subscribers (search, history) and CSV imports as import jobs (the job's page and
                  the progress JSON its script polls while the job is Queued or Importing);
* automation.py — autoresponders;
* admin.py      — what an administrator sees: campaigns waiting for approval.
Templates are in templates/console/, the script and the style sheet in static/ (nothing inline: the
Content-Security-Policy allows scripts and styles from this server only).
"""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates",
               static_folder="static", static_url_path="/static")


def _register_views() -> None:
    # Imported for their routes on `bp`, in one place, after `bp` exists.
    from protocol.console import admin, audience, automation, campaigns, login, reports  # noqa: F401
    from protocol.console.web import after_request, console_time, error_page, pager_query

    bp.add_app_template_filter(console_time, "console_time")
    bp.add_app_template_filter(pager_query, "pager_query")
    bp.after_request(after_request)
    for code in (400, 403, 404, 405):
        bp.register_error_handler(code, error_page)


_register_views()
