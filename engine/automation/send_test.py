"""AutoResponder.SendTest: the autoresponder's email, rendered by the test-send pipeline
(engine/campaigns/test_sends.py: `[Test] ` subject, no tracking, the account's test-send limit, the
suppression check, the relays), mailed to up to five addresses at once.

Each recipient is tried on its own (a savepoint each): one refused address does not undo the others,
and a refused message is not counted against the test-send limit. Personalisation comes from the
given subscriber of the autoresponder's list, else from the list's first subscriber (lowest ID; the
legacy picked one at random), else from the recipient's address alone. Besides the per-message limit,
the call itself is limited per account as documented: 10 calls per 300 seconds.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from engine.accounts.auth import Actor
from engine.automation.errors import AllRecipientsFailed, SendTestRateLimited
from engine.errors import DomainError, SubscriberNotFound
from engine.models import Subscriber
from engine.accounts.ratelimits import RateLimit

MAX_RECIPIENTS = 5
CALL_BUCKET = "autoresponder-sendtest"
CALL_LIMIT = RateLimit(10, 300)


class NoAutoResponderEmail(DomainError):
    """Auto responder is not linked to an email."""


@dataclass
class SendTestResult:
    attempted: int
    accepted: int
    failures: list[tuple[str, str]] = field(default_factory=list)   # (recipient, reason)


class AutoResponderTestSender:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    def send(self, actor: Actor, responder_id: int, recipients: list[str],
             subscriber_id: int | None = None) -> SendTestResult:
        """Mail a test copy to each recipient (addresses already checked by the caller)."""
        responder = self.uow.autoresponders.get(actor, responder_id)
        if responder.email_id is None:
            raise NoAutoResponderEmail()
        if subscriber_id is not None:
            found = self.s.scalar(select(Subscriber.id).where(Subscriber.id == subscriber_id,
                                                              Subscriber.list_id == responder.list_id))
            if found is None:
                raise SubscriberNotFound(f"subscriber {subscriber_id} is not on the autoresponder's list")
        else:
            subscriber_id = self.s.scalar(select(Subscriber.id).where(Subscriber.list_id == responder.list_id)
                                          .order_by(Subscriber.id).limit(1))
        self._count_call(actor)
        result = SendTestResult(attempted=len(recipients), accepted=0)
        for recipient in recipients:
            try:
                with self.s.begin_nested():
                    self.uow.test_sends.send_email_preview(actor, responder.email_id, recipient,
                                                           list_id=responder.list_id, subscriber_id=subscriber_id)
                result.accepted += 1
            except DomainError as exc:
                result.failures.append((recipient, exc.message))
        if result.accepted == 0:
            raise AllRecipientsFailed({
                "RecipientsAttempted": result.attempted, "RecipientsAccepted": 0,
                "RecipientFailures": [{"Recipient": r, "Error": e} for r, e in result.failures]})
        return result

    def _count_call(self, actor: Actor) -> None:
        # Not under "api:": the public commands' purge clears that prefix with their 60 s window, which
        # would call this 300 s window over after a minute.
        decision = self.uow.rate_limits.hit(CALL_BUCKET, f"user:{actor.id}", CALL_LIMIT)
        if decision.opened_window:
            self.uow.rate_limits.purge_before(CALL_LIMIT, bucket_prefix=CALL_BUCKET)
        if not decision.allowed:
            raise SendTestRateLimited(decision.retry_after, CALL_LIMIT.requests, CALL_LIMIT.seconds)
