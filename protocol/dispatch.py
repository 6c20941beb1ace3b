"""The /api.php dispatcher: parameters → command → credentials → validation → engine → answer."""
from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass

from marshmallow import ValidationError

from engine import Engine
from engine.db import dropped_connection
from engine.errors import AudienceQueryTimeout, AuthenticationFailed, DomainError, PermissionDenied
from engine.accounts.ratelimits import client_ip
from protocol import params as P
from protocol.command import ADMIN, ANY, ERRORS, KEYED, NAMED, PUBLIC, SCALAR, USER, V1, Command, Context
from protocol.downloads import Download

log = logging.getLogger("sendmill.api")

AUTH_FAILED = 99998
NOT_PERMITTED = 99999
BAD_JSON = 100000
UNKNOWN_COMMAND = 100003
INTERNAL_ERROR = 100005
# Sendmill's own hard failure: a statement evaluating criteria hit the audience time limit (README,
# "Audience query limits"). Any command that evaluates criteria may answer it.
AUDIENCE_TIMEOUT = 100006
# Sendmill's transport-level refusals (README "Request limits"), answered with HTTP 413 and 408
# as Part 1 §18 allows for transport problems: the body or the parameter count is over its limit,
# or the body did not arrive in time.
REQUEST_TOO_LARGE = 100007
REQUEST_TIMEOUT = 100008
RATE_LIMITED = 429  # the documented global rate-limit code (protocol.md §1.7), answered with HTTP 200


@dataclass
class Outcome:
    payload: dict
    status: int = 200
    headers: dict | None = None
    download: Download | None = None   # a file to stream instead of the envelope


def hard_failure(code: int, text: str) -> Outcome:
    # HTTP 200 even here: legacy clients abort on any other status (protocol.md Part 1 §18).
    return Outcome({"Success": False, "ErrorCode": code, "ErrorText": text,
                    "Errors": [{"Code": code, "Message": text}]})


def scalar_failure(code: int, text: str) -> Outcome:
    return Outcome({"Success": False, "ErrorCode": code, "ErrorText": text})


def command_failure(command: Command, code: int, detail: str = "",
                    also: tuple[tuple[int, str], ...] = ()) -> Outcome:
    """The command's documented text for `code`, with the specific reason after it when there is one.
    A command whose codes are a list also names the `also` codes (every missing required parameter)."""
    text = _error_text(command, code, detail)
    if command.error_shape == SCALAR:
        # error_keys: a missing parameter's code is its name on some pages (reports.md: "reportname").
        return Outcome({"Success": False, "ErrorCode": command.error_keys.get(code, code), command.error_text_key: text})
    if command.error_shape == ERRORS:
        return Outcome({"Success": False, "ErrorCode": code, command.error_text_key: text,
                        "Errors": [{"Code": code, "Message": text}]})
    if command.error_shape == KEYED:
        key = command.error_keys.get(code, str(code))
        return Outcome({"Success": False, "ErrorCode": {key: code}, command.error_text_key: text})
    codes = [(code, detail), *also]
    shown = (lambda c: command.error_keys.get(c, c)) if command.error_shape == NAMED else (lambda c: c)
    texts = [_error_text(command, c, d) for c, d in codes]
    payload = {"Success": False, "ErrorCode": [shown(c) for c, _ in codes], command.error_text_key: texts}
    if command.error_shape == V1:
        payload["Errors"] = [{"Code": c, "Message": text} for (c, _), text in zip(codes, texts)]
    return Outcome(payload)


def _error_text(command: Command, code: int, detail: str) -> str:
    documented = command.errors.get(code, "")
    same = detail.lower() == documented.lower()
    return f"{documented} ({detail})" if detail and documented and not same else documented or detail


class Dispatcher:
    def __init__(self, engine: Engine, commands: dict[str, Command]):
        self.engine = engine
        self.commands = commands
        self._schemas = threading.local()

    def dispatch(self, params: dict, ip: str, forwarded_for: str | None = None) -> Outcome:
        name = params.get("command")
        command = self.commands.get(name.strip().lower()) if isinstance(name, str) else None
        if command is None:
            shown = name if isinstance(name, str) else ""
            return hard_failure(UNKNOWN_COMMAND, f'Invalid API command: "{shown}" not found.')
        ip = client_ip(ip, forwarded_for, self.engine.settings.trusted_proxies)
        try:
            progress = _Progress()
            try:
                return self._run(command, params, ip, progress)
            except Exception as exc:  # noqa: BLE001 - only a dropped connection is retried
                # The database dropped the connection before the command itself ran (credentials, parameters
                # and the rate-limit count are read and counted in its transaction, which is gone uncommitted):
                # the call runs again, once, on a new connection. The pool pings only connections that idled
                # (engine/db.py), so this is how a call meets a server restart or a killed backend.
                if not dropped_connection(exc) or progress.command_started:
                    raise
                log.warning("%s: the database connection was dropped; running the call again", command.name)
                return self._run(command, params, ip, _Progress())
        except Exception:  # noqa: BLE001 - the one place that turns surprises into a safe answer
            request_id = uuid.uuid4().hex[:12]   # only a failure needs one: it ties the answer to the log
            log.exception("request %s: %s failed", request_id, command.name)
            return hard_failure(INTERNAL_ERROR, f"Internal error (request id {request_id})")

    def _run(self, command: Command, params: dict, ip: str, progress: "_Progress") -> Outcome:
        with self.engine.uow() as uow:
            if command.read_only:
                uow.read_only()
            try:
                actor = self._authenticate(uow, command, params, ip)
            except AuthenticationFailed:
                return scalar_failure(AUTH_FAILED, "Authentication failure or session expired")
            except PermissionDenied:
                return scalar_failure(NOT_PERMITTED, "Not enough privileges")
            # Loaded once, before the count: the rate limit asks whose lists the call names.
            try:
                values, problem = self._load(command, params), None
            except (P.ParamError, ValidationError) as exc:
                values, problem = None, exc
            counted = self._count_call(uow, command, actor, ip, values)
            commits = uow.commits
            progress.command_started = True
            try:
                outcome = self._run_counted(uow, command, actor, ip, params, values, problem, counted)
            finally:
                if counted is not None and uow.commits == commits:
                    # The command failed and its transaction with the count was rolled back: failing calls
                    # count too, so the count is written again on its own.
                    uow.rollback()
                    self._count_again(command, ip)
            return outcome

    def _run_counted(self, uow, command: Command, actor, ip: str, params: dict, values: dict | None, problem,
                     counted) -> Outcome:
        """The call after its rate-limit count (`counted`, a Decision, or None when not counted), which is
        in the same transaction: it is committed with the command's changes, or alone when the call is
        refused, or written again by the caller when the command's transaction is rolled back."""
        if counted is not None and not counted.allowed:
            uow.commit()
            return self._refusal(counted)
        if isinstance(problem, P.ParamError):
            if counted is not None:
                uow.commit()
            return command_failure(command, problem.code, problem.message, problem.also)
        if problem is not None:
            raise problem
        ctx = Context(uow=uow, actor=actor, ip=ip, params=params)
        try:
            if command.requires_active_account:
                uow.email_account.require_active(actor, status=uow.auth.email_account_status)
            result = command.run(ctx, values) or {}
        except DomainError as exc:
            uow.rollback()
            code = command.code_for(exc)
            if isinstance(exc, PermissionDenied) and code is None:
                return scalar_failure(NOT_PERMITTED, exc.message)
            if isinstance(exc, AuthenticationFailed) and code is None:
                # A public command whose variant needs credentials (bulk RulesJSON unsubscribe).
                return scalar_failure(AUTH_FAILED, exc.message)
            if isinstance(exc, AudienceQueryTimeout) and code is None:
                return hard_failure(AUDIENCE_TIMEOUT, f"Audience query timed out ({exc.message})")
            if code is None:
                raise
            failure = command_failure(command, code, exc.detail)
            # Keys some codes carry beside ErrorCode (e.g. CampaignStatus on Campaign.Recipients.Get).
            failure.payload.update(getattr(exc, "extra", None) or {})
            # A status some pages document for a code (an expired export file: 410 Gone).
            failure.status = getattr(exc, "http_status", 200)
            return failure
        except P.ParamError as exc:
            uow.rollback()
            failure = command_failure(command, exc.code, exc.message, exc.also)
            # Keys some codes carry beside ErrorCode (e.g. ErrorCustomFieldID on Subscriber.Subscribe).
            failure.payload.update(getattr(exc, "extra", None) or {})
            return failure
        if command.read_only:
            use = uow.auth.take_use()
            uow.finish()
        else:
            uow.auth.record_use()  # a session's sliding expiry, a key's use count: when the call succeeds
            uow.commit()
        if command.read_only and use is not None:
            # Written in a transaction of its own, so the reading one never has to become a writer.
            with self.engine.uow() as writer:
                writer.auth.record_use(use)
                writer.commit()
        if isinstance(result, Download):
            return Outcome({}, download=result)
        payload = {"Success": True, "ErrorCode": 0, **command.success_extra, **result}
        return Outcome(payload)

    def _count_call(self, uow, command: Command, actor, ip: str, values: dict | None):
        """Count a call of a public command against its client's limit (Part 1 §12), in the call's
        transaction: the Decision, or None when the call is not counted. Only the owner of the lists the
        call acts on (an account's own integration, a CRM sync subscribing in a loop) or an administrator
        is not counted: another account's credentials buy nothing. Failing calls count too (_run).
        The windows that are over are purged once per window and process (it was every client's
        first call in a window: on a public form, nearly every call)."""
        limit = self.engine.settings.public_rate_limit
        if command.auth != PUBLIC or limit is None or self._owner_call(uow, command, actor, values):
            return None
        decision = uow.rate_limits.hit(f"api:{command.name.lower()}", ip, limit)
        purged = self.engine.purged_windows
        if purged.get("api:") != decision.window_start:
            purged["api:"] = decision.window_start
            uow.rate_limits.purge_before(limit, bucket_prefix="api:")
        return decision

    def _count_again(self, command: Command, ip: str) -> None:
        with self.engine.uow() as uow:
            uow.rate_limits.hit(f"api:{command.name.lower()}", ip, self.engine.settings.public_rate_limit)
            uow.commit()

    def _refusal(self, decision) -> Outcome:
        limit = self.engine.settings.public_rate_limit
        return Outcome({"Success": False, "ErrorCode": RATE_LIMITED,
                        "ErrorText": f"Rate limit exceeded: at most {limit.requests} requests in {limit.seconds} "
                                     f"seconds from one address; retry after {decision.retry_after} seconds"},
                       headers={"Retry-After": str(decision.retry_after)})

    @staticmethod
    def _owner_call(uow, command: Command, actor, values: dict | None) -> bool:
        """Whether `actor` owns every list this call names (administrators own all). Parameters that did not
        load (`values` None), and a missing list, answer False like another account's list: counted, no oracle."""
        if actor is None or command.rate_limit_owner_lists is None:
            return False
        if actor.is_admin:
            return True
        if values is None:
            return False
        return uow.lists.owns_all(actor, command.rate_limit_owner_lists(values))

    def _authenticate(self, uow, command: Command, params: dict, ip: str):
        session_id, api_key = _credentials(params)
        if command.auth == PUBLIC:
            # Public commands ignore a blank, 0 or stale SessionID (protocol.md Part 1 §12).
            if not (session_id or api_key):
                return None
            try:
                return uow.auth.resolve(session_id=session_id, api_key=api_key, ip=ip)
            except AuthenticationFailed:
                return None
        actor = uow.auth.resolve(session_id=session_id, api_key=api_key, ip=ip)
        if command.auth == ADMIN and not actor.is_admin:
            raise PermissionDenied()
        if command.auth == USER and actor.is_admin:
            raise PermissionDenied()
        if command.auth in (USER, ANY) and command.required_permission and \
                not actor.can(command.required_permission):
            raise PermissionDenied()
        return actor

    def _load(self, command: Command, params: dict) -> dict:
        if command.params is None:
            return {}
        return P.load(self._schema(command), params, list(command.errors))

    def _schema(self, command: Command):
        """The command's parameter schema, one instance per thread and command: building one deep-copies
        every declared field (a third of a simple command's parameter handling), and loading keeps no state
        in the instance, but an instance is not meant to be shared between threads."""
        schemas = getattr(self._schemas, "by_command", None)
        if schemas is None:
            schemas = self._schemas.by_command = {}
        schema = schemas.get(command.name)
        if schema is None:
            schema = schemas[command.name] = command.params()
        return schema


class _Progress:
    """How far a call got: once its command runs, a failure is no longer safe to run again."""
    command_started = False


def _credentials(params: dict) -> tuple[str | None, str | None]:
    return (_credential(params.get("sessionid")),
            _credential(params.get("apikey")) or _credential(params.get("adminapikey")))


def _credential(value) -> str | None:
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        text = str(value).strip()
        if text and text != "0":
            return text
    return None
