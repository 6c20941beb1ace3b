"""End-to-end helpers: a recording SMTP handler for the loopback server and campaigns built through the engine."""
from __future__ import annotations

import asyncio
import dataclasses
import socket
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller

from engine.accounts.auth import Actor
from engine.campaigns.service import RecipientRef
from engine.models import Subscriber, SubscriberList


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Recorder:
    """The SMTP server's own record: (mail_from, rcpt_tos, data) per accepted message."""

    messages: list = field(default_factory=list)
    reject: dict = field(default_factory=dict)        # address -> "550 …" on every RCPT
    defer_once: dict = field(default_factory=dict)    # address -> "451 …" on the first RCPT only
    delay: float = 0.0                                 # seconds before answering DATA
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.reject:
            return self.reject[address]
        if address in self.defer_once:
            return self.defer_once.pop(address)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 Message accepted for delivery"

    def recipients(self) -> list[str]:
        with self.lock:
            return [rcpt for _, rcpts, _ in self.messages for rcpt in rcpts]


@dataclass
class Owner:
    id: int
    actor: Actor


def make_owner(engine, name: str = "sender") -> Owner:
    with engine.uow() as uow:
        user = uow.accounts.create_user(username=name, password="pass-word-1", email=f"{name}@example.com")
        uow.commit()
        return Owner(user.id, Actor("user", user.id, "*"))


def make_list(engine, owner: Owner, emails, name: str, **columns_by_email) -> int:
    """A list of Subscribed addresses; `columns_by_email` maps an address to extra columns."""
    with engine.uow() as uow:
        row = SubscriberList(owner_user_id=owner.id, name=name, created_at=uow.clock())
        uow.session.add(row)
        uow.session.flush()
        uow.session.add_all(Subscriber(list_id=row.id, email_address=e, email_normalized=e.lower(),
                                       subscription_date=uow.clock(), **columns_by_email.get(e, {}))
                            for e in emails)
        uow.commit()
        return row.id


def make_campaign(engine, owner: Owner, lists: list[int]) -> int:
    """An Immediate campaign with real content, armed (Ready) the way a client arms it."""
    with engine.uow() as uow:
        email = uow.emails.create(owner.actor, "November")
        email.subject = "News for %Subscriber:EmailAddress%"
        email.from_email = "news@sender.example"
        email.from_name = "Sendmill News"
        email.html_content = ('<html><body><p>Hello!</p><p><a href="https://example.com/offer">Offer</a></p>'
                              '<p><a href="%Link:Unsubscribe%">Unsubscribe</a></p></body></html>')
        campaign = uow.campaigns.create(owner.actor, "November news")
        uow.campaigns.update(owner.actor, campaign.id, {
            "email_id": email.id, "recipients": [RecipientRef(i) for i in lists], "status": "Ready",
            "schedule_type": "Immediate"})
        uow.commit()
        return campaign.id


@contextmanager
def loopback_relay(engine, **settings):
    """A recording SMTP server on 127.0.0.1, configured as the engine's only relay (with `settings` too)."""
    recorder = Recorder()
    # aiosmtpd gives a server 5 s to start by default: too short on a busy machine.
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port(), ready_timeout=60)
    controller.start()
    engine.settings = dataclasses.replace(engine.settings, smtp_url=f"smtp://127.0.0.1:{controller.port}", **settings)
    try:
        yield recorder
    finally:
        controller.stop()
