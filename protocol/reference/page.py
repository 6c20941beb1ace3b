"""The reference served by the engine: /docs (one HTML page, a section per area, an anchor per command,
a search box) and /commands.json (the same data for client generators, beside /openapi.json).

The page is rendered on the server; its script and style are static files of this package, so the
Content-Security-Policy allows nothing inline and nothing from elsewhere.
"""
from __future__ import annotations

import json
import re

from flask import Blueprint, current_app, render_template

from protocol.reference import reference
from protocol.reference.markdown import accepts, codes_text, curl, engine_errors

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; base-uri 'none'; form-action 'none'; "
       "frame-ancestors 'none'")

bp = Blueprint("reference", __name__, template_folder="templates", static_folder="static",
               static_url_path="/docs/static")


def _cached() -> dict:
    # Built on first use and kept: the registry and the committed examples do not change while serving.
    if "sendmill.reference" not in current_app.extensions:
        current_app.extensions["sendmill.reference"] = reference()
    return current_app.extensions["sendmill.reference"]


@bp.route("/docs")
def docs_page():
    data = _cached()
    commands = {c["name"]: c for c in data["commands"]}
    html = render_template("docs.html", data=data, commands=commands, accepts=accepts, codes_text=codes_text,
                           curl=curl, engine_errors=engine_errors, type_anchor=type_anchor,
                           pretty=lambda value: json.dumps(value, indent=2, ensure_ascii=False),
                           compact=lambda value: json.dumps(value, ensure_ascii=False))
    response = current_app.response_class(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def type_anchor(name: str) -> str:
    """An HTML id for a type's glossary row ("EmailText (lists)" → "type-EmailText-lists")."""
    return "type-" + re.sub(r"\W+", "-", name).strip("-")


@bp.route("/commands.json")
def commands_json():
    return _cached()
