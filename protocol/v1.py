"""The /api/v1/... aliases of /api.php commands (protocol.md Part 1 §1.1: JSON or form body, the
`{"Errors": [{"Code", "Message"}]}` envelope, HTTP 4xx on errors).

Each route names the command it runs and the codes its page answers with HTTP 404 (not found) or
409; every other error is 422, as the pages' "rejected with HTTP 422" says. The parameters are read as
/api.php reads them (query string under the body), plus an `APIKey` header as the examples send it. A
route's command runs through the same dispatcher, so credentials, permissions and codes are the same."""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import Flask, request

from protocol.dispatch import AUTH_FAILED, NOT_PERMITTED, UNKNOWN_COMMAND, Dispatcher, hard_failure
from protocol.downloads import download_response
from protocol.render import render

@dataclass(frozen=True)
class Route:
    method: str
    path: str                 # after /api/v1/
    command: str
    not_found: frozenset[int] = field(default_factory=frozenset)
    conflict: frozenset[int] = field(default_factory=frozenset)


def _nf(*codes: int) -> frozenset[int]:
    return frozenset(codes)


# journeys.md and subscribers.md, in the pages' order.
ROUTES = (
    Route("POST", "journey", "Journey.Create", _nf(6, 9, 11, 13, 17, 21)),
    Route("POST", "journey.clone", "Journey.Clone", _nf(3)),
    Route("POST", "journey.copytouser", "Journey.CopyToUser", _nf(7, 8, 9)),
    Route("GET", "journey", "Journey.Get", _nf(3)),
    Route("GET", "journeys", "Journey.List"),
    Route("GET", "journey.sendemailactions", "Journey.SendEmailActions"),
    Route("PATCH", "journey", "Journey.Update", _nf(6, 9, 10, 11, 13, 17, 21)),
    Route("POST", "journey.delete", "Journey.Delete", _nf(3)),
    Route("GET", "journey.enable", "Journey.Enable", _nf(3), _nf(4)),
    Route("GET", "journey.disable", "Journey.Disable", _nf(3), _nf(4)),
    Route("PATCH", "journey.actions", "Journey.Actions.Update", _nf(5)),
    Route("PATCH", "journey.actions.published", "Journey.Actions.Published", _nf(5, 6)),
    Route("GET", "journey.action.subscribers", "Journey.Action.Subscribers", _nf(5, 6)),
    Route("GET", "journey.stats.byisp", "Journey.Stats.ByISP", _nf(3)),
    Route("GET", "journey.stats.byaction", "Journey.Stats.ByAction", _nf(3)),
    Route("GET", "account.journey.benchmark", "Account.Journey.Benchmark"),
    Route("POST", "journey.export", "Journey.Export.Submit"),
    Route("GET", "journey.export", "Journey.Export.Get", _nf(3, 4), _nf(5)),
    Route("POST", "journeys.enable", "Journeys.Enable"),
    Route("POST", "journeys.disable", "Journeys.Disable"),
    Route("POST", "journeys.clone", "Journeys.Clone"),
    Route("POST", "subscriber.journey.trigger", "Subscriber.Journey.Trigger", _nf(7, 8, 9)),
    Route("POST", "subscriber.journey.remove", "Subscriber.Journey.Remove", _nf(7, 8, 9)),
    Route("POST", "subscriber.journey.exit", "Subscriber.Journey.Exit", _nf(7, 8, 9)),
    Route("POST", "subscriber.journey.list", "Subscriber.Journey.List", _nf(8, 9)),
    # campaigns.md, emails.md, subscribers.md and lists.md (issue 17).
    Route("POST", "admin.campaign.retryfailed", "Admin.Campaign.RetryFailed", _nf(2, 4), _nf(3, 5)),
    Route("GET", "email.render", "Email.Render"),
    Route("POST", "email.smtp.render", "Email.Smtp.Render"),
    Route("POST", "email.html2text", "Email.Html2Text"),
    Route("POST", "subscriber.create", "Subscriber.Create", _nf(23, 25), _nf(20, 21, 27)),
    Route("POST", "list.clone", "List.Clone"),
)
TABLE = {(r.method, r.path.lower()): r for r in ROUTES}


def status_of(route: Route, payload: dict) -> int:
    """The HTTP status of an answer: 200 on success; else by the first code."""
    if payload.get("Success"):
        return 200
    code = payload.get("ErrorCode")
    first = code[0] if isinstance(code, list) and code else code
    if first == AUTH_FAILED:
        return 401
    if first == NOT_PERMITTED:
        return 403
    if isinstance(first, int) and first >= 100000:
        return 500 if first == 100005 else 400
    if first in route.not_found:
        return 404
    if first in route.conflict:
        return 409
    return 422


def v1_envelope(payload: dict) -> dict:
    """Every failure carries `Errors` (the /api/v1 envelope) beside the legacy keys."""
    if payload.get("Success") or "Errors" in payload:
        return payload
    codes = payload.get("ErrorCode")
    texts = payload.get("ErrorText")
    codes = codes if isinstance(codes, list) else [codes]
    texts = texts if isinstance(texts, list) else [texts] * len(codes)
    return {**payload, "Errors": [{"Code": c, "Message": t} for c, t in zip(codes, texts)]}


def register_v1(app: Flask, dispatcher: Dispatcher, read_parameters) -> None:
    @app.route("/api/v1/<path:name>", methods=["GET", "POST", "PATCH", "PUT", "DELETE"])
    def api_v1(name: str):
        route = TABLE.get((request.method, name.lower()))
        if route is None:
            failure = hard_failure(UNKNOWN_COMMAND, f'No /api/v1 endpoint "{request.method} {name[:80]}"')
            return render(failure.payload, status=404)
        try:
            params = read_parameters()
        except Exception as exc:  # noqa: BLE001 - the body could not be read: the same answers /api.php gives
            return render(hard_failure(100000, f"The request body could not be read: {exc}").payload, status=400)
        if request.headers.get("APIKey") and "apikey" not in params:
            params["apikey"] = request.headers["APIKey"]
        params["command"] = route.command
        forwarded_for = ", ".join(request.headers.getlist("X-Forwarded-For")) or None
        outcome = dispatcher.dispatch(params, ip=request.remote_addr or "", forwarded_for=forwarded_for)
        if outcome.download is not None:
            return download_response(outcome.download, dispatcher.engine)
        payload = v1_envelope(outcome.payload)
        status = outcome.status if outcome.status != 200 else status_of(route, payload)
        return render(payload, status=status, headers=outcome.headers)
