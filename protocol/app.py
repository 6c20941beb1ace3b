"""The Flask application: one view on /api.php (and /api.php/<anything>); the REST surface, the public
tracking pages, the command reference (/docs, /commands.json) and the web console (/console/) are blueprints."""
from __future__ import annotations

import logging

from flask import Flask, request
from werkzeug.exceptions import RequestEntityTooLarge

from engine import Engine, bootstrap
from protocol.body_limits import BodyLimits
from protocol.downloads import download_response
from protocol.console import bp as console_blueprint
from protocol.dispatch import BAD_JSON, REQUEST_TOO_LARGE, Dispatcher, hard_failure
from protocol.limits import MAX_BODY_BYTES, MAX_VALUES, TooManyValues
from protocol.reference.page import bp as reference_blueprint
from protocol.registry import COMMANDS
from protocol.render import render
from protocol.request import BadJsonBody, count_pairs, parse_parameters
from protocol.rest.core import Endpoint, RestApi
from protocol.rest.openapi import build_openapi
from protocol.rest.registry import all_endpoints
from protocol.archive_page import bp as archive_blueprint
from protocol.tracking import bp as tracking_blueprint
from protocol.v1 import register_v1


def create_app(engine: Engine | None = None, rest_endpoints: list[Endpoint] | None = None) -> Flask:
    app = Flask("sendmill")
    # Body size and arrival time are BodyLimits' (protocol/body_limits.py); werkzeug's own checks of
    # multipart bodies get the same bounds as the rest of the request.
    app.config["MAX_FORM_MEMORY_SIZE"] = MAX_BODY_BYTES
    app.config["MAX_FORM_PARTS"] = MAX_VALUES
    app.wsgi_app = BodyLimits(app.wsgi_app)
    engine = engine or bootstrap()
    dispatcher = Dispatcher(engine, COMMANDS)
    app.register_blueprint(tracking_blueprint)
    app.register_blueprint(archive_blueprint)     # /archive/<code> (Campaigns.Archive.GetURL)
    app.register_blueprint(reference_blueprint)   # /docs and /commands.json
    app.register_blueprint(console_blueprint)     # /console/
    endpoints = all_endpoints() if rest_endpoints is None else rest_endpoints
    rest_api = RestApi(engine, endpoints)
    app.register_blueprint(rest_api.blueprint())
    app.extensions.update({"sendmill.dispatcher": dispatcher, "sendmill.rest": rest_api,
                           "sendmill.rest_endpoints": endpoints})
    use_engine(app, engine)
    logging.getLogger("sendmill").setLevel(logging.INFO)

    @app.route("/api.php", methods=["GET", "POST"])
    @app.route("/api.php/<path:_rest>", methods=["GET", "POST"])
    def api(_rest: str | None = None):
        try:
            params = _api_parameters()
        except BadJsonBody as exc:
            return render(hard_failure(BAD_JSON, f"The request body is not valid JSON: {exc}").payload)
        except (TooManyValues, RequestEntityTooLarge) as exc:
            reason = str(exc) if isinstance(exc, TooManyValues) else \
                f"a multipart body has more than {MAX_VALUES} parts or a text part over {MAX_BODY_BYTES} bytes"
            return render(hard_failure(REQUEST_TOO_LARGE, f"Request too large: {reason}").payload, status=413)
        # Several X-Forwarded-For lines are one comma list (RFC 9110 §5.3); the dispatcher decides whom to trust.
        forwarded_for = ", ".join(request.headers.getlist("X-Forwarded-For")) or None
        outcome = dispatcher.dispatch(params, ip=request.remote_addr or "", forwarded_for=forwarded_for)
        if outcome.download is not None:
            return download_response(outcome.download, dispatcher.engine)
        response_format = params.get("responseformat")
        callback = params.get("jsonpcallback")
        return render(outcome.payload, status=outcome.status, headers=outcome.headers,
                      response_format="XML" if response_format == "XML" else "JSON",
                      jsonp=callback if isinstance(callback, str) else None)

    register_v1(app, dispatcher, _api_parameters)   # /api/v1/… aliases of commands (protocol/v1.py)

    @app.route("/health")
    def health():
        return {"status": "ok"}

    @app.route("/openapi.json")
    def openapi():
        # Built on first request and kept: apispec needs tens of milliseconds, which app start should not pay.
        if "sendmill.openapi" not in app.extensions:
            base_url = app.extensions["sendmill.engine"].settings.base_url
            app.extensions["sendmill.openapi"] = build_openapi(endpoints, base_url, _version())
        return app.extensions["sendmill.openapi"]

    return app


def use_engine(app: Flask, engine: Engine) -> None:
    """Serve `app` from `engine`: the one place every view finds it (the test suite builds its app once
    and points it at each test's engine; building one costs tens of milliseconds of route compiling)."""
    app.extensions["sendmill.engine"] = engine
    app.extensions["sendmill.dispatcher"].engine = engine
    app.extensions["sendmill.rest"].engine = engine


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("sendmill")
    except PackageNotFoundError:
        return "0"


def _api_parameters() -> dict:
    """The query string and the body as one parameter map (protocol.request)."""
    if _is_json():
        return parse_parameters(request.args, None, request.get_data())
    # Counted on the raw bytes: decoding a million pairs would itself take seconds.
    pairs = count_pairs(request.query_string)
    if request.mimetype == "application/x-www-form-urlencoded":
        pairs += count_pairs(request.get_data(cache=True))
    if pairs > MAX_VALUES:
        raise TooManyValues(f"the request carries more than {MAX_VALUES} parameters")
    params = parse_parameters(request.args, request.form, None)
    # Uploaded files (multipart) reach commands as file objects under their lower-cased field
    # name, e.g. Subscribers.Import's ImportFile; werkzeug spools big ones to disk.
    for name, upload in request.files.items():
        params.setdefault(name.lower(), upload)
    return params


def _is_json() -> bool:
    mimetype = (request.mimetype or "").lower()
    return mimetype == "application/json" or mimetype.endswith("+json")
