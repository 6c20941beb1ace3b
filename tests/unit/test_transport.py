"""The SMTP transport against real SMTP servers (aiosmtpd) on 127.0.0.1: bytes, envelopes, reuse,
reply classes, throttling, failover, dropped connections, TLS and threads."""
import asyncio
import shutil
import smtplib
import socket
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from engine.delivery.ratelimit import RateLimiter
from engine.delivery.relays import RelayConfigError, parse_relays
from engine.delivery.smtp_transaction import (
    PERMANENT, SENT, TEMPORARY, Envelope, classify, data_payload, is_throttling,
)
from engine.delivery.transport import SmtpPool
from tests.unit.test_ratelimit import FakeClock

pytestmark = pytest.mark.timeout(60)

MESSAGE = (b"From: News <news@example.com>\r\nTo: alice@example.org\r\nSubject: Hello\r\n"
           b"Message-ID: <1@example.com>\r\n\r\nHello Alice,\r\n.a line that starts with a dot\r\n.\r\n"
           b"..two dots\r\n\r\nBye\r\n")


@dataclass
class Received:
    peer: tuple
    mail_from: str
    rcpt_tos: list
    mail_options: list
    content: bytes


class Handler:
    """Records what arrives; `mail`, `rcpt` and `data` script the replies (a string, or DROP)."""

    DROP = "drop"

    def __init__(self):
        self.messages: list[Received] = []
        self.peers: set = set()        # one per TCP connection that said EHLO/HELO
        self.rsets = 0
        self.mail: list[str] = []      # replies to the next MAIL commands, consumed in order
        self.rcpt: list[str] = []
        self.data: list[str] = []
        self.close_after_data = False
        self.hung_up: set = set()      # peers (of those that said EHLO) whose connection is gone
        self._hangups = threading.Condition()

    def record_hangup(self, peer) -> None:
        with self._hangups:
            self.hung_up.add(peer)
            self._hangups.notify_all()

    def wait_for_hangups(self, count: int, timeout: float = 30) -> bool:
        """Block until `count` EHLO'd connections have ended (the server's socket is closed): an
        event, instead of sleeping for as long as the hang-up should take."""
        with self._hangups:
            return self._hangups.wait_for(lambda: len(self.hung_up) >= count, timeout)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname           # aiosmtpd leaves this to an EHLO hook
        self.peers.add(session.peer)
        return responses

    async def handle_RSET(self, server, session, envelope):
        self.rsets += 1
        return "250 OK"

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        reply = self._scripted(self.mail, server)
        if reply is None:
            envelope.mail_from = address
            envelope.mail_options.extend(mail_options)
        return reply or "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self._scripted(self.rcpt, server)
        if reply is None:
            envelope.rcpt_tos.append(address)
        return reply or "250 OK"

    async def handle_DATA(self, server, session, envelope):
        received = Received(session.peer, envelope.mail_from, list(envelope.rcpt_tos),
                            list(envelope.mail_options), envelope.content)
        reply = self.data.pop(0) if self.data else "250 2.0.0 queued"
        if reply == self.DROP:             # the message arrived, but the reply never leaves
            self.messages.append(received)
            server.transport.abort()
            return "250 lost"
        if reply.startswith("2"):
            self.messages.append(received)
        if self.close_after_data:
            asyncio.get_running_loop().call_soon(server.transport.close)
        return reply

    def _scripted(self, replies, server):
        if not replies:
            return None
        reply = replies.pop(0)
        if reply == self.DROP:
            server.transport.abort()
            return "421 gone"                # never reaches the client: the transport is aborted
        return reply


class HangupReportingSMTP(SMTP):
    """aiosmtpd's SMTP, telling the handler when a client's connection has ended."""

    def connection_lost(self, error):
        peer, said_ehlo = self.session.peer, bool(self.session.host_name)
        super().connection_lost(error)
        if said_ehlo and hasattr(self.event_handler, "record_hangup"):
            # asyncio closes the socket right after this callback: report once it has.
            self.loop.call_soon(self.event_handler.record_hangup, peer)


class HangupReportingController(Controller):
    def factory(self):
        return HangupReportingSMTP(self.handler, **self.SMTP_kwargs)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server():
    """start(**SMTP options) → a running aiosmtpd Controller on 127.0.0.1 with `.handler` and `.port`."""
    started = []

    def start(handler=None, port=None, **options):
        handler = handler or Handler()
        controller = HangupReportingController(handler, hostname="127.0.0.1", port=port or free_port(),
                                               server_hostname="relay.test", ready_timeout=60, **options)
        controller.start()
        started.append(controller)
        return controller

    yield start
    for controller in started:
        controller.stop()


def make_pool(url, clock=None, **kwargs):
    clock = clock or FakeClock()
    return SmtpPool(parse_relays(url), helo="client.test", clock=clock, sleep=clock.sleep, **kwargs)


def url_of(server, scheme="smtp", query="timeout=5"):
    return f"{scheme}://127.0.0.1:{server.port}?{query}"


def msg(n: int) -> bytes:
    return MESSAGE.replace(b"<1@", f"<{n}@".encode())


# -- configuration --------------------------------------------------------------------------

def test_parse_relays_reads_several_urls_with_options_and_defaults():
    relays = parse_relays(" smtp://127.0.0.1:2525?max_connections=2&rate=600/m,\n"
                          "smtps://mailer%40example.com:p%40ss%3Aw0rd@relay.example.com "
                          "smtp://backup.example.com?starttls=1&verify=0&timeout=2.5 smtp://[::1]")
    first, second, third, fourth = relays
    assert (first.host, first.port, first.max_connections, first.rate) == ("127.0.0.1", 2525, 2, 10.0)
    assert (second.port, second.implicit_tls, second.username, second.password) == \
        (465, True, "mailer@example.com", "p@ss:w0rd")
    assert (third.port, third.starttls, third.verify, third.timeout) == (25, True, False, 2.5)
    assert (fourth.host, fourth.port, fourth.name) == ("::1", 25, "smtp://[::1]:25")
    assert second.name == "smtps://mailer@example.com@relay.example.com:465"
    assert "p@ss" not in repr(second) and "p@ss" not in second.name


@pytest.mark.parametrize("text, problem", [
    ("", "is empty"),
    (" , ", "is empty"),
    ("http://relay.example.com", "smtp:// or smtps://"),
    ("relay.example.com:25", "smtp:// or smtps://"),
    ("smtp://", "host is missing"),
    ("smtp://relay.example.com:99999", "bad port"),
    ("smtp://relay.example.com:0", "port 0"),
    ("smtp://relay.example.com:twentyfive", "bad port"),
    ("smtp://relay.example.com/mail", "no path"),
    ("smtp://user@relay.example.com?starttls=1", "both a user name and a password"),
    ("smtp://user:s3cret@relay.example.com", "clear text"),
    ("smtps://relay.example.com?starttls=1", "starttls=1 applies to smtp:// only"),
    ("smtp://relay.example.com?starttls=perhaps", "starttls='perhaps' must be 1 or 0"),
    ("smtp://relay.example.com?max_connections=0", "max_connections"),
    ("smtp://relay.example.com?max_connections=many", "max_connections"),
    ("smtp://relay.example.com?max_connections=101", "max_connections"),
    ("smtp://relay.example.com?rate=fast", "rate 'fast'"),
    ("smtp://relay.example.com?rate=10/w", "rate '10/w'"),
    ("smtp://relay.example.com?timeout=0", "timeout"),
    ("smtp://relay.example.com?timeout=soon", "timeout"),
    ("smtp://relay.example.com?pool=3", "unknown option 'pool'"),
    ("smtp://relay.example.com?rate=1&rate=2", "given twice"),
    ("smtp://a.example.com smtp://a.example.com:25", "twice"),
])
def test_parse_relays_explains_what_is_wrong(text, problem):
    with pytest.raises(RelayConfigError, match="SENDMILL_SMTP_URL") as error:
        parse_relays(text)
    assert problem in str(error.value)


def test_a_bad_relay_is_reported_by_position_without_its_password():
    with pytest.raises(RelayConfigError) as error:
        parse_relays("smtp://127.0.0.1 smtps://me:hunter2@relay.example.com?rate=lots")
    assert "relay 2" in str(error.value) and "hunter2" not in str(error.value)
    assert "me:***@relay.example.com" in str(error.value)


def test_credentials_in_clear_text_are_allowed_on_loopback_only():
    assert parse_relays("smtp://u:p@127.0.0.1:2525 smtp://u:p@localhost:2526")[0].username == "u"


# -- pure helpers ---------------------------------------------------------------------------

@pytest.mark.parametrize("code, status", [(250, SENT), (251, SENT), (421, TEMPORARY), (450, TEMPORARY),
                                          (452, TEMPORARY), (550, PERMANENT), (554, PERMANENT),
                                          (354, TEMPORARY)])
def test_reply_classes(code, status):
    assert classify(code) == status


@pytest.mark.parametrize("code, text, throttling", [
    (421, "4.4.2 closing connection", True),
    (451, "4.3.0 local error", True),
    (450, "4.7.1 Client host rejected: too many connections", True),
    (452, "4.5.3 Rate limit exceeded, slow down", True),
    (450, "4.2.1 mailbox busy, try again later", False),
    (452, "4.2.2 quota exceeded; separate mailbox moderated", False),
    (452, "4.2.2 mailbox full", False),
    (550, "5.7.1 too many recipients", False),       # permanent replies never slow the relay down
])
def test_throttling_replies(code, text, throttling):
    assert is_throttling(code, text) is throttling


def test_data_payload_dot_stuffs_and_normalises_line_ends():
    assert data_payload(b"a\r\n.b\r\n.\r\n") == b"a\r\n..b\r\n..\r\n.\r\n"
    assert data_payload(b".x\nbare lf\rbare cr") == b"..x\r\nbare lf\r\nbare cr\r\n.\r\n"
    assert data_payload(b"") == b"\r\n.\r\n"


# -- delivery -------------------------------------------------------------------------------

def test_message_arrives_byte_exact_with_the_right_envelope(smtp_server):
    server = smtp_server()
    with make_pool(url_of(server)) as pool:
        result = pool.send("bounce+12.34@bounces.example.com", "alice@example.org", MESSAGE)
    assert result.status == SENT and result.code == 250 and result.text == "2.0.0 queued"
    assert result.relay == f"smtp://127.0.0.1:{server.port}" and not result.maybe_sent
    [received] = server.handler.messages
    assert received.content == MESSAGE
    assert (received.mail_from, received.rcpt_tos) == ("bounce+12.34@bounces.example.com", ["alice@example.org"])
    assert f"SIZE={len(data_payload(MESSAGE))}" in received.mail_options


def test_null_sender_and_8bit_and_international_addresses(smtp_server):
    server = smtp_server()
    body = "Subject: Grüße\r\n\r\nÄpfel\r\n".encode("utf-8")
    with make_pool(url_of(server)) as pool:
        assert pool.send("", "alice@example.org", MESSAGE).status == SENT
        assert pool.send("news@example.com", "jürgen@exämple.de", body).status == SENT
    bounce, german = server.handler.messages
    assert bounce.mail_from == "<>"              # aiosmtpd's spelling of the null reverse-path
    assert german.content == body and german.rcpt_tos == ["jürgen@exämple.de"]
    assert "BODY=8BITMIME" in german.mail_options and "SMTPUTF8" in german.mail_options


@pytest.mark.parametrize("recipient", ["alice", "@example.org", "alice@", "a b@example.org",
                                       "alice@example.org>\r\nRCPT TO:<mallory@example.net",
                                       "x" * 250 + "@example.org"])
def test_an_impossible_address_is_permanent_and_never_reaches_the_relay(smtp_server, recipient):
    server = smtp_server()
    with make_pool(url_of(server)) as pool:
        result = pool.send("news@example.com", recipient, MESSAGE)
    assert (result.status, result.code, result.relay) == (PERMANENT, None, None)
    assert "invalid address" in result.text and not server.handler.peers


def test_one_connection_carries_many_messages(smtp_server):
    server = smtp_server()
    with make_pool(url_of(server)) as pool:
        results = [pool.send("news@example.com", f"user{i}@example.org", msg(i)) for i in range(10)]
        assert pool.status()[0]["open"] == 1 and pool.status()[0]["connections_opened"] == 1
    assert {r.status for r in results} == {SENT}
    assert len(server.handler.peers) == 1 and len({m.peer for m in server.handler.messages}) == 1
    assert server.handler.rsets == 0            # a completed DATA already ends the transaction
    assert [m.rcpt_tos[0] for m in server.handler.messages] == [f"user{i}@example.org" for i in range(10)]


def test_rset_after_a_half_done_transaction_and_before_reusing_an_idle_session(smtp_server):
    server = smtp_server()
    clock = FakeClock()
    with make_pool(url_of(server), clock, probe_idle=2.0) as pool:
        assert pool.send("news@example.com", "alice@example.org", msg(1)).status == SENT
        server.handler.rcpt = ["550 5.1.1 no such user"]
        assert pool.send("news@example.com", "nobody@example.org", msg(2)).status == PERMANENT
        assert server.handler.rsets == 0
        # Without RSET the server would still hold the MAIL FROM and answer "503 nested MAIL command".
        assert pool.send("news@example.com", "bob@example.org", msg(3)).status == SENT
        assert server.handler.rsets == 1
        clock.advance(1.9)
        assert pool.send("news@example.com", "carol@example.org", msg(4)).status == SENT
        assert server.handler.rsets == 1
        clock.advance(2.1)                       # idle long enough to deserve a liveness probe
        assert pool.send("news@example.com", "dave@example.org", msg(5)).status == SENT
        assert server.handler.rsets == 2
    assert len(server.handler.peers) == 1 and len(server.handler.messages) == 4


def test_close_quits_idle_connections(smtp_server):
    server = smtp_server()
    pool = make_pool(url_of(server))
    pool.send("news@example.com", "alice@example.org", MESSAGE)
    pool.close()
    assert pool.status()[0]["open"] == 0 and pool.status()[0]["idle"] == 0
    with pytest.raises(RuntimeError, match="closed"):
        pool.send("news@example.com", "alice@example.org", MESSAGE)


@pytest.mark.parametrize("stage", ["mail", "rcpt", "data"])
def test_a_5xx_reply_is_permanent_and_the_connection_stays_usable(smtp_server, stage):
    server = smtp_server()
    setattr(server.handler, stage, ["550 5.1.1 <alice@example.org>: user unknown"])
    with make_pool(url_of(server)) as pool:
        failed = pool.send("news@example.com", "alice@example.org", msg(1))
        delivered = pool.send("news@example.com", "bob@example.org", msg(2))
        rate = pool.relay_limiter.rate(failed.relay)
    assert (failed.status, failed.code, failed.text) == (PERMANENT, 550, "5.1.1 <alice@example.org>: user unknown")
    assert delivered.status == SENT and rate is None     # a bounce is no reason to slow down
    assert [m.rcpt_tos for m in server.handler.messages] == [["bob@example.org"]]
    assert len(server.handler.peers) == 1


def test_451_throttling_is_temporary_and_halves_the_relays_rate(smtp_server):
    server = smtp_server()
    server.handler.rcpt = ["451 4.7.1 Rate limit exceeded, try again later"]
    clock = FakeClock()
    with make_pool(url_of(server, query="rate=50/s&timeout=5"), clock) as pool:
        result = pool.send("news@example.com", "alice@example.org", msg(1))
        assert (result.status, result.code) == (TEMPORARY, 451)
        assert pool.relay_limiter.rate(result.relay) == 25
        clock.advance(15)
        assert pool.send("news@example.com", "bob@example.org", msg(2)).status == SENT
        assert pool.relay_limiter.rate(result.relay) == pytest.approx(25 + 50 / 60 * 15)   # additive increase
        assert len(server.handler.peers) == 1     # a 451 leaves the session open
        assert pool.snapshot()["relays"]["buckets"][result.relay]["rate"] == pytest.approx(37.5)


def test_421_is_temporary_closes_the_session_and_slows_an_unlimited_relay(smtp_server):
    server = smtp_server()
    clock = FakeClock()
    with make_pool(url_of(server), clock) as pool:
        for i in range(20):                       # 20 messages + the one refused within this second
            pool.send("news@example.com", f"user{i}@example.org", msg(i))
        server.handler.data = ["421 4.7.0 Too many messages, closing connection"]
        result = pool.send("news@example.com", "late@example.org", msg(99))
        assert (result.status, result.code) == (TEMPORARY, 421)
        assert pool.relay_limiter.rate(result.relay) == pytest.approx(10.5)   # half the observed 21/s
        assert pool.status()[0]["open"] == 0      # a 421 means the server hangs up: never reuse it
        assert pool.send("news@example.com", "late@example.org", msg(99)).status == SENT
    assert len(server.handler.peers) == 2


def test_the_pool_paces_a_relay_and_a_domain_without_really_sleeping(smtp_server, monkeypatch):
    server = smtp_server()
    clock = FakeClock()
    domains = RateLimiter(clock=clock, sleep=clock.sleep)
    domains.set_rate("slow.example", 1)
    real_sleeps: list[float] = []
    monkeypatch.setattr(time, "sleep", real_sleeps.append)   # a real wait is recorded instead of slept
    with make_pool(url_of(server, query="rate=10/s&timeout=5"), clock, domain_limiter=domains) as pool:
        for i in range(12):
            assert pool.send("news@example.com", f"user{i}@fast.example", msg(i)).status == SENT
        assert clock.slept == pytest.approx([0.1, 0.1])       # 10 from the bucket, then 10 per second
        clock.slept.clear()
        for i in range(3):
            pool.send("news@example.com", f"user{i}@slow.example", msg(i))
        # The relay's last 0.1 s of debt, then the domain's 1/s (the relay has refilled meanwhile).
        assert clock.slept == pytest.approx([0.1, 0.9, 1.0])
        assert real_sleeps == []          # every wait went through the injected clock
    assert len(server.handler.messages) == 15


def test_failover_to_the_next_relay_while_the_first_cools_down(smtp_server):
    closed_port = free_port()
    backup = smtp_server()
    clock = FakeClock()
    pool = make_pool(f"smtp://127.0.0.1:{closed_port}?timeout=5, {url_of(backup)}", clock, cooldown=30)
    with pool:
        first = pool.send("news@example.com", "alice@example.org", msg(1))
        assert first.status == SENT and first.relay == f"smtp://127.0.0.1:{backup.port}"
        primary = pool.status()[0]
        assert primary["down"] and "ConnectionRefused" in primary["down_reason"]

        primary_server = smtp_server(port=closed_port)        # the primary comes back...
        clock.advance(29)
        assert pool.send("news@example.com", "bob@example.org", msg(2)).relay.endswith(f":{backup.port}")
        clock.advance(2)                                        # ...and is used again after the cool-down
        assert pool.send("news@example.com", "carol@example.org", msg(3)).relay.endswith(f":{closed_port}")
    assert [m.rcpt_tos for m in backup.handler.messages] == [["alice@example.org"], ["bob@example.org"]]
    assert [m.rcpt_tos for m in primary_server.handler.messages] == [["carol@example.org"]]


def test_when_every_relay_is_down_the_result_is_temporary_and_says_why():
    ports = [free_port(), free_port()]
    with make_pool(" ".join(f"smtp://127.0.0.1:{p}?timeout=5" for p in ports)) as pool:
        result = pool.send("news@example.com", "alice@example.org", MESSAGE)
        again = pool.send("news@example.com", "alice@example.org", MESSAGE)
    assert (result.status, result.code, result.relay) == (TEMPORARY, None, None)
    assert "no SMTP relay available" in result.text and all(str(p) in result.text for p in ports)
    assert again.status == TEMPORARY


def test_a_relay_that_never_greets_times_out_and_fails_over(smtp_server, monkeypatch):
    backup = smtp_server()
    dialled = []

    class DialRecordingSMTP(smtplib.SMTP):
        def __init__(self, host, port, **kwargs):
            dialled.append((port, kwargs.get("timeout")))
            super().__init__(host, port, **kwargs)

    monkeypatch.setattr(smtplib, "SMTP", DialRecordingSMTP)
    with socket.socket() as silent:            # accepts TCP connections (backlog) but never speaks
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        silent_port = silent.getsockname()[1]
        with make_pool(f"smtp://127.0.0.1:{silent_port}?timeout=0.3 {url_of(backup)}") as pool:
            result = pool.send("news@example.com", "alice@example.org", MESSAGE)
            assert result.status == SENT and result.relay.endswith(f":{backup.port}")
            assert pool.status()[0]["down"] and "timed out" in pool.status()[0]["down_reason"]
    # The silent relay was waited on for its own 0.3 s, not the 60 s default (no stopwatch needed).
    assert dialled == [(silent_port, 0.3), (backup.port, 5.0)]


def test_a_non_220_greeting_marks_the_relay_down(smtp_server):
    backup = smtp_server()
    with socket.socket() as grumpy:                # answers every connection with 554 and hangs up
        grumpy.bind(("127.0.0.1", 0))
        grumpy.listen(8)

        def greet():
            conn, _ = grumpy.accept()
            with conn:
                conn.sendall(b"554 5.3.2 no service for you\r\n")
                conn.recv(100)

        thread = threading.Thread(target=greet, daemon=True)
        thread.start()
        with make_pool(f"smtp://127.0.0.1:{grumpy.getsockname()[1]}?timeout=5 {url_of(backup)}") as pool:
            result = pool.send("news@example.com", "alice@example.org", MESSAGE)
            assert result.status == SENT and result.relay.endswith(f":{backup.port}")
            assert pool.status()[0]["down_reason"].startswith("554 5.3.2")
        thread.join(5)


def test_a_connection_dropped_mid_session_is_replaced_and_the_message_sent_once(smtp_server):
    server = smtp_server()
    with make_pool(url_of(server)) as pool:
        pool.send("news@example.com", "alice@example.org", msg(1))
        server.handler.rcpt = [Handler.DROP]       # the relay vanishes when our RCPT TO arrives
        result = pool.send("news@example.com", "bob@example.org", msg(2))
    assert result.status == SENT and not result.maybe_sent
    assert [m.rcpt_tos for m in server.handler.messages] == [["alice@example.org"], ["bob@example.org"]]
    assert len(server.handler.peers) == 2


def test_a_session_the_server_closed_while_idle_fails_the_probe_and_is_replaced(smtp_server):
    server = smtp_server()
    server.handler.close_after_data = True
    clock = FakeClock()
    with make_pool(url_of(server), clock) as pool:
        for i in range(3):
            assert pool.send("news@example.com", f"user{i}@example.org", msg(i)).status == SENT
            assert server.handler.wait_for_hangups(i + 1)    # the server has really closed it
            clock.advance(5)
        assert pool.status()[0]["connections_opened"] == 3
    assert len(server.handler.messages) == 3 and len(server.handler.peers) == 3


def test_a_session_closed_right_after_its_last_message_costs_a_reconnect_not_a_message(smtp_server):
    server = smtp_server(timeout=0.2)           # aiosmtpd hangs up on clients idle for 0.2 s
    with make_pool(url_of(server)) as pool:     # the fake clock stands still: no probe, MAIL finds out
        assert pool.send("news@example.com", "alice@example.org", msg(1)).status == SENT
        assert server.handler.wait_for_hangups(1)           # the idle time-out has hung up on us
        result = pool.send("news@example.com", "bob@example.org", msg(2))
    assert result.status == SENT and not result.maybe_sent
    assert len(server.handler.messages) == 2 and len(server.handler.peers) == 2


def test_a_421_on_the_first_command_of_a_reused_session_is_a_stale_session(smtp_server):
    server = smtp_server()
    with make_pool(url_of(server)) as pool:
        pool.send("news@example.com", "alice@example.org", msg(1))
        server.handler.mail = ["421 4.4.2 relay.test Error: timeout exceeded"]
        result = pool.send("news@example.com", "bob@example.org", msg(2))
        assert result.status == SENT and pool.relay_limiter.rate(result.relay) is None
        server.handler.mail = ["421 4.7.0 slow down"] * 2   # a fresh session says it too: that is throttling
        result = pool.send("news@example.com", "carol@example.org", msg(3))
        assert (result.status, result.code) == (TEMPORARY, 421)
        assert pool.relay_limiter.rate(result.relay) is not None
    assert [m.rcpt_tos for m in server.handler.messages] == [["alice@example.org"], ["bob@example.org"]]


def test_a_connection_lost_after_the_message_was_transmitted_is_never_resent(smtp_server):
    server = smtp_server()
    server.handler.data = [Handler.DROP]
    with make_pool(url_of(server)) as pool:
        result = pool.send("news@example.com", "alice@example.org", MESSAGE)
        assert (result.status, result.code, result.maybe_sent) == (TEMPORARY, None, True)
        assert "may have been delivered" in result.text
        assert pool.status()[0]["open"] == 0 and not pool.status()[0]["down"]
        assert pool.send("news@example.com", "bob@example.org", msg(2)).status == SENT
    assert [m.rcpt_tos for m in server.handler.messages] == [["alice@example.org"], ["bob@example.org"]]


def test_a_relay_that_keeps_dropping_gives_up_after_one_retry(smtp_server):
    server = smtp_server()
    server.handler.mail = [Handler.DROP, Handler.DROP]
    with make_pool(url_of(server)) as pool:
        result = pool.send("news@example.com", "alice@example.org", MESSAGE)
    assert (result.status, result.code, result.maybe_sent) == (TEMPORARY, None, False)
    assert "connection lost during MAIL FROM" in result.text and not server.handler.messages


def test_four_threads_share_a_pool_and_deliver_each_message_exactly_once(smtp_server):
    server = smtp_server()
    results = []
    lock = threading.Lock()
    with SmtpPool(parse_relays(url_of(server, query="max_connections=2&timeout=10")), helo="client.test") as pool:
        def worker(w):
            for i in range(50):
                result = pool.send("news@example.com", f"w{w}-{i}@example.org", msg(w * 1000 + i))
                with lock:
                    results.append(result)

        threads = [threading.Thread(target=worker, args=(w,)) for w in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        status = pool.status()[0]
    assert len(results) == 200 and {r.status for r in results} == {SENT}
    recipients = [m.rcpt_tos[0] for m in server.handler.messages]
    assert len(recipients) == 200 and len(set(recipients)) == 200
    assert {m.content for m in server.handler.messages} == {msg(w * 1000 + i) for w in range(4) for i in range(50)}
    assert status["connections_opened"] <= 2 and len(server.handler.peers) <= 2


def test_state_persists_across_pools(smtp_server):
    server = smtp_server()
    server.handler.data = ["421 4.3.2 slow down"]
    with make_pool(url_of(server, query="rate=20/s&timeout=5")) as pool:
        name = pool.send("news@example.com", "alice@example.org", MESSAGE).relay
        saved = pool.snapshot()
    with make_pool(url_of(server, query="rate=20/s&timeout=5")) as restarted:
        restarted.restore(saved)
        assert restarted.relay_limiter.rate(name) == 10
        restarted.restore({"nonsense": True})
        assert restarted.relay_limiter.rate(name) == 10


# -- TLS and authentication -----------------------------------------------------------------

@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    if not shutil.which("openssl"):
        pytest.skip("openssl is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "1", "-subj", "/CN=relay.test", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem")],
                   check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return context


def accept(user, password):
    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == \
            (user.encode(), password.encode())
        return AuthResult(success=ok, handled=False)      # handled=False: aiosmtpd sends the 535
    return authenticator


def test_smtps_implicit_tls(smtp_server, certificate):
    server = smtp_server(ssl_context=certificate)
    with make_pool(url_of(server, "smtps", "verify=0&timeout=5")) as pool:
        result = pool.send("news@example.com", "alice@example.org", MESSAGE)
    assert result.status == SENT and server.handler.messages[0].content == MESSAGE


def test_starttls_with_login(smtp_server, certificate):
    server = smtp_server(tls_context=certificate, require_starttls=True, auth_required=True,
                         authenticator=accept("mailer", "s3cr:et"))
    url = f"smtp://mailer:s3cr%3Aet@127.0.0.1:{server.port}?starttls=1&verify=0&timeout=5"
    with make_pool(url) as pool:
        results = [pool.send("news@example.com", f"user{i}@example.org", msg(i)) for i in range(3)]
    assert {r.status for r in results} == {SENT} and len(server.handler.messages) == 3


def test_a_wrong_password_takes_the_relay_out_instead_of_bouncing_mail(smtp_server, certificate):
    server = smtp_server(tls_context=certificate, require_starttls=True, auth_required=True,
                         authenticator=accept("mailer", "right"))
    with make_pool(f"smtp://mailer:wrong@127.0.0.1:{server.port}?starttls=1&verify=0&timeout=5") as pool:
        result = pool.send("news@example.com", "alice@example.org", MESSAGE)
        assert result.status == TEMPORARY and pool.status()[0]["down_reason"].startswith("535")
    assert not server.handler.messages


def test_an_unverifiable_certificate_is_refused_by_default(smtp_server, certificate):
    server = smtp_server(ssl_context=certificate)
    with make_pool(url_of(server, "smtps")) as pool:
        result = pool.send("news@example.com", "alice@example.org", MESSAGE)
        assert result.status == TEMPORARY and "CERTIFICATE_VERIFY_FAILED" in pool.status()[0]["down_reason"]
    assert not server.handler.messages


def test_starttls_is_never_downgraded_to_clear_text(smtp_server):
    server = smtp_server()                       # offers no STARTTLS
    with make_pool(url_of(server, query="starttls=1&timeout=5")) as pool:
        result = pool.send("news@example.com", "alice@example.org", MESSAGE)
        assert result.status == TEMPORARY and "STARTTLS" in pool.status()[0]["down_reason"]
    assert not server.handler.messages


class PipeliningHandler(Handler):
    """Advertises PIPELINING (RFC 2920); aiosmtpd reads pipelined commands line by line."""

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        responses = await super().handle_EHLO(server, session, envelope, hostname, responses)
        return responses[:-1] + ["250-PIPELINING", responses[-1]]


def test_a_pipelining_relay_gets_mail_rcpt_and_data_together_and_replies_are_matched(smtp_server):
    server = smtp_server(PipeliningHandler())
    with make_pool(url_of(server)) as pool:
        first = pool.send("bounce@example.com", "a@example.org", MESSAGE)
        server.handler.rcpt = ["550 5.1.1 no such user"]
        refused = pool.send("bounce@example.com", "b@example.org", MESSAGE)
        third = pool.send("bounce@example.com", "c@example.org", MESSAGE)
    assert (first.status, refused.status, third.status) == ("sent", "permanent", "sent")
    assert refused.code == 550 and "no such user" in refused.text
    assert [m.rcpt_tos for m in server.handler.messages] == [["a@example.org"], ["c@example.org"]]
    assert len(server.handler.peers) == 1          # the refusal did not cost the connection


def test_a_pipelining_relay_refusing_mail_from_is_answered_with_that_reply(smtp_server):
    server = smtp_server(PipeliningHandler())
    server.handler.mail = ["452 4.3.1 insufficient system storage"]
    with make_pool(url_of(server)) as pool:
        deferred = pool.send("bounce@example.com", "a@example.org", MESSAGE)
        sent = pool.send("bounce@example.com", "a@example.org", MESSAGE)
    assert (deferred.status, deferred.code) == ("temporary", 452)
    assert sent.status == "sent" and len(server.handler.messages) == 1


# --- one thread, many connections (engine/delivery/smtp_wire.py) ----------------------------------------
class StallingHandler(Handler):
    """Takes the message, then keeps its reply back for `stall` seconds for the listed recipients."""

    def __init__(self, stall_for: set[str], stall: float):
        super().__init__()
        self.stall_for, self.stall = stall_for, stall
        self.replied_late = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        if envelope.rcpt_tos[0] in self.stall_for:
            self.messages.append(Received(session.peer, envelope.mail_from, list(envelope.rcpt_tos),
                                          list(envelope.mail_options), envelope.content))
            await asyncio.sleep(self.stall)
            self.replied_late.set()
            return "250 too late"
        return await super().handle_DATA(server, session, envelope)


class RejectingHandler(Handler):
    def __init__(self, unknown: set[str]):
        super().__init__()
        self.unknown = unknown

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.unknown:
            return "550 5.1.1 no such user"
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)


def envelopes(count: int, prefix: str = "r"):
    return [Envelope("news@example.com", f"{prefix}{i}@example.org", msg(i)) for i in range(count)]


def test_a_round_goes_out_on_parallel_connections_and_each_message_once(smtp_server):
    server = smtp_server()
    with make_pool(url_of(server, query="max_connections=8&timeout=5")) as pool:
        results = pool.send_many(envelopes(8))
        assert pool.status()[0]["connections_opened"] == 8
        again = pool.send_many(envelopes(8, "s"))
        assert pool.status()[0]["connections_opened"] == 8      # the second round reuses them all
    assert {r.status for r in results + again} == {SENT}
    assert sorted(m.rcpt_tos[0] for m in server.handler.messages) == sorted(
        [f"r{i}@example.org" for i in range(8)] + [f"s{i}@example.org" for i in range(8)])
    assert len(server.handler.peers) == 8


def test_a_round_larger_than_the_pool_waits_for_connections_and_keeps_the_order_of_results(smtp_server):
    server = smtp_server(handler=RejectingHandler({"r5@example.org"}))
    with make_pool(url_of(server, query="max_connections=3&timeout=5")) as pool:
        results = pool.send_many(envelopes(20))
        assert pool.status()[0]["connections_opened"] <= 3
    assert [r.status for r in results].count(PERMANENT) == 1 and [r.status for r in results].count(SENT) == 19
    delivered = [m.rcpt_tos[0] for m in server.handler.messages]
    assert len(delivered) == len(set(delivered)) == 19
    for envelope, result in zip(envelopes(20), results):    # each result belongs to its own envelope
        assert (envelope.recipient in delivered) == (result.status == SENT)


def test_a_reply_that_never_comes_after_the_message_is_maybe_sent_and_the_rest_of_the_round_is_not_held_up(
        smtp_server):
    server = smtp_server(handler=StallingHandler({"r2@example.org"}, stall=120))
    with make_pool(url_of(server, query="max_connections=4&timeout=0.5")) as pool:
        results = pool.send_many(envelopes(4))
        # The round ended on the 0.5 s time-out, while the reply was still held back.
        assert not server.handler.replied_late.is_set()
    assert [r.status for r in results] == [SENT, SENT, TEMPORARY, SENT]
    assert results[2].maybe_sent and "may have been delivered" in results[2].text   # never retried here
    assert sorted(m.rcpt_tos[0] for m in server.handler.messages) == [f"r{i}@example.org" for i in range(4)]


def test_a_message_larger_than_the_socket_buffer_arrives_byte_exact(smtp_server):
    server = smtp_server()
    big = MESSAGE + b"".join(b"line %07d " % i + b"x" * 60 + b"\r\n" for i in range(60_000))   # ~4.3 MB
    with make_pool(url_of(server, query="timeout=10")) as pool:
        results = pool.send_many([Envelope("news@example.com", "big@example.org", big),
                                  Envelope("news@example.com", "small@example.org", msg(2))])
    assert [r.status for r in results] == [SENT, SENT]
    contents = {m.rcpt_tos[0]: m.content for m in server.handler.messages}
    assert contents["big@example.org"] == big and contents["small@example.org"] == msg(2)


def test_wire_safe_messages_go_out_as_they_are():
    assert data_payload(b"A\r\nB\r\n", wire_safe=True) == b"A\r\nB\r\n.\r\n"
    assert data_payload(b"A\n.B\n", wire_safe=False) == b"A\r\n..B\r\n.\r\n"


class TrickleRelay:
    """A raw SMTP server that writes every reply one byte at a time and answers MAIL with two lines."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.received: list[bytes] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _say(self, conn, text: bytes) -> None:
        for byte in text:
            conn.sendall(bytes((byte,)))
            time.sleep(0.0005)

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        reader = conn.makefile("rb")
        self._say(conn, b"220 trickle ESMTP\r\n")
        while line := reader.readline():
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                self._say(conn, b"250-trickle\r\n250 PIPELINING\r\n")
            elif verb == b"MAIL":
                self._say(conn, b"250-2.1.0 sender\r\n250 2.1.0 ok\r\n")
            elif verb == b"RCPT":
                self._say(conn, b"250 2.1.5 ok\r\n")
            elif verb == b"DATA":
                self._say(conn, b"354 go ahead\r\n")
                body = b""
                while (chunk := reader.readline()) != b".\r\n":
                    body += chunk[1:] if chunk.startswith(b".") else chunk     # RFC 5321 §4.5.2
                self.received.append(body)
                self._say(conn, b"250 2.0.0 queued as 1\r\n")
            elif verb == b"QUIT":
                break                    # the client does not wait for 221
        conn.close()


def test_replies_that_arrive_a_byte_at_a_time_and_over_several_lines_are_read_whole():
    relay = TrickleRelay()
    with make_pool(f"smtp://127.0.0.1:{relay.port}?timeout=5") as pool:
        results = [pool.send("news@example.com", f"t{i}@example.org", msg(i)) for i in range(3)]
    relay.thread.join(5)
    assert [(r.status, r.code, r.text) for r in results] == [(SENT, 250, "2.0.0 queued as 1")] * 3
    assert relay.received == [msg(i) for i in range(3)]


@pytest.mark.parametrize("scheme, query", [("smtps", "verify=0"), ("smtp", "starttls=1&verify=0")])
def test_tls_rounds_on_parallel_connections_carry_large_and_small_messages_intact(smtp_server, certificate,
                                                                                   scheme, query):
    """Non-blocking TLS: partial record writes, records read whole, several sessions at once."""
    options = {"ssl_context": certificate} if scheme == "smtps" else {"tls_context": certificate,
                                                                       "require_starttls": True}
    server = smtp_server(**options)
    big = MESSAGE + b"".join(b"tls %07d " % i + b"y" * 60 + b"\r\n" for i in range(20_000))   # ~1.4 MB
    round_ = [Envelope("news@example.com", "big@example.org", big)] + envelopes(5)
    with make_pool(url_of(server, scheme, f"{query}&max_connections=6&timeout=10")) as pool:
        first = pool.send_many(round_)
        second = pool.send_many(envelopes(6, "again"))
        opened = pool.status()[0]["connections_opened"]
    assert {r.status for r in first + second} == {SENT} and opened == 6
    contents = {m.rcpt_tos[0]: m.content for m in server.handler.messages}
    assert len(server.handler.messages) == 12 and contents["big@example.org"] == big
    assert all(contents[f"r{i}@example.org"] == msg(i) for i in range(5))


# -- hand-over on a connection -------------------------------------------------------------------
def test_a_message_holds_its_connection_and_writes_nothing_until_let_go(smtp_server):
    """The runner commits a message's hand-over mark between `holding()` and `proceed()`: only messages
    on a connection are held there; those parked for one are asked about when they get it."""
    server = smtp_server()
    with make_pool(url_of(server, query="max_connections=2&timeout=5")) as pool:
        drive = pool.start_many(envelopes(6))
        assert drive.holding() == [0, 1]                  # two connections: two messages hold one each
        assert server.handler.messages == [] and pool.status()[0]["open"] == 2
        drive.proceed([0], withdraw=[1])                  # 1 is withdrawn: it ends without sending
        asked = []

        def on_hold(indexes):
            asked.append(indexes)
            return [i for i in indexes if i != 4]          # 4 is withdrawn when it gets its connection
        results = drive.wait(on_hold)
        assert pool.status()[0]["connections_opened"] <= 2
    assert sorted(i for batch in asked for i in batch) == [2, 3, 4, 5]
    assert all(len(batch) <= 2 for batch in asked)
    assert [r.status if r else None for r in results] == [SENT, None, SENT, SENT, None, SENT]
    assert sorted(m.rcpt_tos[0] for m in server.handler.messages) == ["r0@example.org", "r2@example.org",
                                                                      "r3@example.org", "r5@example.org"]


def test_by_default_a_relay_has_a_connection_for_every_message_a_worker_keeps_in_flight():
    from engine.config import Settings

    relay = parse_relays("smtp://relay.example.com")[0]
    assert relay.max_connections >= Settings(database_url="sqlite://", secret_key="k").send_concurrency
