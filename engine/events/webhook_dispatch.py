"""Webhook delivery: fan committed outbox events out to matching endpoints, then POST the due deliveries
(the two idempotent steps of engine/events/webhooks.py's map), from any number of processes at once.
Rows are claimed with a lease that outlasts POSTing the whole batch; a row whose lease might run out
before its POST ends is handed back unsent."""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.exc import DBAPIError

from engine.events.webhook_http import post
from engine.events.webhooks import FANOUT_BATCH, allow_private, event_type, signed_body


@dataclass
class DispatchSummary:
    queued: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0

    @property
    def busy(self) -> bool:
        return bool(self.queued or self.delivered or self.retrying or self.failed)

    def line(self) -> str:
        return (f"webhooks: {self.queued} queued, {self.delivered} delivered, {self.retrying} to retry, "
                f"{self.failed} failed")


def dispatch(engine, *, batch: int = 10, timeout: float = 10.0, budget: float = 30.0, send=post) -> DispatchSummary:
    """One pass: fan out, then POST due deliveries until none is due or `budget` seconds are spent."""
    summary = DispatchSummary()
    private_ok = allow_private(engine.settings)
    # The lease outlasts POSTing the whole batch, so no other dispatcher takes a row we still hold;
    # a row whose lease might run out before its POST ends is handed back instead of sent.
    lease = timedelta(seconds=batch * (timeout + 1) + 30)
    summary.queued = _fan_out(engine)
    started = time.monotonic()
    while time.monotonic() - started < budget:
        with engine.uow() as uow:
            claimed = uow.webhooks.claim(batch, lease)
            jobs = [(d.id, d.claim, d.attempts, p.url, signed_body(e, p.secret), e.event_id, event_type(e))
                    for d, e, p in claimed]
            uow.commit()
        claimed_at = time.monotonic()
        if not jobs:
            break
        for index, (delivery_id, claim, attempts, url, body, event_id, kind) in enumerate(jobs):
            now = time.monotonic()
            if now - started >= budget or now - claimed_at + timeout + 5 >= lease.total_seconds():
                _release(engine, [(job[0], job[1]) for job in jobs[index:]])
                return summary
            headers = {"Content-Type": "text/plain", "User-Agent": "Sendmill-Webhooks",
                       "X-Sendmill-Event-Id": event_id, "X-Sendmill-Event-Type": kind,
                       "X-Sendmill-Delivery-Attempt": str(attempts)}
            status, error = send(url, body, headers, timeout, private_ok)
            with engine.uow() as uow:
                state = uow.webhooks.settle(delivery_id, claim, attempts, status, error)
                uow.commit()
            if state == "delivered":
                summary.delivered += 1
            elif state == "pending":
                summary.retrying += 1
            elif state == "failed":
                summary.failed += 1
    return summary


def _release(engine, claims: list[tuple[int, str]]) -> None:
    """Hand back claims we will not POST now (budget or lease spent), without counting an attempt."""
    with engine.uow() as uow:
        for delivery_id, claim in claims:
            uow.webhooks.release(delivery_id, claim)
        uow.commit()


def _fan_out(engine, tries: int = 5) -> int:
    # Two fan-outs racing may insert the same pair: the loser's INSERT fails on the UNIQUE key (or
    # MariaDB reports a deadlock); a fresh transaction then sees the winner's rows and skips them.
    total, failures = 0, 0
    while True:
        try:
            with engine.uow() as uow:
                queued = uow.webhooks.fan_out()
                uow.commit()
        except DBAPIError:
            failures += 1
            if failures >= tries:
                raise
            continue
        total += queued
        if queued < FANOUT_BATCH:
            return total
