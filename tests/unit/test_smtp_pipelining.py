"""RFC 2920 ahead of the go-ahead (engine/delivery/smtp_transaction.announce): on a relay that offers
PIPELINING a held message's envelope is written while the runner commits its hand-over mark, and only the
go-ahead lets its payload out; against real aiosmtpd servers on 127.0.0.1."""
import threading

import pytest

from engine.delivery.smtp_transaction import PERMANENT, SENT, announce
from tests.unit.test_transport import (  # noqa: F401 - smtp_server is a fixture
    PipeliningHandler, envelopes, make_pool, smtp_server, url_of,
)

pytestmark = pytest.mark.timeout(60)


class CountingPipeliningHandler(PipeliningHandler):
    """Offers PIPELINING, refuses the `unknown` recipients, and lets a test wait for the RCPTs it got."""

    def __init__(self, unknown=()):
        super().__init__()
        self.unknown = set(unknown)
        self.rcpts = 0
        self._seen = threading.Condition()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = "550 5.1.1 no such user" if address in self.unknown else \
            await super().handle_RCPT(server, session, envelope, address, rcpt_options)
        with self._seen:
            self.rcpts += 1
            self._seen.notify_all()
        return reply

    def wait_for_rcpts(self, count: int) -> bool:
        with self._seen:
            return self._seen.wait_for(lambda: self.rcpts >= count, 30)


def test_the_envelope_goes_ahead_the_message_only_after_the_go_ahead_and_a_withdrawal_sends_nothing(smtp_server):
    server = smtp_server(CountingPipeliningHandler())
    with make_pool(url_of(server, query="max_connections=2&timeout=5")) as pool:
        drive = pool.start_many(envelopes(2))
        assert drive.holding() == [0, 1]
        assert server.handler.wait_for_rcpts(2)          # both envelopes reached the relay while held
        assert server.handler.messages == []             # and no message
        drive.proceed([0], withdraw=[1])
        results = drive.wait()
        assert [r.status if r else None for r in results] == [SENT, None]
        # The withdrawn message's relay was waiting for its payload: the connection was closed instead.
        assert server.handler.wait_for_hangups(1)
        assert pool.status()[0]["open"] == 1
        again = pool.send_many(envelopes(2, "s"))
    assert [r.status for r in again] == [SENT, SENT]
    assert sorted(m.rcpt_tos[0] for m in server.handler.messages) == ["r0@example.org", "s0@example.org",
                                                                      "s1@example.org"]


def test_a_refused_recipient_in_a_pipelined_round_is_recorded_as_its_own_and_the_connection_goes_on(smtp_server):
    server = smtp_server(CountingPipeliningHandler(unknown={"r2@example.org", "r5@example.org"}))
    with make_pool(url_of(server, query="max_connections=3&timeout=5")) as pool:
        first = pool.send_many(envelopes(8))
        # The refused transactions leave their connections owing an RSET: it goes ahead with the next envelope.
        second = pool.send_many(envelopes(8, "s"))
        assert pool.status()[0]["connections_opened"] == 3
    assert [r.status for r in first] == [SENT, SENT, PERMANENT, SENT, SENT, PERMANENT, SENT, SENT]
    assert first[2].code == first[5].code == 550 and "no such user" in first[2].text
    assert {r.status for r in second} == {SENT}
    assert server.handler.rsets >= 1
    delivered = [m.rcpt_tos[0] for m in server.handler.messages]
    assert sorted(delivered) == sorted([f"r{i}@example.org" for i in (0, 1, 3, 4, 6, 7)]
                                       + [f"s{i}@example.org" for i in range(8)])
    assert len(server.handler.peers) == 3


def test_a_relay_without_pipelining_gets_nothing_ahead_and_still_gets_every_message(smtp_server):
    server = smtp_server()                              # the plain handler: no PIPELINING offered
    with make_pool(url_of(server, query="max_connections=2&timeout=5")) as pool:
        drive = pool.start_many(envelopes(4))
        held = drive.holding()
        drive.proceed(held)
        results = drive.wait()
    assert [r.status for r in results] == [SENT] * 4
    assert sorted(m.rcpt_tos[0] for m in server.handler.messages) == [f"r{i}@example.org" for i in range(4)]


class _Session:
    """What announce() looks at, with a wire that records what it is given."""

    def __init__(self, pipelining: bool, dirty: bool = False):
        self.pipelining, self.dirty, self.size, self.eight_bit, self.smtputf8 = pipelining, dirty, True, False, False
        self.announced_rset = False
        self.written = []
        self.wire = self

    def write(self, data: bytes) -> None:
        self.written.append(data)


def test_announce_writes_the_owed_rset_and_the_envelope_only_to_a_pipelining_relay():
    plain = _Session(pipelining=False)
    assert announce(plain, "b@example.com", "a@example.org", b"x\r\n.\r\n", False) is False
    assert plain.written == []
    dirty = _Session(pipelining=True, dirty=True)
    assert announce(dirty, "b@example.com", "a@example.org", b"x\r\n.\r\n", False) is True
    assert dirty.written == [b"RSET\r\nMAIL FROM:<b@example.com> SIZE=6\r\nRCPT TO:<a@example.org>\r\nDATA\r\n"]
    assert (dirty.dirty, dirty.announced_rset) == (False, True)
    eight_bit = _Session(pipelining=True)               # a relay without 8BITMIME: mail_transaction says why
    assert announce(eight_bit, "b@example.com", "a@example.org", b"\xe9\r\n.\r\n", True) is False
    assert eight_bit.written == []
